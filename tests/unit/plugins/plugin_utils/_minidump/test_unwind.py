"""Stack walking on synthetic dumps whose stacks and unwind data are known exactly."""

import struct

import minidump_synth as synth
import pytest

from ansible_collections.crashdump.windows.plugins.plugin_utils._minidump import format as fmt
from ansible_collections.crashdump.windows.plugins.plugin_utils._minidump.analyze import analyze
from ansible_collections.crashdump.windows.plugins.plugin_utils._minidump.code_bytes import CodeBytes
from ansible_collections.crashdump.windows.plugins.plugin_utils._minidump.context import parse_context
from ansible_collections.crashdump.windows.plugins.plugin_utils._minidump.instruction import follows_call
from ansible_collections.crashdump.windows.plugins.plugin_utils._minidump.memory import read_memory
from ansible_collections.crashdump.windows.plugins.plugin_utils._minidump.modules import read_modules
from ansible_collections.crashdump.windows.plugins.plugin_utils._minidump.reader import Minidump
from ansible_collections.crashdump.windows.plugins.plugin_utils._minidump.unwind import StackWalker

BASE = 0x140000000
STACK = 0x10000
RSP_A = STACK + 0x100
RSP_B = RSP_A + 0x40
RSP_C = RSP_B + 0x110
RSP_M = RSP_C + 0x28
STACK_END = STACK + 0x1000
RBP, RBX, RSI, RDI = 5, 3, 6, 7


def unwind_info(prolog, codes, frame_reg=0, frame_offset=0, chained=None):
    """codes: (offset, op, info, *extra 16-bit slots), innermost operation first."""
    slots = []
    for offset, op, info, *extra in codes:
        slots.append(struct.pack("<BB", offset, op | info << 4))
        slots += [struct.pack("<H", e) for e in extra]
    if len(slots) % 2:
        slots.append(b"\0\0")  # the code array is padded to an even count
    flags = fmt.UNW_FLAG_CHAININFO if chained else 0
    count = sum(1 + len(code[3:]) for code in codes)
    head = struct.pack("<BBBB", 1 | flags << 3, prolog, count, frame_reg | frame_offset << 4)
    return head + b"".join(slots) + (struct.pack("<III", *chained) if chained else b"")


def text_with_calls(return_offsets):
    """.text bytes with a call rel32 just before each return offset (relative to 0x1000)."""
    text = bytearray(b"\xcc" * 0x1000)
    for off in return_offsets:
        text[off - 0x1000 - 5:off - 0x1000] = b"\xe8\0\0\0\0"
    return bytes(text)


# Functions: A [0x1000, 0x1100), B [0x1100, 0x1200), C [0x1200, 0x1300) (chained to C0 for its start),
# M [0x1300, 0x1400) has no unwind data, MF [0x1400, 0x1480) pushes a machine frame, N [0x1480, 0x1500)
# (0x1500 on: no unwind data, a leaf).
XDATA = {
    0x2000: unwind_info(6, [(6, fmt.UWOP_ALLOC_SMALL, 4), (2, fmt.UWOP_PUSH_NONVOL, RBX),
                            (1, fmt.UWOP_PUSH_NONVOL, RBP)]),
    0x2040: unwind_info(18, [(18, fmt.UWOP_SAVE_NONVOL, RSI, 2), (13, fmt.UWOP_SET_FPREG, 0),
                             (8, fmt.UWOP_ALLOC_LARGE, 0, 0x20), (1, fmt.UWOP_PUSH_NONVOL, RBP)],
                        frame_reg=RBP, frame_offset=2),
    0x2080: unwind_info(10, [(10, fmt.UWOP_ALLOC_SMALL, 2)], chained=(0x1200, 0x1208, 0x20C0)),
    0x20C0: unwind_info(1, [(1, fmt.UWOP_PUSH_NONVOL, RDI)]),
    0x2100: unwind_info(0, [(0, fmt.UWOP_PUSH_MACHFRAME, 0)]),
    0x2140: unwind_info(0, [(0, fmt.UWOP_SAVE_NONVOL_FAR, RBX, 0x8, 0), (0, fmt.UWOP_ALLOC_LARGE, 1, 0x10, 0)]),
}
PDATA = [(0x1000, 0x1100, 0x2000), (0x1100, 0x1200, 0x2040), (0x1208, 0x1300, 0x2080),
         (0x1200, 0x1208, 0x20C0), (0x1400, 0x1480, 0x2100), (0x1480, 0x1500, 0x2140)]
