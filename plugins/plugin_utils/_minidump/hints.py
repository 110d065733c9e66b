# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hints: what the facts of a crash suggest, in the words an engineer would use.

Each rule looks at the facts gathered by the analysis (``Facts``) and may
return one Hint. Rules are heuristics, and say so when they guess.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import _signature
from . import codes
from . import format as fmt
from .result import Hint

ACCESS_VIOLATION = 0xC0000005
IN_PAGE_ERROR = 0xC0000006
STACK_OVERFLOW = 0xC00000FD
HEAP_CORRUPTION = 0xC0000374
STACK_BUFFER_OVERRUN = 0xC0000409
GUARD_PAGE_VIOLATION = 0x80000001
BREAKPOINT = 0x80000003
CLR_EXCEPTION = 0xE0434352
NULL_REGION = 0x10000  # Windows never maps the first 64 KB
PAGE = 0x1000
STACK_GUARD_REACH = 0x10000  # how far below a stack an access still counts as hitting its guard


@dataclass
class Facts:
    """What the rules look at; any of it may be None."""

    code: int | None
    access_type: int | None
    access_address: int | None
    exception_address: int | None
    arch: str | None
    faulting_module: object  # a modules.Module
    image_section: object  # the pe.Section holding the exception address, when the image is in the dump
    modules: object  # a modules.ModuleList
    unloaded_modules: list
    stack_start: int | None  # the lowest address of the thread's stack in the dump (its pointer at the time)
    memory_info: object  # a memory_info.MemoryInfo
    fast_fail: int | None
    cxx_type: str | None
    accessed_address: int | None = None  # what the faulting instruction's operands point at, when decoded


def _null_pointer(f):
    if f.code in (ACCESS_VIOLATION, IN_PAGE_ERROR) and f.access_address is not None \
            and f.access_address < NULL_REGION and f.access_type in codes.ACCESS_TYPES:
        verb = {"read": "read from", "write": "write to", "execute": "call to"}[codes.ACCESS_TYPES[f.access_type]]
        return Hint("null_pointer", "a %s address 0x%x, in the first 64 KB that is never mapped: a null pointer (or "
                                    "a null pointer plus a field offset) was dereferenced" % (verb, f.access_address))
    return None


def _non_canonical(f):
    if f.code != ACCESS_VIOLATION or f.arch not in ("x64", "arm64") or f.access_address is None:
        return None
    top = f.access_address >> 47
    if f.access_address == 0xFFFFFFFFFFFFFFFF or top not in (0, 0x1FFFF):
        kind = codes.ACCESS_TYPES.get(f.access_type, "access")
        where = "Windows reports 0xffffffffffffffff for those"
        if f.accessed_address is not None and f.accessed_address != f.access_address:
            where = "0x%x by the faulting instruction's operands; %s" % (f.accessed_address, where)
        return Hint("non_canonical_address",
                    "the %s was to a non-canonical address (%s): a garbage pointer, such as one read from freed or "
                    "overwritten memory, was dereferenced" % (kind, where))
    return None


def _stack_overflow(f):
    if f.code == STACK_OVERFLOW:
        return Hint("stack_overflow", "the thread ran out of stack: look for unbounded recursion (the same frames "
                                      "repeating) or very large local variables")
    return None


def _guard_page(f):
    if f.code == GUARD_PAGE_VIOLATION:
        return Hint("guard_page", "a guard page was touched (STATUS_GUARD_PAGE_VIOLATION)")
    if f.code != ACCESS_VIOLATION or f.access_address is None:
        return None
    address = f.access_address
    if f.stack_start is not None and f.stack_start - STACK_GUARD_REACH <= address < f.stack_start:
        return Hint("guard_page", "the access at 0x%x is just below the thread's stack: likely its guard page, so "
                                  "a stack overflow or a stack buffer underrun" % address)
    if f.memory_info is None:
        return None
    region = f.memory_info.region_at(address)
    below = f.memory_info.region_at(address - PAGE) if address >= PAGE else None
    inaccessible = region is not None and (region.state == fmt.MEM_RESERVE
                                           or region.protect & (fmt.PAGE_GUARD | fmt.PAGE_NOACCESS))
    if inaccessible and below is not None and below.state == fmt.MEM_COMMIT and address - region.base < PAGE:
        return Hint("guard_page", "the access at 0x%x is in an inaccessible page right after committed memory: "
                                  "likely a buffer overrun into a guard page (page heap puts one after every "
                                  "allocation)" % address)
    return None


