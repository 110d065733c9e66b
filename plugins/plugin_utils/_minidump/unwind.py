# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stack walking: from a thread's context to its caller frames.

Each frame says how it was found (``trust``):

* ``context``: frame 0, from the CPU context (exact);
* ``cfi``: x64 unwind data (``.pdata`` / UNWIND_INFO) of the module image
  inside the dump (full dumps hold the images; most mini dumps do not) or
  found along the symbol path, applied as Windows' RtlVirtualUnwind does;
* ``frame_pointer``: the EBP chain (x86) or the frame record chain (ARM64);
* ``scan``: the first word further up the stack that points into a module's
  code just after a call instruction (decoded from the bytes before it, in
  the dump or in the module's image, when either has them); a guess that
  can name a stale return address.

When frame 0 is in no module (a call or jump to data), its caller is the
return address on top of the stack, tried before anything else. The walk
stops at the stack's end, when the stack pointer does not grow, at a return
address of 0 or in no module, where a frame-pointer chain ends (a saved
frame pointer or return address of 0 marks the outermost frame, as
RtlUserThreadStart leaves it: what lies above is stale), or after
``max_frames``.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import format as fmt
from .context import AMD64_GPRS
from .instruction import CALL_LENGTHS, follows_call

DEFAULT_MAX_FRAMES = 64
# Words looked at by one stack scan, and nested UNWIND_INFO chains followed.
SCAN_WORDS = 512
MAX_CHAIN = 32
# What the frame-pointer walk gives at the outermost frame.
_CHAIN_END = object()


@dataclass
class Frame:
    trust: str
    pc: int
    sp: int


def _slots(op, info):
    """How many 16-bit unwind code slots an operation takes."""
    if op == fmt.UWOP_ALLOC_LARGE:
        return 3 if info else 2
    if op in (fmt.UWOP_SAVE_NONVOL, fmt.UWOP_SAVE_XMM128, fmt.UWOP_EPILOG):
        return 2
    if op in (fmt.UWOP_SAVE_NONVOL_FAR, fmt.UWOP_SAVE_XMM128_FAR, fmt.UWOP_SPARE_CODE):
        return 3
    return 1


class StackWalker:
    """Walks one thread's stack through ``code`` (a code_bytes.CodeBytes: the dump's memory and modules,
    and the images found for them)."""

    def __init__(self, code, arch, stack_low, stack_high):
        self.code = code
        self.memory = code.memory
        self.modules = code.modules
        self.arch = arch
        self.width = 4 if arch == "x86" else 8
        self.stack_low = stack_low
        self.stack_high = stack_high

    def walk(self, context, max_frames=DEFAULT_MAX_FRAMES):
        """The frames of the stack whose innermost frame has ``context`` (a CpuContext)."""
        regs = dict(context.registers)
        frames = [Frame("context", context.pc, context.sp)]
        while len(frames) < max_frames:
            first = len(frames) == 1
            caller = self._caller(regs, first, frames[-1].trust == "frame_pointer")
            if caller is None:
                break
            trust, regs = caller
            pc, sp = self._pc(regs), self._sp(regs)
            if not pc or sp is None or sp <= frames[-1].sp or not self.stack_low <= sp <= self.stack_high:
                break
            frames.append(Frame(trust, pc, sp))
        return frames

    # -- registers by role ---------------------------------------------------

    def _pc(self, regs):
        return regs.get({"x64": "rip", "x86": "eip", "arm64": "pc"}[self.arch])

    def _sp(self, regs):
        return regs.get({"x64": "rsp", "x86": "esp", "arm64": "sp"}[self.arch])

    def _caller(self, regs, first, chained=False):
        if first and self.arch != "arm64" and self.modules.find(self._pc(regs) or 0) is None:
            found = self._return_on_top(regs)
            if found is not None:
                return "scan", found
        if self.arch == "x64":
            found = self._cfi(regs, first)
            if found is not None:
                return "cfi", found
        else:
            found = self._frame_pointer(regs, chained)
            if found is _CHAIN_END:
                return None
            if found is not None:
                return "frame_pointer", found
        found = self._scan(regs)
        return None if found is None else ("scan", found)

    def _return_on_top(self, regs):
        """The caller of a frame that has pushed nothing: its return address is at the stack pointer."""
        sp = self._sp(regs)
        ret = None if sp is None else self.memory.read_unsigned(sp, self.width)
        if ret is None or not self._code_address(ret, after_call=True):
            return None
        regs = dict(regs)
        regs[{"x64": "rip", "x86": "eip"}[self.arch]] = ret
        regs[{"x64": "rsp", "x86": "esp"}[self.arch]] = sp + self.width
        return regs

    # -- x64 unwind data -----------------------------------------------------

    def _cfi(self, regs, first):
        pc = regs.get("rip")
        if pc is None or regs.get("rsp") is None:
            return None
        # A return address can be just past its function's end: look up the call.
        lookup = pc if first else pc - 1
        module = self.modules.find(lookup)
        image = self.code.image(module) if module else None
        if image is None or image.machine != fmt.MACHINE_AMD64:
            return None
        entry = image.function_entry(lookup - module.base)
        if entry is None:
            if not first:
                return None
            # A leaf function has no unwind data and leaves RSP alone: the
            # return address is on top of the stack.
            regs = dict(regs)
            return self._pop_return(regs)
        return self._virtual_unwind(image, entry, regs, lookup - module.base)

    def _pop_return(self, regs):
        ret = self.memory.read_unsigned(regs["rsp"], 8)
        if ret is None:
            return None
        regs["rip"] = ret
        regs["rsp"] += 8
        return regs

    def _virtual_unwind(self, image, entry, regs, pc_rva):
        regs = dict(regs)
        begin, unwind_rva = entry[0], entry[2]
        offset = pc_rva - begin
        primary = True
        for _depth in range(MAX_CHAIN):
            head = image.memory.read(image.base + unwind_rva, fmt.UNWIND_INFO_HEADER.size)
            if head is None:
                return None
            version_flags, prolog_size, count, frame = fmt.UNWIND_INFO_HEADER.unpack(head)
            if version_flags & 7 not in (1, 2):
                return None
            codes = image.memory.read(image.base + unwind_rva + 4, 2 * count)
            if codes is None:
                return None
            # Within the prolog only the operations already done are undone.
            done = (lambda at: at <= offset) if primary and offset < prolog_size else (lambda at: True)
            frame_reg, frame_offset = frame & 0xF, (frame >> 4) * 16
            base = regs.get("rsp")
            fp_set = any(codes[2 * i + 1] & 0xF == fmt.UWOP_SET_FPREG and done(codes[2 * i])
                         for i in range(count))
            if frame_reg and fp_set:
                value = regs.get(AMD64_GPRS[frame_reg])
                base = None if value is None else value - frame_offset
            if base is None:
                return None
            machine_frame = self._apply_codes(codes, count, done, regs, base)
            if machine_frame is None:
                return None
            if not (version_flags >> 3) & fmt.UNW_FLAG_CHAININFO:
                if machine_frame:
                    return regs
                return self._pop_return(regs)
            chained = image.memory.read(image.base + unwind_rva + 4 + 2 * (count + (count & 1)),
                                        fmt.RUNTIME_FUNCTION.size)
            if chained is None:
                return None
            unwind_rva = fmt.RUNTIME_FUNCTION.unpack(chained)[2]
            primary = False
        return None

    def _apply_codes(self, codes, count, done, regs, base):
        """Undo the prolog operations in ``codes``; True if one was a machine frame, None on failure."""
        i = 0
        machine_frame = False
        while i < count:
            at, op_info = codes[2 * i], codes[2 * i + 1]
            op, info = op_info & 0xF, op_info >> 4
            size = _slots(op, info)
            if i + size > count:
                return None
            slot = int.from_bytes(codes[2 * i + 2:2 * i + 4], "little") if size > 1 else 0
            wide = int.from_bytes(codes[2 * i + 2:2 * i + 6], "little") if size > 2 else 0
            if done(at):
                rsp = regs.get("rsp")
                if rsp is None:
                    return None
                if op == fmt.UWOP_PUSH_NONVOL:
                    regs[AMD64_GPRS[info]] = self.memory.read_unsigned(rsp, 8)
                    regs["rsp"] = rsp + 8
                elif op == fmt.UWOP_ALLOC_LARGE:
                    regs["rsp"] = rsp + (wide if info else slot * 8)
                elif op == fmt.UWOP_ALLOC_SMALL:
                    regs["rsp"] = rsp + info * 8 + 8
                elif op == fmt.UWOP_SET_FPREG:
                    regs["rsp"] = base
                elif op == fmt.UWOP_SAVE_NONVOL:
                    regs[AMD64_GPRS[info]] = self.memory.read_unsigned(base + slot * 8, 8)
                elif op == fmt.UWOP_SAVE_NONVOL_FAR:
                    regs[AMD64_GPRS[info]] = self.memory.read_unsigned(base + wide, 8)
                elif op == fmt.UWOP_PUSH_MACHFRAME:
                    rsp += 8 * info  # an error code was pushed first
                    regs["rip"] = self.memory.read_unsigned(rsp, 8)
                    regs["rsp"] = self.memory.read_unsigned(rsp + 24, 8)
                    machine_frame = True
            i += size
        return machine_frame

    # -- frame pointers (x86, ARM64) -----------------------------------------

    def _frame_pointer(self, regs, chained):
        """The caller by the frame pointer; _CHAIN_END past the outermost frame of a chain
        (``chained``: the current frame came from the chain, so its frame pointer is a saved one)."""
        fp_name = "ebp" if self.arch == "x86" else "fp"
        fp = regs.get(fp_name)
        if fp == 0 and chained:
            return _CHAIN_END
        if fp is None or not self.stack_low <= fp < self.stack_high or fp < (self._sp(regs) or 0):
            return None
        saved_fp = self.memory.read_unsigned(fp, self.width)
        ret = self.memory.read_unsigned(fp + self.width, self.width)
        if ret == 0:
            return _CHAIN_END
        if saved_fp is None or ret is None or not self._code_address(ret):
            return None
        if self.arch == "x86":
            return {"eip": ret, "esp": fp + 8, "ebp": saved_fp}
        return {"pc": ret, "sp": fp + 16, "fp": saved_fp}

    # -- stack scanning --------------------------------------------------------

    def _scan(self, regs):
        sp = self._sp(regs)
        if sp is None or not self.stack_low <= sp < self.stack_high:
            return None
        words = min(SCAN_WORDS, (self.stack_high - sp) // self.width)
        where = self.memory.range_at(sp)
        if where is None:
            return None
        words = min(words, (where.end - sp) // self.width)
        data = self.memory.read(sp, words * self.width) or b""
        for i in range(words):
            value = int.from_bytes(data[i * self.width:(i + 1) * self.width], "little")
            if self._code_address(value, after_call=True):
                caller_sp = sp + (i + 1) * self.width
                if self.arch == "x64":
                    return {"rip": value, "rsp": caller_sp}
                if self.arch == "x86":
                    return {"eip": value, "esp": caller_sp}
                return {"pc": value, "sp": caller_sp}
        return None

    def _code_address(self, value, after_call=False):
        """Whether ``value`` can be a return address: in a module, in executable code
        when the image is known, after a call when the code bytes are."""
        module = self.modules.find(value)
        if module is None or value - module.base < 0x400:
            return False
        image = self.code.image(module)
        if image is not None:
            section = image.section_at(value - module.base - 1)
            if section is None or not section.executable:
                return False
        if after_call:
            code = self.code.read(value - CALL_LENGTHS[0], CALL_LENGTHS[0])
            if code is not None and follows_call(code, self.arch) is False:
                return False
        return True