RETURNS = {"B": 0x1150, "C": 0x1240, "M": 0x1330, "M2": 0x1360}


def image():
    xdata = bytearray(0x200)
    for rva, data in XDATA.items():
        xdata[rva - 0x2000:rva - 0x2000 + len(data)] = data
    return synth.pe_image(0x6000, [(".text", 0x1000, text_with_calls(RETURNS.values()), 0x60000020),
                                   (".xdata", 0x2000, bytes(xdata), 0x40000040)],
                          pdata=PDATA, exports=[(0x1000, "FuncA"), (0x1100, "FuncB"), (0x1200, "FuncC")])


def stack():
    data = bytearray(STACK_END - STACK)

    def put(address, value):
        struct.pack_into("<Q", data, address - STACK, value)
    rbp_b = RSP_B + 0x20
    put(RSP_A + 0x28, 0xBB)            # rbx saved by A
    put(RSP_A + 0x30, rbp_b)           # rbp saved by A (B's frame pointer)
    put(RSP_A + 0x38, BASE + RETURNS["B"])
    put(RSP_B + 0x10, 0x51)            # rsi saved by B (mov)
    put(RSP_B + 0x100, 0xCAFE)         # rbp saved by B
    put(RSP_B + 0x108, BASE + RETURNS["C"])
    put(RSP_C + 0x18, 0xD1)            # rdi saved by C0
    put(RSP_C + 0x20, BASE + RETURNS["M"])
    put(RSP_M + 0x10, BASE + 0x1234)   # not after a call: the scan skips it
    put(RSP_M + 0x18, BASE + RETURNS["M2"])
    return bytes(data), rbp_b


def build(context_regs, memory64=True, with_image=True, arch_stream=9, context=None):
    b = synth.Builder(flags=0x2 if memory64 else 0)
    stack_bytes = stack()[0]
    ranges = [(STACK, stack_bytes)] + ([(BASE, image())] if with_image else [])
    b.stream(fmt.SYSTEM_INFO, synth.system_info(arch=arch_stream))
    b.stream(fmt.MODULE_LIST, synth.module_list(b, [{"base": BASE, "size": 0x6000, "path": "C:\\app\\app.dll"}]))
    ctx = context if context is not None else synth.amd64_context(**context_regs)
    ctx_rva = b.blob(ctx, align=16)
    b.stream(fmt.THREAD_LIST, synth.thread_list([(1, STACK, STACK_END - STACK, 0, ctx_rva, len(ctx))]))
    pc = context_regs.get("rip", context_regs.get("eip", context_regs.get("pc", 0)))
    b.stream(fmt.EXCEPTION, synth.exception_stream(1, 0xC0000005, pc, [0, 0], ctx_rva, len(ctx)))
    b.stream(fmt.MEMORY64_LIST if memory64 else fmt.MEMORY_LIST,
             (synth.memory64_list if memory64 else synth.memory_list)(b, ranges))
    return Minidump(b.build())


def walker(dump, arch="x64"):
    return StackWalker(CodeBytes(dump, read_memory(dump), read_modules(dump)), arch, STACK, STACK_END)


def test_x64_unwind_data_gives_the_exact_call_chain():
    dump = build({"rip": BASE + 0x1010, "rsp": RSP_A, "rbp": 1, "rbx": 2})
    frames = analyze(dump).crashing_thread.frames
    assert [(f.trust, f.display) for f in frames] == [
        ("context", "app.dll!FuncA+0x10"),
        ("cfi", "app.dll!FuncB+0x50"),
        ("cfi", "app.dll!FuncC+0x40"),
        ("cfi", "app.dll!FuncC+0x130"),  # M has no export of its own: the nearest one below is named
        ("scan", "app.dll!FuncC+0x160"),
    ]
    assert [int(f.sp, 16) for f in frames[:4]] == [RSP_A, RSP_B, RSP_C, RSP_M]


