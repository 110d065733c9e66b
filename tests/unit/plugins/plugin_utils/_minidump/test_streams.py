"""One stream module at a time, on synthetic dumps: what each parses, and what it refuses."""

import struct
import uuid

import minidump_synth as synth
import pytest

from ansible_collections.crashdump.windows.plugins.plugin_utils._minidump import format as fmt
from ansible_collections.crashdump.windows.plugins.plugin_utils._minidump.context import parse_context
from ansible_collections.crashdump.windows.plugins.plugin_utils._minidump.errors import MinidumpError
from ansible_collections.crashdump.windows.plugins.plugin_utils._minidump.exception import read_exception
from ansible_collections.crashdump.windows.plugins.plugin_utils._minidump.handles import read_handles
from ansible_collections.crashdump.windows.plugins.plugin_utils._minidump.memory import read_memory
from ansible_collections.crashdump.windows.plugins.plugin_utils._minidump.memory_info import read_memory_info
from ansible_collections.crashdump.windows.plugins.plugin_utils._minidump.misc_info import read_misc_info
from ansible_collections.crashdump.windows.plugins.plugin_utils._minidump.modules import (
    read_modules,
    read_unloaded_modules,
)
from ansible_collections.crashdump.windows.plugins.plugin_utils._minidump.reader import Minidump
from ansible_collections.crashdump.windows.plugins.plugin_utils._minidump.system_info import read_system_info
from ansible_collections.crashdump.windows.plugins.plugin_utils._minidump.threads import (
    read_thread_infos,
    read_thread_names,
    read_threads,
)

PRIVATE = 0x20000  # MEM_PRIVATE


def dump_with(*streams, builder=None):
    b = builder or synth.Builder()
    for kind, payload in streams:
        b.stream(kind, payload)
    return Minidump(b.build())


def test_absent_streams_read_as_nothing():
    dump = dump_with()
    assert read_system_info(dump) is None and read_misc_info(dump) is None and read_exception(dump) is None
    assert read_handles(dump) is None and read_memory_info(dump) is None
    assert read_threads(dump) == [] and read_unloaded_modules(dump) == [] and len(read_modules(dump)) == 0
    assert read_thread_infos(dump) == {} and read_thread_names(dump) == {}
    assert len(read_memory(dump)) == 0


def test_system_info_with_service_pack_and_wine_block():
    b = synth.Builder()
    csd = b.string("Service Pack 1")
    info = synth.system_info(major=6, minor=1, build=7601, product_type=1, csd_rva=csd)
    wine = b"WINE" + struct.pack("<IIII", 3, 16, 16 + 7, 16 + 7 + 6) + b"wine-8\0Linux\0" + b"6.1\0"
    b.stream(fmt.SYSTEM_INFO, info)
    b.blob(wine)  # Wine writes its block right after the structure
    s = read_system_info(Minidump(b.build()))
    assert (s.major_version, s.minor_version, s.build_number, s.csd_version) == (6, 1, 7601, "Service Pack 1")
    assert s.cpu_vendor == "GenuineIntel" and s.cpu_signature == 0x000906EA
    assert s.wine == {"build": "wine-8", "host": "Linux 6.1"}


def test_system_info_other_cpu_info_is_no_vendor():
    s = read_system_info(dump_with((fmt.SYSTEM_INFO, synth.system_info(vendor=b"\x01\x02junk\xff\0\0\0\0\0"))))
    assert s.cpu_vendor is None and s.cpu_signature is None and s.wine is None
    s = read_system_info(dump_with((fmt.SYSTEM_INFO, synth.system_info(arch=12))))
    assert s.architecture == 12 and s.cpu_vendor is None


def test_system_info_with_a_bad_service_pack_string_warns():
    dump = dump_with((fmt.SYSTEM_INFO, synth.system_info(csd_rva=0x7FFFFF)))
    assert read_system_info(dump).csd_version == ""
    assert "service pack name" in dump.warnings[0]


@pytest.mark.parametrize("size", [24, 44, 232, 832])
def test_misc_info_versions(size):
    data = bytearray(size)
    flags = 0x3 | (0x10 | 0x20 if size >= 232 else 0) | (0x100 if size >= 832 else 0)
    struct.pack_into("<6I", data, 0, size, flags, 4416, 1764064700, 3, 1)
    if size >= 232:
        struct.pack_into("<III", data, 44, 0x2000, 0x33, 0)
    if size >= 832:
        build = "20348.1.amd64fre.fe_release.210507-1500".encode("utf-16-le")
        data[232:232 + len(build)] = build
    m = read_misc_info(dump_with((fmt.MISC_INFO, bytes(data))))
    assert (m.process_id, m.create_time, m.user_time, m.kernel_time) == (4416, 1764064700, 3, 1)
    assert m.integrity_level == (0x2000 if size >= 232 else None)
    assert m.execute_flags == (0x33 if size >= 232 else None)
    assert m.protected_process is None
    assert m.build_string == ("20348.1.amd64fre.fe_release.210507-1500" if size >= 832 else None)


