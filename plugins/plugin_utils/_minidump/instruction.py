# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""x86 and x64 instructions decoded with Capstone (PyPI): the faulting instruction and the memory it
accesses, and whether a return address follows a call.

The exception record of an access violation names the access type, but for
a general-protection fault (a non-canonical address) Windows reports a
read of 0xffffffffffffffff whatever the instruction did: the instruction's
memory operands, computed from the registers, say what it was. Capstone
marks each operand read or written; ``lea``, ``nop`` and prefetches, which
it marks read, touch no memory.
"""

from __future__ import annotations

from dataclasses import dataclass

CAPSTONE_MISSING = ("instructions are not decoded (no faulting instruction, scanned return addresses not checked "
                    "for a call before them): the Python package capstone is not on the controller "
                    "(pip install 'capstone>=5,<6')")
MAX_INSTRUCTION = 15
# Lengths a call instruction can have (call rel32 is 5; call r/m is 2 to 7, one more with a REX prefix,
# two more with a segment prefix), the longest first: the bytes before a return address are decoded as each.
CALL_LENGTHS = range(9, 1, -1)
_NO_MEMORY_ACCESS = ("lea", "nop", "prefetch")
_FLAT_SEGMENTS = ("", "cs", "ds", "es", "ss")  # fs and gs have a base the context does not hold
_MODES = {"x64": "CS_MODE_64", "x86": "CS_MODE_32"}


@dataclass(frozen=True)
class MemoryAccess:
    kind: str  # read or write (a read-modify-write writes)
    address: int | None  # None when a register or segment base is unknown
    size: int


@dataclass(frozen=True)
class Instruction:
    address: int
    code: bytes
    text: str
    accesses: tuple  # MemoryAccess, explicit operands first, then the stack (push, call, pop, ret)

    def access_for(self, fault_address, arch):
        """(read, write or execute; the address accessed) that explains a fault at ``fault_address``
        (None when unknown), or (None, None) when the instruction does not tell."""
        if fault_address is not None and fault_address == self.address:
            return "execute", self.address  # fetching the instruction itself faulted
        known = [a for a in self.accesses if a.address is not None]
        if fault_address is not None:
            hit = [a for a in known if a.address <= fault_address < a.address + max(a.size, 1)]
            if not hit and arch == "x64":
                hit = [a for a in known if not _canonical(a.address)]
            if hit:
                return ("write" if any(a.kind == "write" for a in hit) else "read"), hit[0].address
        kinds = {a.kind for a in self.accesses}
        if len(kinds) == 1:
            return kinds.pop(), self.accesses[0].address if len(self.accesses) == 1 else None
        return None, None


def _canonical(address):
    return address >> 47 in (0, 0x1FFFF)


_decoders = {}


def _decoder(arch, detail):
    """A Capstone decoder for ``arch`` (x86 or x64), or None without Capstone or for another architecture."""
    key = (arch, detail)
    if key not in _decoders:
        try:
            import capstone  # pylint: disable=import-outside-toplevel
        except ImportError:
            capstone = None
        decoder = None
        if capstone is not None and arch in _MODES:
            decoder = capstone.Cs(capstone.CS_ARCH_X86, getattr(capstone, _MODES[arch]))
            decoder.detail = detail
        _decoders[key] = decoder
    return _decoders[key]


def available():
    """Whether Capstone can be imported (instructions can be decoded)."""
    return _decoder("x64", False) is not None


def _register(insn, reg, registers, arch):
    """The value of register ``reg`` (a Capstone id) from ``registers``; a 32-bit one of a 64-bit register."""
    name = insn.reg_name(reg)
    if name in registers:
        return registers[name]
    if arch == "x64" and name.startswith("e"):
        value = registers.get("r" + name[1:])
    elif arch == "x64" and name.startswith("r") and name.endswith("d"):
        value = registers.get(name[:-1])
    else:
        return None
    return None if value is None else value & 0xFFFFFFFF


def _address(insn, mem, registers, arch):
    """The address a memory operand refers to, or None when a register or segment base is unknown."""
    if mem.segment and insn.reg_name(mem.segment) not in _FLAT_SEGMENTS:
        return None
    address = mem.disp
    for reg, scale in ((mem.base, 1), (mem.index, mem.scale)):
        if not reg:
            continue
        name = insn.reg_name(reg)
        value = insn.address + insn.size if name in ("rip", "eip") else _register(insn, reg, registers, arch)
        if value is None:
            return None
        address += value * scale
    return address & ((1 << 64) - 1 if arch == "x64" else 0xFFFFFFFF)


def decode(code, address, arch, registers):
    """The Instruction at the start of ``code`` (its bytes at ``address``), with the memory it accesses
    computed from ``registers`` (a context's, by name); None when the bytes are no instruction or
    Capstone is missing."""
    decoder = _decoder(arch, True)
    insn = next(decoder.disasm(code[:MAX_INSTRUCTION], address, 1), None) if decoder else None
    if insn is None:
        return None
    from capstone import CS_AC_WRITE, CS_GRP_CALL, CS_GRP_RET, x86  # pylint: disable=import-outside-toplevel
    accesses = []
    if not insn.mnemonic.startswith(_NO_MEMORY_ACCESS):
        for op in insn.operands:
            if op.type == x86.X86_OP_MEM and op.access:
                accesses.append(MemoryAccess("write" if op.access & CS_AC_WRITE else "read",
                                             _address(insn, op.mem, registers, arch), op.size))
    width = 8 if arch == "x64" else 4
    sp = registers.get("rsp" if arch == "x64" else "esp")
    if insn.group(CS_GRP_CALL) or insn.mnemonic.startswith("push"):
        accesses.append(MemoryAccess("write", None if sp is None else sp - width, width))
    elif insn.group(CS_GRP_RET) or insn.mnemonic.startswith("pop"):
        accesses.append(MemoryAccess("read", sp, width))
    text = ("%s %s" % (insn.mnemonic, insn.op_str)).strip()
    return Instruction(insn.address, bytes(insn.bytes), text, tuple(accesses))


def follows_call(code, arch):
    """Whether ``code`` (the bytes just before a return address) ends with a whole call instruction;
    None when that cannot be told (Capstone missing, another architecture)."""
    decoder = _decoder(arch, False)
    if decoder is None:
        return None
    for length in CALL_LENGTHS:
        if length > len(code):
            continue
        found = next(decoder.disasm_lite(code[-length:], 0, 1), None)
        if found is not None and found[1] == length and found[2].startswith(("call", "lcall")):
            return True
    return False