def test_x64_unwind_restores_nonvolatile_registers():
    dump = build({"rip": BASE + 0x1010, "rsp": RSP_A, "rbp": 1, "rbx": 2})
    w = walker(dump)
    regs = parse_context(synth.amd64_context(rip=BASE + 0x1010, rsp=RSP_A, rbp=1, rbx=2), 9).registers
    trust, regs = w._caller(regs, True)
    assert (trust, regs["rbx"], regs["rbp"], regs["rsp"]) == ("cfi", 0xBB, RSP_B + 0x20, RSP_B)
    trust, regs = w._caller(regs, False)
    assert (regs["rsi"], regs["rbp"], regs["rsp"], regs["rip"]) == (0x51, 0xCAFE, RSP_C, BASE + RETURNS["C"])
    trust, regs = w._caller(regs, False)
    assert (regs["rdi"], regs["rsp"], regs["rip"]) == (0xD1, RSP_M, BASE + RETURNS["M"])


def test_in_the_prolog_only_what_was_done_is_undone():
    # At A+1 only "push rbp" has run: the return address is right above it.
    dump = build({"rip": BASE + 0x1001, "rsp": RSP_A + 0x30})
    regs = parse_context(synth.amd64_context(rip=BASE + 0x1001, rsp=RSP_A + 0x30), 9).registers
    regs = walker(dump)._caller(regs, True)[1]
    assert (regs["rbp"], regs["rip"], regs["rsp"]) == (RSP_B + 0x20, BASE + RETURNS["B"], RSP_B)


def test_a_leaf_function_without_unwind_data_returns_from_the_top_of_the_stack():
    dump = build({"rip": BASE + 0x1500, "rsp": RSP_A + 0x38, "rbp": RSP_B + 0x20})
    frames = analyze(dump).crashing_thread.frames
    assert [f.trust for f in frames[:3]] == ["context", "cfi", "cfi"]
    assert frames[1].pc == "0x%016x" % (BASE + RETURNS["B"])


def test_machine_frame_and_far_operations():
    stack_bytes = stack()[0]
    dump = build({"rip": BASE + 0x1400, "rsp": RSP_A + 0x10})
    regs = parse_context(synth.amd64_context(rip=BASE + 0x1400, rsp=RSP_A + 0x10), 9).registers
    out = walker(dump)._caller(regs, True)[1]
    # The machine frame's RIP is at RSP, its RSP 24 bytes above: here the saved rbp slot and what follows.
    assert out["rip"] == struct.unpack_from("<Q", stack_bytes, RSP_A + 0x10 - STACK)[0]
    assert out["rsp"] == struct.unpack_from("<Q", stack_bytes, RSP_A + 0x28 - STACK)[0]
    regs = parse_context(synth.amd64_context(rip=BASE + 0x1490, rsp=RSP_A + 0x28), 9).registers
    out = walker(dump)._caller(regs, True)[1]
    assert (out["rbx"], out["rsp"], out["rip"]) == (RSP_B + 0x20, RSP_A + 0x40, BASE + RETURNS["B"])


def test_without_images_callers_come_from_scanning():
    dump = build({"rip": BASE + 0x1010, "rsp": RSP_A}, memory64=False, with_image=False)
    frames = analyze(dump).crashing_thread.frames
    assert [f.trust for f in frames] == ["context"] + ["scan"] * (len(frames) - 1)
    assert [int(f.pc, 16) - BASE for f in frames[1:4]] == [RETURNS["B"], RETURNS["C"], RETURNS["M"]]
    assert frames[1].display == "app.dll+0x1150" and frames[1].function is None


def test_scanning_checks_for_a_call_when_the_code_is_there():
    # With the image, the word pointing at 0x1234 (not after a call) is skipped.
    dump = build({"rip": BASE + 0x1010, "rsp": RSP_M})
    regs = parse_context(synth.amd64_context(rip=0xDEAD0000, rsp=RSP_M), 9).registers
    trust, out = walker(dump)._caller(regs, False)
    assert (trust, out["rip"], out["rsp"]) == ("scan", BASE + RETURNS["M2"], RSP_M + 0x20)


def test_walks_stop_at_the_frame_limit_and_at_the_end_of_the_stack():
    dump = build({"rip": BASE + 0x1010, "rsp": RSP_A})
    w = walker(dump)
    context = parse_context(synth.amd64_context(rip=BASE + 0x1010, rsp=RSP_A), 9)
    assert len(w.walk(context, max_frames=2)) == 2
    past = parse_context(synth.amd64_context(rip=BASE + 0x1010, rsp=STACK_END + 0x100), 9)
    assert [f.trust for f in w.walk(past)] == ["context"]