def test_misc_info_without_flags_has_no_values():
    m = read_misc_info(dump_with((fmt.MISC_INFO, synth.misc_info(flags=0))))
    assert (m.process_id, m.create_time, m.user_time) == (None, None, None)


def test_modules_versions_and_codeview():
    b = synth.Builder()
    guid = uuid.UUID("6b9b8b3c-1d2e-4f50-8a9b-0c1d2e3f4a5b")
    nb10 = b"NB10" + struct.pack("<III", 0, 0x3E1A2B3C, 2) + b"old.pdb\0"
    payload = synth.module_list(b, [
        {"base": 0x140000000, "size": 0x20000, "path": "C:\\app\\app.exe", "version": (1, 2, 3, 4),
         "timestamp": 0x5F3A1B2C, "cv": synth.rsds(guid, 3, "C:\\build\\app.pdb")},
        {"base": 0x7FF800000000, "size": 0x1000, "path": "/usr/lib/libx.so", "cv": nb10},
        {"base": 0x7FF900000000, "size": 0x1000, "path": "plain.dll", "cv": b"XXXXjunk"},
    ])
    modules = read_modules(dump_with((fmt.MODULE_LIST, payload), builder=b))
    app, libx, plain = modules
    assert app.name == "app.exe" and app.file_version == app.product_version == "1.2.3.4"
    assert app.codeview.pdb_name == "C:\\build\\app.pdb" and app.codeview.age == 3
    assert app.codeview.guid == "6B9B8B3C-1D2E-4F50-8A9B-0C1D2E3F4A5B"
    assert app.codeview.debug_id == "6B9B8B3C1D2E4F508A9B0C1D2E3F4A5B3"
    assert app.code_id == "5F3A1B2C20000"
    assert libx.name == "libx.so" and libx.file_version is None
    assert libx.codeview.guid is None and libx.codeview.debug_id == "3E1A2B3C2"
    assert plain.codeview is None
    assert modules.find(0x140000000) is app and modules.find(0x14001FFFF) is app
    assert modules.find(0x140020000) is None and modules.find(0x1000) is None


def test_module_list_count_must_fit():
    with pytest.raises(MinidumpError, match="ModuleList stream claims 3 entries"):
        read_modules(dump_with((fmt.MODULE_LIST, struct.pack("<I", 3) + b"\0" * 108)))


def test_unloaded_modules():
    b = synth.Builder()
    payload = synth.unloaded_module_list(b, [{"base": 0x10000000, "size": 0x5000, "path": "C:\\x\\plugin.dll",
                                              "timestamp": 7}])
    (unloaded,) = read_unloaded_modules(dump_with((fmt.UNLOADED_MODULE_LIST, payload), builder=b))
    assert (unloaded.name, unloaded.base, unloaded.size, unloaded.timestamp) == ("plugin.dll", 0x10000000, 0x5000, 7)


def test_thread_list_and_thread_ex_list():
    threads = [(7, 0x1000, 0x100, 0x200, 0x300, 1232)]
    (t,) = read_threads(dump_with((fmt.THREAD_LIST, synth.thread_list(threads))))
    assert (t.id, t.stack_start, t.stack_size, t.stack_rva, t.context_rva, t.context_size) == (
        7, 0x1000, 0x100, 0x200, 0x300, 1232)
    ex = struct.pack("<I", 1) + struct.pack("<IIIIQQIIIIQII", 9, 0, 0, 0, 0, 0x2000, 0x10, 0x40, 716, 0x50, 0, 0, 0)
    (t,) = read_threads(dump_with((fmt.THREAD_EX_LIST, ex)))
    assert (t.id, t.stack_start, t.context_size) == (9, 0x2000, 716)


def test_thread_info_and_names():
    b = synth.Builder()
    info = struct.pack("<III", 12, 64, 1) + struct.pack("<IIIIQQQQQQ", 7, 0, 0, 259, 133_000_000_000_000_000, 0, 5,
                                                        6, 0x1400, 1)
    name = b.string("worker")
    names = struct.pack("<I", 1) + struct.pack("<IQ", 7, name)
    dump = dump_with((fmt.THREAD_INFO_LIST, info), (fmt.THREAD_NAMES, names), builder=b)
    assert read_thread_infos(dump)[7].start_address == 0x1400
    assert read_thread_names(dump) == {7: "worker"}


def test_exception_parameters_are_clamped_to_fifteen():
    stream = synth.exception_stream(5, 0xC0000005, 0x1234, [1, 2], 0, 0, count=99)
    e = read_exception(dump_with((fmt.EXCEPTION, stream)))
    assert e.declared_parameters == 99 and len(e.parameters) == 15 and e.parameters[:3] == (1, 2, 0)


