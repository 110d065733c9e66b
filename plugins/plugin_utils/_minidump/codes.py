# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Name tables for the numbers a minidump holds (exception names live in ``_ntstatus``)."""

from __future__ import annotations

from . import format as fmt

CPU_ARCHITECTURES = {
    fmt.ARCH_X86: "x86", fmt.ARCH_ARM: "arm", fmt.ARCH_IA64: "ia64", fmt.ARCH_AMD64: "x64",
    fmt.ARCH_ARM64: "arm64",
}

PRODUCT_TYPES = {1: "workstation", 2: "domain_controller", 3: "server"}

# Windows Server releases by build (product type 2 or 3 on version 10.0).
_SERVER_BUILDS = [(26100, "Windows Server 2025"), (20348, "Windows Server 2022"), (17763, "Windows Server 2019"),
                  (14393, "Windows Server 2016")]
_NT6 = {
    (6, 0): ("Windows Vista", "Windows Server 2008"),
    (6, 1): ("Windows 7", "Windows Server 2008 R2"),
    (6, 2): ("Windows 8", "Windows Server 2012"),
    (6, 3): ("Windows 8.1", "Windows Server 2012 R2"),
}


def os_name(major, minor, build, product_type):
    """The marketing name of a Windows version, or None when unknown."""
    server = product_type in (2, 3)
    if (major, minor) == (10, 0):
        if server:
            return next((name for first, name in _SERVER_BUILDS if build >= first), "Windows Server")
        return "Windows 11" if build >= 22000 else "Windows 10"
    names = _NT6.get((major, minor))
    if names:
        return names[1] if server else names[0]
    return None


# Exception flags (EXCEPTION_RECORD.ExceptionFlags).
EXCEPTION_FLAGS = {
    0x1: "EXCEPTION_NONCONTINUABLE", 0x2: "EXCEPTION_UNWINDING", 0x4: "EXCEPTION_EXIT_UNWIND",
    0x8: "EXCEPTION_STACK_INVALID", 0x10: "EXCEPTION_NESTED_CALL", 0x20: "EXCEPTION_TARGET_UNWIND",
    0x40: "EXCEPTION_COLLIDED_UNWIND", 0x80: "EXCEPTION_SOFTWARE_ORIGINATE",
}

# Parameter 0 of an access violation (and of in-page errors and stack overflows).
ACCESS_TYPES = {0: "read", 1: "write", 8: "execute"}