def _execute_non_executable(f):
    if f.code != ACCESS_VIOLATION or f.access_type != 8:
        return None
    where = "at 0x%x" % f.access_address if f.access_address is not None else "there"
    if f.image_section is not None and not f.image_section.executable:
        where += ", in the %s section of %s" % (f.image_section.name, f.faulting_module.name)
    elif f.memory_info is not None and f.access_address is not None:
        region = f.memory_info.region_at(f.access_address)
        if region is not None:
            where += " (%s)" % "|".join(codes.flag_names(region.protect, codes.PROTECTIONS))
    return Hint("execute_non_executable", "the CPU was made to execute memory that is not executable (DEP) %s: a "
                                          "corrupt function pointer, return address or vtable" % where)


def _outside_modules(f):
    if f.exception_address is None or f.faulting_module is not None or not len(f.modules):
        return None
    for module in f.unloaded_modules:
        if module.base <= f.exception_address < module.base + module.size:
            return Hint("unloaded_module", "the exception address 0x%x lies in %s, which had been unloaded: code "
                                           "called into a DLL after FreeLibrary" % (f.exception_address, module.name))
    return Hint("outside_modules", "the exception address 0x%x is in no loaded module: a call through a corrupt "
                                   "function pointer, a return to a smashed stack, or generated code"
                % f.exception_address)


def _verifier(f):
    loaded = sorted({m.name for m in f.modules if m.name.lower() in codes.VERIFIER_MODULES})
    if loaded:
        return Hint("verifier", "%s loaded: page heap (GFlags hpa) or Application Verifier is active, so heap "
                                "misuse is caught where it happens" % ", ".join(loaded))
    return None


def _victim(f):
    if f.faulting_module is not None and _signature.is_victim_module(f.faulting_module.name):
        text = ("the faulting module %s is a system DLL: it is usually the victim, not the culprit; the cause is "
                "in the caller frames below it" % f.faulting_module.name)
        if f.code in (ACCESS_VIOLATION, HEAP_CORRUPTION):
            text += ", or is heap corruption done earlier: enable page heap (crashdump.windows.gflags) and " \
                    "reproduce"
        return Hint("system_dll_victim", text)
    return None


def _heap_corruption(f):
    if f.code == HEAP_CORRUPTION:
        return Hint("heap_corruption", "the heap manager found its data corrupt (double free, use after free or "
                                       "a buffer overrun); enable page heap (crashdump.windows.gflags) to stop at "
                                       "the first bad write")
    return None


def _fast_fail(f):
    if f.code != STACK_BUFFER_OVERRUN or f.fast_fail is None:
        return None
    name = codes.fast_fail_name(f.fast_fail)
    if f.fast_fail in (0, 2):
        what = "a /GS stack cookie was overwritten: a stack buffer overrun in the crashing function"
    elif f.fast_fail == 7:
        what = "abort() or another fatal application exit"
    elif f.fast_fail == 3:
        what = "a corrupt linked list entry: usually heap or memory corruption"
    else:
        what = "the code detected an unrecoverable state and terminated itself"
    return Hint("fast_fail", "__fastfail(%s): %s; no exception handler ran" % (name, what))


def _cxx(f):
    if f.code == fmt.CXX_EXCEPTION_CODE:
        thrown = "of type %s " % f.cxx_type if f.cxx_type else ""
        return Hint("cxx_exception", "an unhandled C++ exception %swas thrown; the faulting module is where it was "
                                     "raised (RaiseException): the thrower is in the frames below" % thrown)
    if f.code == CLR_EXCEPTION:
        return Hint("clr_exception", "an unhandled .NET exception: Event 1026 (.NET Runtime) has its type and "
                                     "stack")
    return None


def _breakpoint(f):
    if f.code == BREAKPOINT:
        return Hint("breakpoint", "a breakpoint (__debugbreak, DebugBreak or an assertion) was hit with no "
                                  "debugger attached")
    return None


RULES = (_null_pointer, _non_canonical, _stack_overflow, _guard_page, _execute_non_executable, _outside_modules,
         _heap_corruption, _fast_fail, _cxx, _breakpoint, _victim, _verifier)


def hints(facts):
    """The hints that apply, in a fixed order."""
    return [h for h in (rule(facts) for rule in RULES) if h is not None]