def test_memory_list_and_memory64_list_read_across_ranges():
    b = synth.Builder()
    mem = synth.memory_list(b, [(0x1000, b"A" * 16)])
    mem64 = synth.memory64_list(b, [(0x2000, b"B" * 8), (0x2008, b"C" * 8), (0x9000, b"D" * 4)])
    memory = read_memory(dump_with((fmt.MEMORY_LIST, mem), (fmt.MEMORY64_LIST, mem64), builder=b))
    assert len(memory) == 4 and memory.total_bytes == 36
    assert [r.start for r in memory] == [0x1000, 0x2000, 0x2008, 0x9000]
    assert memory.read(0x1004, 4) == b"AAAA"
    assert memory.read(0x2006, 4) == b"BBCC"  # spans two adjacent ranges
    assert memory.read(0x9002, 4) is None  # runs past the range
    assert memory.read(0x5000, 1) is None and memory.read(-1, 1) is None
    assert memory.read_unsigned(0x9000, 4) == 0x44444444
    assert memory.range_at(0x2008).start == 0x2008 and memory.range_at(0x2010) is None


def test_memory_cut_short_by_the_end_of_the_file_is_clipped():
    b = synth.Builder()
    mem64 = bytearray(synth.memory64_list(b, [(0x2000, b"B" * 8)]))
    struct.pack_into("<Q", mem64, 24, 0x100000)  # claims a megabyte
    memory = read_memory(dump_with((fmt.MEMORY64_LIST, bytes(mem64)), builder=b))
    assert memory.clipped == 1 and memory.read(0x2000, 8) is not None


def test_memory64_count_must_fit():
    with pytest.raises(MinidumpError, match="Memory64List stream claims 5 ranges"):
        read_memory(dump_with((fmt.MEMORY64_LIST, struct.pack("<QQ", 5, 0))))


def test_memory_info_list():
    entries = [(0x10000, 0x10000, 0x04, 0, 0x1000, fmt.MEM_COMMIT, 0x04, PRIVATE, 0),
               (0x11000, 0x10000, 0x04, 0, 0x1000, fmt.MEM_RESERVE, 0x01, PRIVATE, 0)]
    payload = struct.pack("<IIQ", 16, 48, 2) + b"".join(struct.pack("<QQIIQIIII", *e) for e in entries)
    info = read_memory_info(dump_with((fmt.MEMORY_INFO_LIST, payload)))
    assert info.region_at(0x11800).state == fmt.MEM_RESERVE
    assert info.region_at(0x12000) is None
    with pytest.raises(MinidumpError, match="MemoryInfoList stream claims 9 regions"):
        read_memory_info(dump_with((fmt.MEMORY_INFO_LIST, struct.pack("<IIQ", 16, 48, 9))))


def test_handle_counts_by_type():
    b = synth.Builder()
    event, file = b.string("Event"), b.string("File")
    descriptors = [(4, event), (8, event), (12, file), (16, 0)]
    payload = struct.pack("<IIII", 16, 40, len(descriptors), 0) + b"".join(
        struct.pack("<QIIIIIIII", h, t, 0, 0, 0, 1, 1, 0, 0) for h, t in descriptors)
    handles = read_handles(dump_with((fmt.HANDLE_DATA, payload), builder=b))
    assert handles.count == 4 and handles.by_type == {"": 1, "Event": 2, "File": 1}
    with pytest.raises(MinidumpError, match="descriptor size 8"):
        read_handles(dump_with((fmt.HANDLE_DATA, struct.pack("<IIII", 16, 8, 0, 0))))


@pytest.mark.parametrize("raw, arch, expected", [
    (synth.amd64_context(rip=0x1234, rsp=0x5000, rbp=7, r15=15), 9,
     {"arch": "x64", "pc": 0x1234, "sp": 0x5000, "rbp": 7, "r15": 15}),
    (synth.x86_context(eip=0x401000, esp=0x12FF00, ebp=0x12FF40), 0,
     {"arch": "x86", "pc": 0x401000, "sp": 0x12FF00, "ebp": 0x12FF40}),
    (synth.x86_context(eip=0x401000, esp=0x12FF00)[:204], 9, {"arch": "x86", "pc": 0x401000, "sp": 0x12FF00}),
    (synth.arm64_context(pc=0x7FF600001000, sp=0x1000, fp=0x1040, lr=0x7FF600002000), 12,
     {"arch": "arm64", "pc": 0x7FF600001000, "sp": 0x1000, "fp": 0x1040, "lr": 0x7FF600002000}),
])
def test_contexts(raw, arch, expected):
    context = parse_context(raw, arch)
    assert context.arch == expected.pop("arch")
    assert (context.pc, context.sp) == (expected.pop("pc"), expected.pop("sp"))
    assert all(context.registers[k] == v for k, v in expected.items())


@pytest.mark.parametrize("size, arch, message", [(100, 9, "too short"), (300, 6, "not supported"),
                                                 (500, 12, "too short")])
def test_bad_contexts(size, arch, message):
    with pytest.raises(MinidumpError, match=message):
        parse_context(b"\0" * size, arch)
