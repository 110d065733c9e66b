# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Name tables for the numbers a minidump holds (exception names live in ``_ntstatus``)."""

from __future__ import annotations

from .._ntstatus import FAST_FAIL
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

# Parameter 0 of STATUS_STACK_BUFFER_OVERRUN (0xC0000409): the __fastfail code (one table, in _ntstatus).
FAST_FAIL_CODES = FAST_FAIL


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
