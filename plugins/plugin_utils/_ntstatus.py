# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Exception codes seen in application crashes, by name (shared by triage and analysis)."""

from __future__ import annotations

NTSTATUS = {
    0x40000015: "STATUS_FATAL_APP_EXIT",
    0x80000003: "STATUS_BREAKPOINT",
    0x80000004: "STATUS_SINGLE_STEP",
    0xC0000005: "STATUS_ACCESS_VIOLATION",
    0xC0000006: "STATUS_IN_PAGE_ERROR",
    0xC0000008: "STATUS_INVALID_HANDLE",
    0xC000001D: "STATUS_ILLEGAL_INSTRUCTION",
    0xC0000022: "STATUS_ACCESS_DENIED",
    0xC0000025: "STATUS_NONCONTINUABLE_EXCEPTION",
    0xC000008C: "STATUS_ARRAY_BOUNDS_EXCEEDED",
    0xC000008E: "STATUS_FLOAT_DIVIDE_BY_ZERO",
    0xC0000094: "STATUS_INTEGER_DIVIDE_BY_ZERO",
    0xC0000095: "STATUS_INTEGER_OVERFLOW",
    0xC0000096: "STATUS_PRIVILEGED_INSTRUCTION",
    0xC00000FD: "STATUS_STACK_OVERFLOW",
    0xC0000135: "STATUS_DLL_NOT_FOUND",
    0xC0000142: "STATUS_DLL_INIT_FAILED",
    0xC000013A: "STATUS_CONTROL_C_EXIT",
    0xC000027B: "STATUS_STOWED_EXCEPTION",
    0xC0000374: "STATUS_HEAP_CORRUPTION",
    0xC0000409: "STATUS_STACK_BUFFER_OVERRUN",
    0xC0000417: "STATUS_INVALID_CRUNTIME_PARAMETER",
    0xC0000420: "STATUS_ASSERTION_FAILURE",
    0xC0000602: "STATUS_FAIL_FAST_EXCEPTION",
    0xC06D007E: "VcppException (delay-load module not found)",
    0xC06D007F: "VcppException (delay-load procedure not found)",
    0xE0434352: "CLR exception (unhandled .NET exception)",
    0xE06D7363: "C++ exception (unhandled C++ throw)",
}

# Modules that are usually the victim of corruption done elsewhere.
SYSTEM_VICTIMS = frozenset(["ntdll.dll", "kernel32.dll", "kernelbase.dll"])


def parse_hex(value):
    """An int from an int or hex text of any width, with or without (repeated) ``0x``."""
    if isinstance(value, int):
        return value
    text = str(value).strip().lower()
    while text.startswith("0x"):
        text = text[2:]
    return int(text or "0", 16)


def parse_code(value):
    """An exception code from an int, ``c0000005``, ``0xC0000005`` or ``0x0xc0000005``."""
    return parse_hex(value) & 0xFFFFFFFF


def exception_name(code):
    """The symbolic name of an exception code, or ``UNKNOWN (0x...)``."""
    code = parse_code(code)
    return NTSTATUS.get(code, "UNKNOWN (0x%08X)" % code)


# __fastfail codes (winnt.h FAST_FAIL_*): parameter 0 of a 0xC0000409 exception,
# and P9 of a BEX/BEX64 report for it.
FAST_FAIL = {
    0: "FAST_FAIL_LEGACY_GS_VIOLATION",
    1: "FAST_FAIL_VTGUARD_CHECK_FAILURE",
    2: "FAST_FAIL_STACK_COOKIE_CHECK_FAILURE",
    3: "FAST_FAIL_CORRUPT_LIST_ENTRY",
    4: "FAST_FAIL_INCORRECT_STACK",
    5: "FAST_FAIL_INVALID_ARG",
    6: "FAST_FAIL_GS_COOKIE_INIT",
    7: "FAST_FAIL_FATAL_APP_EXIT",
    8: "FAST_FAIL_RANGE_CHECK_FAILURE",
    9: "FAST_FAIL_UNSAFE_REGISTRY_ACCESS",
    10: "FAST_FAIL_GUARD_ICALL_CHECK_FAILURE",
    11: "FAST_FAIL_GUARD_WRITE_CHECK_FAILURE",
    12: "FAST_FAIL_INVALID_FIBER_SWITCH",
    13: "FAST_FAIL_INVALID_SET_OF_CONTEXT",
    14: "FAST_FAIL_INVALID_REFERENCE_COUNT",
    18: "FAST_FAIL_INVALID_JUMP_BUFFER",
    19: "FAST_FAIL_MRDATA_MODIFIED",
}


def fast_fail_name(code):
    """The FAST_FAIL_* name of a fail-fast code, or ``FAST_FAIL (n)``."""
    code = parse_hex(code)
    return FAST_FAIL.get(code, "FAST_FAIL (%d)" % code)
