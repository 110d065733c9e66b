# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""CPU contexts (the CONTEXT structure) of x86, x64 and ARM64 threads."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from . import format as fmt
from .errors import MinidumpError

# x64 integer registers in CONTEXT order (Rax at 0x78), numbered as the
# unwind codes number them.
AMD64_GPRS = ("rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
              "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15")
_AMD64_GPRS_AT = struct.Struct("<16Q")
_AMD64_GPRS_OFFSET = 0x78
_AMD64_RIP_OFFSET = 0xF8
_AMD64_EFLAGS_OFFSET = 0x44
_AMD64_SEGS = struct.Struct("<6H")  # SegCs, SegDs, SegEs, SegFs, SegGs, SegSs at 0x38
_AMD64_SEGS_OFFSET = 0x38

# x86: Edi, Esi, Ebx, Edx, Ecx, Eax, Ebp, Eip, SegCs, EFlags, Esp, SegSs at 0x9C.
_X86_REGS = struct.Struct("<12I")
_X86_REGS_OFFSET = 0x9C

# ARM64: Cpsr at 4, X0..X28 at 8, then Fp, Lr, Sp, Pc.
_ARM64_CPSR_OFFSET = 4
_ARM64_REGS = struct.Struct("<33Q")
_ARM64_REGS_OFFSET = 8


@dataclass
class CpuContext:
    """Registers by name, in the order a debugger shows them; ``arch`` is x86, x64 or arm64."""

    arch: str
    registers: dict

    @property
    def pc(self):
        return self.registers[{"x64": "rip", "x86": "eip", "arm64": "pc"}[self.arch]]

    @property
    def sp(self):
        return self.registers[{"x64": "rsp", "x86": "esp", "arm64": "sp"}[self.arch]]


def _amd64(raw):
    regs = dict(zip(AMD64_GPRS, _AMD64_GPRS_AT.unpack_from(raw, _AMD64_GPRS_OFFSET)))
    regs["rip"] = struct.unpack_from("<Q", raw, _AMD64_RIP_OFFSET)[0]
    regs["eflags"] = struct.unpack_from("<I", raw, _AMD64_EFLAGS_OFFSET)[0]
    regs.update(zip(("cs", "ds", "es", "fs", "gs", "ss"), _AMD64_SEGS.unpack_from(raw, _AMD64_SEGS_OFFSET)))
    return CpuContext("x64", regs)


def _x86(raw):
    edi, esi, ebx, edx, ecx, eax, ebp, eip, cs, eflags, esp, ss = _X86_REGS.unpack_from(raw, _X86_REGS_OFFSET)
    return CpuContext("x86", {"eax": eax, "ebx": ebx, "ecx": ecx, "edx": edx, "esi": esi, "edi": edi,
                              "ebp": ebp, "esp": esp, "eip": eip, "eflags": eflags, "cs": cs, "ss": ss})


def _arm64(raw):
    values = _ARM64_REGS.unpack_from(raw, _ARM64_REGS_OFFSET)
    regs = {"x%d" % i: values[i] for i in range(29)}
    regs.update(fp=values[29], lr=values[30], sp=values[31], pc=values[32])
    regs["cpsr"] = struct.unpack_from("<I", raw, _ARM64_CPSR_OFFSET)[0]
    return CpuContext("arm64", regs)


_BY_ARCH = {fmt.ARCH_AMD64: (_amd64, fmt.CONTEXT_AMD64_SIZE), fmt.ARCH_X86: (_x86, fmt.CONTEXT_X86_BASE_SIZE),
            fmt.ARCH_ARM64: (_arm64, fmt.CONTEXT_ARM64_SIZE)}
_BY_SIZE = {fmt.CONTEXT_AMD64_SIZE: fmt.ARCH_AMD64, fmt.CONTEXT_X86_SIZE: fmt.ARCH_X86,
            fmt.CONTEXT_X86_BASE_SIZE: fmt.ARCH_X86, fmt.CONTEXT_ARM64_SIZE: fmt.ARCH_ARM64}


def parse_context(raw, architecture):
    """The CpuContext in ``raw`` bytes.

    The record's size decides its layout when it is one of the known sizes
    (a 32-bit process dumped on 64-bit Windows has x86 contexts under an x64
    SystemInfo); otherwise ``architecture`` (SystemInfo's) does.
    """
    arch = _BY_SIZE.get(len(raw), architecture)
    if arch not in _BY_ARCH:
        raise MinidumpError("CPU context of %d bytes for processor architecture %d: not supported"
                            % (len(raw), architecture))
    parse, size = _BY_ARCH[arch]
    if len(raw) < size:
        raise MinidumpError("CPU context of %d bytes is too short for its architecture (%d bytes)"
                            % (len(raw), size))
    return parse(raw)


def read_context(dump, size, rva, architecture, what):
    """The context at a location descriptor, or None for an empty location."""
    raw = dump.location(size, rva, what)
    return None if raw is None else parse_context(raw, architecture)