# Parameter 0 of STATUS_STACK_BUFFER_OVERRUN (0xC0000409): the __fastfail code.
FAST_FAIL_CODES = {
    0: "FAST_FAIL_LEGACY_GS_VIOLATION", 1: "FAST_FAIL_VTGUARD_CHECK_FAILURE",
    2: "FAST_FAIL_STACK_COOKIE_CHECK_FAILURE", 3: "FAST_FAIL_CORRUPT_LIST_ENTRY", 4: "FAST_FAIL_INCORRECT_STACK",
    5: "FAST_FAIL_INVALID_ARG", 6: "FAST_FAIL_GS_COOKIE_INIT", 7: "FAST_FAIL_FATAL_APP_EXIT",
    8: "FAST_FAIL_RANGE_CHECK_FAILURE", 9: "FAST_FAIL_UNSAFE_REGISTRY_ACCESS",
    10: "FAST_FAIL_GUARD_ICALL_CHECK_FAILURE", 11: "FAST_FAIL_GUARD_WRITE_CHECK_FAILURE",
    12: "FAST_FAIL_INVALID_FIBER_SWITCH", 13: "FAST_FAIL_INVALID_SET_OF_CONTEXT",
    14: "FAST_FAIL_INVALID_REFERENCE_COUNT", 18: "FAST_FAIL_INVALID_JUMP_BUFFER", 19: "FAST_FAIL_MRDATA_MODIFIED",
    20: "FAST_FAIL_CERTIFICATION_FAILURE", 21: "FAST_FAIL_INVALID_EXCEPTION_CHAIN",
    22: "FAST_FAIL_CRYPTO_LIBRARY", 23: "FAST_FAIL_INVALID_CALL_IN_DLL_CALLOUT",
    24: "FAST_FAIL_INVALID_IMAGE_BASE", 25: "FAST_FAIL_DLOAD_PROTECTION_FAILURE",
    26: "FAST_FAIL_UNSAFE_EXTENSION_CALL", 27: "FAST_FAIL_DEPRECATED_SERVICE_INVOKED",
    28: "FAST_FAIL_INVALID_BUFFER_ACCESS", 29: "FAST_FAIL_INVALID_BALANCED_TREE",
    30: "FAST_FAIL_INVALID_NEXT_THREAD", 31: "FAST_FAIL_GUARD_ICALL_CHECK_SUPPRESSED",
    32: "FAST_FAIL_APCS_DISABLED", 33: "FAST_FAIL_INVALID_IDLE_STATE", 34: "FAST_FAIL_MRDATA_PROTECTION_FAILURE",
    35: "FAST_FAIL_UNEXPECTED_HEAP_EXCEPTION", 36: "FAST_FAIL_INVALID_LOCK_STATE",
    37: "FAST_FAIL_GUARD_JUMPTABLE", 38: "FAST_FAIL_INVALID_LONGJUMP_TARGET",
    39: "FAST_FAIL_INVALID_DISPATCH_CONTEXT", 40: "FAST_FAIL_INVALID_THREAD",
    41: "FAST_FAIL_INVALID_SYSCALL_NUMBER", 42: "FAST_FAIL_INVALID_FILE_OPERATION",
    43: "FAST_FAIL_LPAC_ACCESS_DENIED", 44: "FAST_FAIL_GUARD_SS_FAILURE",
    45: "FAST_FAIL_LOADER_CONTINUITY_FAILURE", 46: "FAST_FAIL_GUARD_EXPORT_SUPPRESSION_FAILURE",
    47: "FAST_FAIL_INVALID_CONTROL_STACK", 48: "FAST_FAIL_SET_CONTEXT_DENIED", 49: "FAST_FAIL_INVALID_IAT",
    50: "FAST_FAIL_HEAP_METADATA_CORRUPTION", 51: "FAST_FAIL_PAYLOAD_RESTRICTION_VIOLATION",
    52: "FAST_FAIL_LOW_LABEL_ACCESS_DENIED", 53: "FAST_FAIL_ENCLAVE_CALL_FAILURE",
    54: "FAST_FAIL_UNHANDLED_LSS_EXCEPTON", 55: "FAST_FAIL_ADMINLESS_ACCESS_DENIED",
    56: "FAST_FAIL_UNEXPECTED_CALL", 57: "FAST_FAIL_CONTROL_INVALID_RETURN_ADDRESS",
    58: "FAST_FAIL_UNEXPECTED_HOST_BEHAVIOR", 59: "FAST_FAIL_FLAGS_CORRUPTION", 60: "FAST_FAIL_VEH_CORRUPTION",
    61: "FAST_FAIL_ETW_CORRUPTION", 62: "FAST_FAIL_RIO_ABORT", 63: "FAST_FAIL_INVALID_PFN",
    64: "FAST_FAIL_GUARD_ICALL_CHECK_FAILURE_XFG", 65: "FAST_FAIL_CAST_GUARD",
    66: "FAST_FAIL_HOST_VISIBILITY_CHANGE", 67: "FAST_FAIL_KERNEL_CET_SHADOW_STACK_ASSIST",
    68: "FAST_FAIL_PATCH_CALLBACK_FAILED", 69: "FAST_FAIL_NTDLL_PATCH_FAILED", 70: "FAST_FAIL_INVALID_FLS_DATA",
    0xFFFFFFFF: "FAST_FAIL_INVALID_FAST_FAIL_CODE",
}


def fast_fail_name(code):
    return FAST_FAIL_CODES.get(code, "FAST_FAIL_UNKNOWN (%d)" % code)


def flag_names(value, table):
    """The names of the bits set in ``value``; unknown bits as one hex entry."""
    names = [name for bit, name in sorted(table.items()) if value & bit]
    rest = value & ~sum(table)
    if rest:
        names.append("0x%x" % rest)
    return names


# Memory protection names (the low byte is one of these; modifiers are bits).
PROTECTIONS = {
    fmt.PAGE_NOACCESS: "PAGE_NOACCESS", fmt.PAGE_READONLY: "PAGE_READONLY", fmt.PAGE_READWRITE: "PAGE_READWRITE",
    fmt.PAGE_WRITECOPY: "PAGE_WRITECOPY", fmt.PAGE_EXECUTE: "PAGE_EXECUTE",
    fmt.PAGE_EXECUTE_READ: "PAGE_EXECUTE_READ", fmt.PAGE_EXECUTE_READWRITE: "PAGE_EXECUTE_READWRITE",
    fmt.PAGE_EXECUTE_WRITECOPY: "PAGE_EXECUTE_WRITECOPY", fmt.PAGE_GUARD: "PAGE_GUARD",
    0x200: "PAGE_NOCACHE", 0x400: "PAGE_WRITECOMBINE",
}

# Process integrity levels (MiscInfo 3, the RID of the mandatory label).
INTEGRITY_LEVELS = {0x0: "untrusted", 0x1000: "low", 0x2000: "medium", 0x2100: "medium_plus", 0x3000: "high",
                    0x4000: "system", 0x5000: "protected_process"}

# Modules whose presence means Application Verifier or full page heap
# (verifier.dll hosts the page heap; vf*/vrf* are Application Verifier layers).
VERIFIER_MODULES = ("verifier.dll", "vrfcore.dll", "vfbasics.dll", "vfcompat.dll", "vfluapriv.dll",
                    "vfprint.dll", "vfnet.dll", "vfntlmless.dll", "vfnws.dll", "vfcuzz.dll")
