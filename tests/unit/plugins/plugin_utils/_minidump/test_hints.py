"""The hint rules, one situation each."""

import pytest

from ansible_collections.crashdump.windows.plugins.plugin_utils._minidump import format as fmt
from ansible_collections.crashdump.windows.plugins.plugin_utils._minidump.hints import Facts, hints
from ansible_collections.crashdump.windows.plugins.plugin_utils._minidump.memory_info import MemoryInfo, Region
from ansible_collections.crashdump.windows.plugins.plugin_utils._minidump.modules import (
    Module,
    ModuleList,
    UnloadedModule,
)
from ansible_collections.crashdump.windows.plugins.plugin_utils._minidump.pe import Section

APP = Module(0x140000000, 0x20000, 0, 0, "C:\\app\\app.exe", None, None, None)
NTDLL = Module(0x7FF800000000, 0x200000, 0, 0, "C:\\Windows\\System32\\ntdll.dll", "10.0.1.1", None, None)
VERIFIER = Module(0x7FF810000000, 0x10000, 0, 0, "C:\\Windows\\System32\\verifier.dll", None, None, None)
AV = 0xC0000005
PRIVATE = 0x20000  # MEM_PRIVATE


def facts(**given):
    base = dict(code=AV, access_type=0, access_address=0x1000_0000, exception_address=APP.base + 0x1234,
                arch="x64", faulting_module=APP, image_section=None, modules=ModuleList([APP, NTDLL]),
                unloaded_modules=[], stack_start=None, memory_info=None, fast_fail=None,
                cxx_type=None)
    base.update(given)
    return Facts(**base)


def ids(f):
    return [h.id for h in hints(f)]


@pytest.mark.parametrize("given, expected", [
    (dict(access_address=0), ["null_pointer"]),
    (dict(access_address=0x18, access_type=1), ["null_pointer"]),
    (dict(access_address=0x10000), []),
    (dict(access_address=0xFFFFFFFFFFFFFFFF), ["non_canonical_address"]),
    (dict(access_address=0x4141414141414141), ["non_canonical_address"]),
    (dict(access_address=0xFFFF800000000000), []),  # canonical (kernel half)
    (dict(access_address=0x4141414141414141, arch="x86"), []),
    (dict(code=0xC00000FD), ["stack_overflow"]),
    (dict(code=0x80000001), ["guard_page"]),
    (dict(access_address=0x7FFF0, stack_start=0x80000), ["guard_page"]),
    (dict(code=0xC0000374, faulting_module=NTDLL), ["heap_corruption", "system_dll_victim"]),
    (dict(faulting_module=NTDLL, access_address=0x5000), ["null_pointer", "system_dll_victim"]),
    (dict(code=0xC0000409, fast_fail=2), ["fast_fail"]),
    (dict(code=0xE06D7363, cxx_type="std::bad_alloc"), ["cxx_exception"]),
    (dict(code=0xE0434352), ["clr_exception"]),
    (dict(code=0x80000003), ["breakpoint"]),
    (dict(code=0xC0000094), []),
    (dict(modules=ModuleList([APP, NTDLL, VERIFIER])), ["verifier"]),
])
def test_rules(given, expected):
    assert ids(facts(**given)) == expected


def test_messages_say_what_and_where():
    (null,) = hints(facts(access_address=0x18, access_type=1))
    assert "write to address 0x18" in null.message
    (ff,) = hints(facts(code=0xC0000409, fast_fail=2))
    assert ff.message.startswith("__fastfail(FAST_FAIL_STACK_COOKIE_CHECK_FAILURE): a /GS stack cookie")
    (ff,) = hints(facts(code=0xC0000409, fast_fail=7))
    assert "abort()" in ff.message
    (cxx,) = hints(facts(code=0xE06D7363, cxx_type="std::bad_alloc"))
    assert "of type std::bad_alloc" in cxx.message


def test_execute_on_a_data_section_or_a_protected_page():
    data = Section(".data", 0x3000, 0x100, 0xC0000040)
    (h,) = hints(facts(access_type=8, access_address=APP.base + 0x3010, image_section=data))
    assert h.id == "execute_non_executable" and "in the .data section of app.exe" in h.message
    info = MemoryInfo([Region(0x2000000, 0x2000000, 4, 0x1000, fmt.MEM_COMMIT, fmt.PAGE_READWRITE, PRIVATE)])
    found = hints(facts(access_type=8, access_address=0x2000010, exception_address=0x2000010, faulting_module=None,
                        memory_info=info))
    assert [h.id for h in found] == ["execute_non_executable", "outside_modules"]
    assert "(PAGE_READWRITE)" in found[0].message


def test_guard_page_after_committed_memory():
    info = MemoryInfo([
        Region(0x5000000, 0x5000000, 4, 0x2000, fmt.MEM_COMMIT, fmt.PAGE_READWRITE, PRIVATE),
        Region(0x5002000, 0x5000000, 4, 0x1000, fmt.MEM_RESERVE, fmt.PAGE_NOACCESS, PRIVATE)])
    assert ids(facts(access_address=0x5002004, memory_info=info)) == ["guard_page"]
    assert ids(facts(access_address=0x5001004, memory_info=info)) == []


def test_address_in_an_unloaded_module():
    plugin = UnloadedModule(0x180000000, 0x10000, 0, 0, "plugin.dll")
    found = hints(facts(exception_address=0x180001000, faulting_module=None, unloaded_modules=[plugin]))
    assert [h.id for h in found] == ["unloaded_module"] and "plugin.dll" in found[0].message
