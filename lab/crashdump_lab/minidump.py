"""A minidump writer: real, structurally valid MDMP files for lab crashes.

Streams: ThreadList (one thread: the faulting one, with a full CONTEXT for
the host's architecture and its stack bytes), ModuleList (108-byte entries,
UTF-16 names, CodeView RSDS records, VS_FIXEDFILEINFO), MemoryList (mini
dumps: the stack) or Memory64List (full dumps: the stack, then the first
pages of every module, PE header first), Exception, SystemInfo, MiscInfo.
The bytes depend only on the Crash, so a dump can be made again bit for bit.
"""

from __future__ import annotations

import hashlib
import struct

from . import clock
from .crashinfo import PAGE

SIGNATURE = 0x504D444D  # "MDMP"
VERSION = 0xA793
THREAD_LIST, MODULE_LIST, MEMORY_LIST, EXCEPTION, SYSTEM_INFO, MEMORY64_LIST, MISC_INFO = 3, 4, 5, 6, 7, 9, 15
PROCESSOR_ARCHITECTURE = {"x86": 0, "AMD64": 9, "ARM64": 12}
MACHINE = {"x86": 0x14C, "AMD64": 0x8664, "ARM64": 0xAA64}
CONTEXT_SIZE = {"x86": 716, "AMD64": 1232, "ARM64": 912}
CONTEXT_FLAGS = {"x86": 0x1003F, "AMD64": 0x10001F, "ARM64": 0x40000F}
WITH_FULL_MEMORY = 0x2
DEFAULT_FULL_SIZE = 1_500_000
MODULE_ENTRY_SIZE = 108
VS_FFI_SIGNATURE = 0xFEEF04BD


def noise(seed, size):
    """Deterministic incompressible bytes."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(("%s|%d" % (seed, counter)).encode("utf-8")).digest()
        counter += 1
    return bytes(out[:size])


class _Buffer:
    def __init__(self, reserve):
        self.data = bytearray(reserve)

    def add(self, blob, align=4):
        self.data += b"\0" * (-len(self.data) % align)
        rva = len(self.data)
        self.data += blob
        return rva, len(blob)


def _string(text):
    encoded = text.encode("utf-16-le")
    return struct.pack("<I", len(encoded)) + encoded + b"\0\0"


def _codeview(module):
    return b"RSDS" + module.pdb_guid.bytes_le + struct.pack("<I", module.pdb_age) + module.pdb_name.encode() + b"\0"


def _fixed_file_info(module, is_dll):
    major, minor, build, rev = module.version
    ms, ls = (major << 16) | minor, (build << 16) | rev
    return struct.pack("<13I", VS_FFI_SIGNATURE, 0x10000, ms, ls, ms, ls, 0x3F, 0, 0x40004, 2 if is_dll else 1,
                       0, 0, 0)


def _location(loc):
    """MINIDUMP_LOCATION_DESCRIPTOR from (rva, size): DataSize first."""
    rva, size = loc
    return struct.pack("<II", size, rva)


def _registers(crash):
    """Deterministic general registers (index 0, the accumulator, is the null pointer that was read)."""
    return [0] + [crash.sp + 0x40 * i for i in range(1, 32)]


def context(crash):
    """The faulting thread's CONTEXT: instruction pointer at the exception address."""
    arch = crash.arch
    ctx = bytearray(CONTEXT_SIZE[arch])
    regs = _registers(crash)
    if arch == "AMD64":
        struct.pack_into("<II6HI", ctx, 0x30, CONTEXT_FLAGS[arch], 0x1F80, 0x33, 0x2B, 0x2B, 0x53, 0x2B, 0x2B,
                         0x10246)
        general = [0, regs[1], regs[2], regs[3], crash.sp, crash.sp + 0x80] + regs[6:16]
        struct.pack_into("<16Q", ctx, 0x78, *general)
        struct.pack_into("<Q", ctx, 0xF8, crash.address)
        struct.pack_into("<HH", ctx, 0x100, 0x27F, 0)
        struct.pack_into("<I", ctx, 0x118, 0x1F80)
    elif arch == "x86":
        mask = 0xFFFFFFFF
        struct.pack_into("<I", ctx, 0, CONTEXT_FLAGS[arch])
        struct.pack_into("<I", ctx, 0x1C, 0x27F)
        struct.pack_into("<4I", ctx, 0x8C, 0, 0x3B, 0x23, 0x23)
        # Edi, Esi, Ebx, Edx, Ecx, Eax, Ebp, Eip, SegCs, EFlags, Esp, SegSs
        struct.pack_into("<12I", ctx, 0x9C, regs[7] & mask, regs[6] & mask, regs[3] & mask, regs[2] & mask,
                         regs[1] & mask, 0, (crash.sp + 0x80) & mask, crash.address, 0x1B, 0x10246, crash.sp,
                         0x23)
        struct.pack_into("<I", ctx, 0xCC + 24, 0x1F80)
    else:
        struct.pack_into("<II", ctx, 0, CONTEXT_FLAGS[arch], 0x60000000)
        struct.pack_into("<29Q", ctx, 8, 0, *regs[1:29])
        struct.pack_into("<4Q", ctx, 0xF0, crash.sp + 0x80, crash.modules[0].base + 0x1010, crash.sp, crash.address)
    return bytes(ctx)


def stack_bytes(crash):
    """The captured stack, with return addresses into the loaded modules."""
    data = bytearray(noise(crash.seed + "|stack", crash.stack_size))
    width = 8 if crash.is_64bit else 4
    frame = crash.sp - crash.stack_start + 0x38
    for i, module in enumerate(crash.modules):
        slot = frame + i * 0x60
        if slot + width <= len(data):
            data[slot:slot + width] = (module.base + 0x1000 + i * 0x10).to_bytes(width, "little")
    return bytes(data)


