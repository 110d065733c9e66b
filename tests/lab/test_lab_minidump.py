"""The lab's minidumps read back with an independent struct-based reader."""

from __future__ import annotations

import datetime as dt
import zlib

import pytest
from mdmp_reader import Dump

from crashdump_lab import crashinfo, defaults, minidump

WHEN = dt.datetime(2026, 11, 25, 10, 0, 0, tzinfo=dt.timezone.utc)
START = WHEN - dt.timedelta(seconds=42)


def _crash(arch="AMD64", code=0xC0000005, module=None, page_heap=False, host="lab-win2022"):
    state = defaults.default_state(host, arch)
    return crashinfo.build(state, "netsh.exe", "C:\\Windows\\System32\\netsh.exe", 4416, START, WHEN, code,
                           module=module, page_heap=page_heap)


@pytest.mark.parametrize("arch, code, ctx_size", [("AMD64", 9, 1232), ("x86", 0, 716), ("ARM64", 12, 912)])
def test_mini_dump_streams(arch, code, ctx_size):
    crash = _crash(arch)
    dump = Dump(minidump.build_minidump(crash, flags=0))

    assert dump.flags == 0 and dump.time_stamp == int(WHEN.timestamp())
    assert set(dump.streams) == {3, 4, 5, 6, 7, 15}
    si = dump.system_info
    assert (si["arch"], si["major"], si["minor"], si["build"], si["platform"]) == (code, 10, 0, 20348, 2)
    assert si["product_type"] == 3 and si["csd"] == ""

    thread = dump.threads[0]
    assert len(dump.threads) == 1 and thread["tid"] == crash.tid == dump.exception["tid"]
    assert len(thread["context"]) == ctx_size
    assert dump.instruction_pointer(code) == crash.address == dump.exception["address"]
    sp = dump.stack_pointer(code)
    assert thread["stack_start"] <= sp < thread["stack_start"] + thread["stack_size"]
    stack = dump.read_memory(thread["stack_start"], thread["stack_size"])
    assert stack is not None and len(stack) == 0x2000 and len(set(stack)) > 200
    assert dump.data[thread["stack_rva"]:thread["stack_rva"] + 0x2000] == stack

    names = [m["name"].rsplit("\\", 1)[1] for m in dump.modules]
    assert names == ["netsh.exe", "ntdll.dll", "kernel32.dll", "KERNELBASE.dll", "ucrtbase.dll"]
    assert dump.modules[0]["name"] == "C:\\Windows\\System32\\netsh.exe"
    for written, module in zip(dump.modules, crash.modules):
        assert written["ffi_signature"] == 0xFEEF04BD
        assert written["version"] == (10, 0, 20348, 1)
        assert (written["base"], written["size"], written["time_stamp"]) == (
            module.base, module.size, module.timestamp)
        assert written["pdb_guid"] == module.pdb_guid and written["pdb_age"] == 1
        assert written["pdb_name"] == module.name.rsplit(".", 1)[0] + ".pdb"
    ends = sorted((m["base"], m["base"] + m["size"]) for m in dump.modules)
    assert all(a[1] <= b[0] for a, b in zip(ends, ends[1:])), "modules overlap"

    exc = dump.exception
    assert exc["code"] == 0xC0000005 and exc["flags"] == 0 and exc["params"] == [0, 0]
    assert exc["context"] == thread["context"]
    assert dump.module_at(exc["address"])["name"].endswith("netsh.exe")

    assert dump.misc == {"size": 24, "flags": 3, "pid": 4416, "create_time": int(START.timestamp())}


def test_full_dump_memory64_holds_stack_and_module_images():
    crash = _crash()
    data = minidump.build_minidump(crash, flags=minidump.WITH_FULL_MEMORY, full_size=600_000)
    dump = Dump(data)
    assert set(dump.streams) == {3, 4, 6, 7, 9, 15} and dump.flags == 0x2
    assert 450_000 < len(data) < 700_000
    thread = dump.threads[0]
    assert dump.read_memory(thread["stack_start"], thread["stack_size"]) == \
        dump.data[thread["stack_rva"]:thread["stack_rva"] + thread["stack_size"]]
    for module in dump.modules:
        head = dump.read_memory(module["base"], 0x200)
        assert head[:2] == b"MZ" and head[0x100:0x104] == b"PE\0\0"
        assert int.from_bytes(head[0x108:0x10C], "little") == module["time_stamp"]
    # Compressible like real memory, so tests that move dumps around stay cheap.
    assert len(zlib.compress(data, 1)) < len(data) // 4


def test_full_dump_size_parameter():
    small = minidump.build_minidump(_crash(), flags=0x2, full_size=300_000)
    large = minidump.build_minidump(_crash(), flags=0x2, full_size=3_000_000)
    assert len(small) < 400_000 < 2_500_000 < len(large)


def test_faulting_module_contains_the_exception_address():
    crash = _crash(module="KERNELBASE.dll", code=0xE06D7363)
    dump = Dump(minidump.build_minidump(crash))
    assert dump.module_at(dump.exception["address"])["name"].endswith("KERNELBASE.dll")
    assert crash.faulting.name == "KERNELBASE.dll"


def test_unknown_faulting_module_is_loaded_beside_the_image():
    crash = _crash(module="plugin.dll")
    dump = Dump(minidump.build_minidump(crash))
    assert dump.module_at(dump.exception["address"])["name"] == "C:\\Windows\\System32\\plugin.dll"


def test_page_heap_loads_verifier():
    dump = Dump(minidump.build_minidump(_crash(page_heap=True)))
    assert [m["name"].rsplit("\\", 1)[1] for m in dump.modules][:3] == ["netsh.exe", "ntdll.dll", "verifier.dll"]


def test_exception_parameters_per_code():
    assert Dump(minidump.build_minidump(_crash(code=0xC0000409))).exception["params"] == [2]
    heap = Dump(minidump.build_minidump(_crash(code=0xC0000374))).exception
    assert heap["flags"] == 1 and len(heap["params"]) == 1
    assert Dump(minidump.build_minidump(_crash(code=0xC0000094))).exception["params"] == []


def test_deterministic_and_host_specific():
    assert minidump.build_minidump(_crash()) == minidump.build_minidump(_crash())
    assert minidump.build_minidump(_crash()) != minidump.build_minidump(_crash(host="lab-other"))