def test_x86_frame_pointer_chain():
    b = synth.Builder()
    code = bytearray(b"\xcc" * 0x100)
    code[0x50 - 5:0x50] = b"\xe8\0\0\0\0"
    code[0x80 - 2:0x80] = b"\xff\xd0"  # call eax
    stack_data = bytearray(0x100)
    struct.pack_into("<II", stack_data, 0x40, 0x12F0C0, 0x401050)  # ebp chain: saved ebp, return
    struct.pack_into("<II", stack_data, 0xC0, 0, 0x401080)
    b.stream(fmt.SYSTEM_INFO, synth.system_info(arch=0))
    b.stream(fmt.MODULE_LIST, synth.module_list(b, [{"base": 0x400000, "size": 0x2000, "path": "a.exe"}]))
    ctx = synth.x86_context(eip=0x401010, esp=0x12F020, ebp=0x12F040)
    ctx_rva = b.blob(ctx)
    b.stream(fmt.THREAD_LIST, synth.thread_list([(1, 0x12F000, 0x100, 0, ctx_rva, len(ctx))]))
    b.stream(fmt.EXCEPTION, synth.exception_stream(1, 0xC0000094, 0x401010, [], ctx_rva, len(ctx)))
    b.stream(fmt.MEMORY_LIST, synth.memory_list(b, [(0x12F000, bytes(stack_data)), (0x401000, bytes(code))]))
    result = analyze(Minidump(b.build()))
    frames = result.crashing_thread.frames
    assert [(f.trust, f.pc) for f in frames[:3]] == [
        ("context", "0x00401010"), ("frame_pointer", "0x00401050"), ("frame_pointer", "0x00401080")]
    assert result.crashing_thread.registers["eip"] == "0x00401010"


def test_arm64_frame_records():
    b = synth.Builder()
    stack_data = bytearray(0x200)
    struct.pack_into("<QQ", stack_data, 0x40, 0x1000 + 0x80, 0x7FF600001100)
    struct.pack_into("<QQ", stack_data, 0x80, 0, 0x7FF600001200)
    b.stream(fmt.SYSTEM_INFO, synth.system_info(arch=12))
    b.stream(fmt.MODULE_LIST, synth.module_list(b, [{"base": 0x7FF600000000, "size": 0x4000, "path": "a.exe"}]))
    ctx = synth.arm64_context(pc=0x7FF600001010, sp=0x1020, fp=0x1040, lr=0x7FF600001100)
    ctx_rva = b.blob(ctx)
    b.stream(fmt.THREAD_LIST, synth.thread_list([(1, 0x1000, 0x200, 0, ctx_rva, len(ctx))]))
    b.stream(fmt.EXCEPTION, synth.exception_stream(1, 0xC0000005, 0x7FF600001010, [1, 8], ctx_rva, len(ctx)))
    b.stream(fmt.MEMORY_LIST, synth.memory_list(b, [(0x1000, bytes(stack_data))]))
    frames = analyze(Minidump(b.build())).crashing_thread.frames
    assert [(f.trust, f.display) for f in frames] == [
        ("context", "a.exe+0x1010"), ("frame_pointer", "a.exe+0x1100"), ("frame_pointer", "a.exe+0x1200")]


@pytest.mark.parametrize("code, arch, expected", [
    (b"\xcc\xcc\xe8\0\0\0\0", "x64", True),  # call rel32
    (b"\xcc\xcc\xcc\xcc\xcc\xff\xd0", "x64", True),  # call rax
    (b"\xcc\xcc\xcc\xcc\xff\x55\x08", "x86", True),  # call [ebp+8]
    (b"\xcc\x48\xff\x15\0\0\0\0", "x64", True),  # call [rip+0], REX.W as MSVC's guarded calls have it
    (b"\xcc\x41\xff\x94\x24\x10\0\0\0", "x64", True),  # call [r12+0x10]: 9 bytes
    (b"\xc3\x0f\x1f\x00", "x64", False),  # ret, then padding: a function's first instruction follows
    (b"\xcc\xcc\xcc\xcc\xcc\xff\xe0", "x64", False),  # jmp rax, not a call
    (b"\x48\x83\xc4\x28\xc3\xcc\xcc", "x64", False),
    (b"\xcc\xcc\xe8\0\0\0\0", "arm64", None),  # not decoded: cannot be told
])
def test_a_return_address_follows_a_whole_call(code, arch, expected):
    assert follows_call(code, arch) is expected