def module_bytes(crash, module, size):
    """The first ``size`` bytes of a module image: a PE header naming the module's
    machine and time stamp, then compressible code-like pages."""
    head = bytearray(PAGE)
    head[0:2] = b"MZ"
    struct.pack_into("<I", head, 0x3C, 0x100)
    struct.pack_into("<4sHHI", head, 0x100, b"PE\0\0", MACHINE[crash.arch], 0, module.timestamp)
    struct.pack_into("<H", head, 0x116, 0x2022 if module is not crash.image_module else 0x22)
    block = noise("%s|%s" % (crash.host, module.name), 256) * (PAGE // 256)
    pages = [bytes(head)] + [struct.pack("<Q", i) + block[8:] for i in range(1, size // PAGE)]
    return b"".join(pages)[:size]


def build_minidump(crash, flags=0, full_size=DEFAULT_FULL_SIZE):
    """The dump file's bytes. ``flags`` is the MINIDUMP_TYPE recorded in the
    header; WithFullMemory (0x2) makes it a full dump of about ``full_size`` bytes."""
    full = bool(flags & WITH_FULL_MEMORY)
    stream_types = [THREAD_LIST, MODULE_LIST, MEMORY64_LIST if full else MEMORY_LIST, EXCEPTION, SYSTEM_INFO,
                    MISC_INFO]
    buf = _Buffer(32 + 12 * len(stream_types))
    directory = {}

    ctx_loc = buf.add(context(crash), align=16)

    names = [buf.add(_string(m.path)) for m in crash.modules]
    cvs = [buf.add(_codeview(m)) for m in crash.modules]
    entries = b"".join(
        struct.pack("<QIIII", m.base, m.size, m.checksum, m.timestamp, name_rva)
        + _fixed_file_info(m, i > 0) + _location(cv) + struct.pack("<IIQQ", 0, 0, 0, 0)
        for i, (m, (name_rva, _), cv) in enumerate(zip(crash.modules, names, cvs)))
    directory[MODULE_LIST] = buf.add(struct.pack("<I", len(crash.modules)) + entries)

    teb = (0x7FFFFFDE000 if crash.is_64bit else 0x7FFDE000) - (crash.tid % 64) * 0x2000
    # One MINIDUMP_THREAD; Stack.Memory.Rva is patched once the stack bytes have their place.
    directory[THREAD_LIST] = buf.add(
        struct.pack("<IIIIIQQII", 1, crash.tid, 0, 0x20, 0, teb, crash.stack_start, crash.stack_size, 0)
        + _location(ctx_loc))
    # Stack.Memory.Rva: after the count, four ULONGs, Teb, StartOfMemoryRange and DataSize.
    stack_rva_at = directory[THREAD_LIST][0] + 4 + 16 + 8 + 8 + 4

    params = list(crash.params) + [0] * (15 - len(crash.params))
    directory[EXCEPTION] = buf.add(
        struct.pack("<II", crash.tid, 0)
        + struct.pack("<IIQQII15Q", crash.code, crash.flags, 0, crash.address, len(crash.params), 0, *params)
        + _location(ctx_loc))

    csd = buf.add(_string(""))
    if crash.arch == "x86":
        cpu = struct.pack("<4s4s4sIII", b"Genu", b"ineI", b"ntel", 0x000906EA, 0xBFEBFBFF, 0)
    else:
        cpu = struct.pack("<QQ8x", 0x1FF3FFFF, 0)  # OtherCpuInfo, padded to the union's 24 bytes
    directory[SYSTEM_INFO] = buf.add(
        struct.pack("<HHHBBIIIIIHH", PROCESSOR_ARCHITECTURE[crash.arch], 8 if crash.arch == "ARM64" else 6,
                    0x5507, 4, crash.product_type, 10, 0, crash.build, 2, csd[0], 0x100, 0) + cpu)

    directory[MISC_INFO] = buf.add(struct.pack("<6I", 24, 0x3, crash.pid, clock.unix(crash.start_time), 1, 0))

    stack = stack_bytes(crash)
    if full:
        ranges = [(crash.stack_start, stack)]
        overhead = len(buf.data) + 16 + 16 * (1 + len(crash.modules)) + len(stack)
        share = max(PAGE, (full_size - overhead) // len(crash.modules) // PAGE * PAGE)
        ranges += [(m.base, module_bytes(crash, m, min(share, m.size))) for m in crash.modules]
        head = struct.pack("<QQ", len(ranges), 0) + b"".join(struct.pack("<QQ", a, len(d)) for a, d in ranges)
        directory[MEMORY64_LIST] = buf.add(head, align=8)
        base_rva, _ = buf.add(b"".join(d for _, d in ranges), align=16)
        struct.pack_into("<Q", buf.data, directory[MEMORY64_LIST][0] + 8, base_rva)
        stack_rva = base_rva
    else:
        stack_rva, _ = buf.add(stack, align=16)
        directory[MEMORY_LIST] = buf.add(struct.pack("<IQII", 1, crash.stack_start, len(stack), stack_rva))
    struct.pack_into("<I", buf.data, stack_rva_at, stack_rva)

    struct.pack_into("<IIIIIIQ", buf.data, 0, SIGNATURE, VERSION, len(stream_types), 32, 0,
                     clock.unix(crash.time), flags)
    for i, kind in enumerate(stream_types):
        rva, size = directory[kind]
        struct.pack_into("<III", buf.data, 32 + 12 * i, kind, size, rva)
    return bytes(buf.data)