def x86_dump(eip, esp, ebp, words, ranges=None):
    """An x86 dump of a.exe (calls end at 0x401050 and 0x401080) whose stack at 0x12F000 holds ``words``
    (offset -> 32-bit value); ``ranges`` replaces the MemoryList."""
    b = synth.Builder()
    code = bytearray(b"\xcc" * 0x100)
    code[0x50 - 5:0x50] = b"\xe8\0\0\0\0"
    code[0x80 - 2:0x80] = b"\xff\xd0"  # call eax
    stack_data = bytearray(0x100)
    for offset, value in words.items():
        struct.pack_into("<I", stack_data, offset, value)
    b.stream(fmt.SYSTEM_INFO, synth.system_info(arch=0))
    b.stream(fmt.MODULE_LIST, synth.module_list(b, [{"base": 0x400000, "size": 0x2000, "path": "a.exe"}]))
    ctx = synth.x86_context(eip=eip, esp=esp, ebp=ebp)
    ctx_rva = b.blob(ctx)
    memory = synth.memory_list(b, ranges or [(0x12F000, bytes(stack_data)), (0x401000, bytes(code))])
    stack_rva = next(rva for start, _size, rva in struct.iter_unpack("<QII", memory[4:]) if start == 0x12F000)
    b.stream(fmt.THREAD_LIST, synth.thread_list([(1, 0x12F000, 0x100, stack_rva, ctx_rva, len(ctx))]))
    b.stream(fmt.EXCEPTION, synth.exception_stream(1, 0xC0000005, eip, [0, 0], ctx_rva, len(ctx)))
    b.stream(fmt.MEMORY_LIST, memory)
    return Minidump(b.build())


STALE = {0xE0: 0x401050}  # a return address left over from an earlier call: a scan would take it


@pytest.mark.parametrize("outermost", [
    {0x40: 0x12F0C0, 0x44: 0x401050, 0xC0: 0, 0xC4: 0x401080},           # saved frame pointer 0
    {0x40: 0x12F0C0, 0x44: 0x401050, 0xC0: 0x12F0D0, 0xC4: 0x401080, 0xD0: 0x12F0F0, 0xD4: 0},  # return 0
])
def test_x86_walk_ends_with_the_frame_pointer_chain(outermost):
    frames = analyze(x86_dump(0x401010, 0x12F020, 0x12F040, {**outermost, **STALE})).crashing_thread.frames
    assert [(f.trust, f.pc) for f in frames] == [
        ("context", "0x00401010"), ("frame_pointer", "0x00401050"), ("frame_pointer", "0x00401080")]


def test_x86_frame_0_in_no_module_returns_to_the_address_on_top_of_the_stack():
    # A call through a bad pointer: EIP in data, the caller's return address at [esp], EBP still the caller's.
    words = {0x20: 0x401080, 0x40: 0, 0x44: 0x401050}
    frames = analyze(x86_dump(0x900000, 0x12F020, 0x12F040, words)).crashing_thread.frames
    assert [(f.trust, f.pc) for f in frames] == [
        ("context", "0x00900000"), ("scan", "0x00401080"), ("frame_pointer", "0x00401050")]


def test_overlapping_ranges_read_whole_and_the_stack_descriptor_wins():
    # The stack (listed by the thread) lies inside a larger block of other bytes: bytes past the
    # stack's end come from the block, the stack's own bytes from the stack's copy.
    stack_data = bytearray(0x100)
    struct.pack_into("<II", stack_data, 0x40, 0, 0x401050)
    block = b"\xaa" * 0x300
    dump = x86_dump(0x401010, 0x12F020, 0x12F040, {}, ranges=[(0x12EF00, block), (0x12F000, bytes(stack_data))])
    memory = read_memory(dump)
    assert memory.read(0x12F0F0, 0x20) == bytes(0x10) + b"\xaa" * 0x10
    assert memory.read_unsigned(0x12F044, 4) == 0x401050
    assert [(r.start, r.size) for r in memory] == [(0x12EF00, 0x100), (0x12F000, 0x100), (0x12F100, 0x100)]
