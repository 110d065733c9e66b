"""The reader: header and directory checks, unknown streams, bounds-checked reads, the one error class."""

import struct

import minidump_synth as synth
import pytest

from ansible_collections.crashdump.windows.plugins.plugin_utils._minidump import format as fmt
from ansible_collections.crashdump.windows.plugins.plugin_utils._minidump.errors import MinidumpError
from ansible_collections.crashdump.windows.plugins.plugin_utils._minidump.reader import Minidump


def small_dump():
    b = synth.Builder(flags=0x2)
    b.stream(fmt.SYSTEM_INFO, synth.system_info())
    b.stream(fmt.MISC_INFO, synth.misc_info())
    b.stream(0xFFF0, b"private vendor data")
    return b.build(extra_entries=[(0, 0, 0)])


def test_header_and_directory():
    dump = Minidump(small_dump(), name="small")
    assert (dump.flags, dump.timestamp, dump.version & 0xFFFF) == (0x2, 1764064800, 0xA793)
    assert [s.name for s in dump.directory] == ["SystemInfo", "MiscInfo", "0xfff0", "Unused"]
    assert [s.type for s in dump.unknown_streams()] == [0xFFF0]
    assert dump.stream(fmt.THREAD_LIST) is None
    assert dump.warnings == []


def test_open_maps_the_file(tmp_path):
    path = tmp_path / "x.dmp"
    path.write_bytes(small_dump())
    with Minidump.open(path) as dump:
        assert dump.size == path.stat().st_size
        assert dump.read(0, 4, "signature") == b"MDMP"


def test_duplicate_streams_keep_the_first_and_warn():
    b = synth.Builder()
    b.stream(fmt.MISC_INFO, synth.misc_info(pid=1))
    b.stream(fmt.MISC_INFO, synth.misc_info(pid=2))
    dump = Minidump(b.build())
    assert dump.stream(fmt.MISC_INFO).index == 0
    assert dump.warnings == ["duplicate MiscInfo stream (directory entry 1) ignored"]


@pytest.mark.parametrize("data, message", [
    (b"", "too short"),
    (b"MDMP" + b"\0" * 10, "too short"),
    (b"PAGEDU64" + b"\0" * 100, "not a minidump (signature b'PAGE'"),
    (struct.pack("<IIIIIIQ", 0x504D444D, 0xA792, 0, 32, 0, 0, 0), "unknown minidump version 0xa792"),
    (struct.pack("<IIIIIIQ", 0x504D444D, 0xA793, 3, 32, 0, 0, 0), "stream directory (3 entries) at RVA 0x20"),
    (struct.pack("<IIIIIIQ", 0x504D444D, 0xA793, 1 << 30, 32, 0, 0, 0), "claims 1073741824 streams"),
])
def test_bad_headers_raise_the_one_error(data, message):
    with pytest.raises(MinidumpError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Minidump(data, name="bad")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.dmp"
    path.write_bytes(b"")
    with pytest.raises(MinidumpError, match="empty file"):
        with Minidump.open(path):
            pass


def test_reads_past_the_end_name_what_and_where():
    dump = Minidump(small_dump(), name="f.dmp")
    with pytest.raises(MinidumpError, match=r"f.dmp: module name at RVA 0x10000 \(8 bytes\) goes past the end"):
        dump.read(0x10000, 8, "module name")


def test_strings():
    b = synth.Builder()
    rva = b.string("C:\\Windows\\System32\\ntdll.dll")
    odd = b.blob(struct.pack("<I", 3) + b"abc")
    huge = b.blob(struct.pack("<I", 0x7FFFFFFE))
    dump = Minidump(b.build())
    assert dump.string(rva, "name") == "C:\\Windows\\System32\\ntdll.dll"
    with pytest.raises(MinidumpError, match="claims 3 bytes"):
        dump.string(odd, "name")
    with pytest.raises(MinidumpError, match="claims 2147483646 bytes"):
        dump.string(huge, "name")


def test_counted_and_listed_entries_must_fit_their_stream():
    b = synth.Builder()
    b.stream(fmt.THREAD_LIST, struct.pack("<I", 1000) + b"\0" * 48)
    b.stream(fmt.THREAD_INFO_LIST, struct.pack("<III", 12, 64, 5) + b"\0" * 64)
    b.stream(fmt.UNLOADED_MODULE_LIST, struct.pack("<III", 4, 24, 0))
    dump = Minidump(b.build())
    with pytest.raises(MinidumpError, match="ThreadList stream claims 1000 entries, more than its 52 bytes"):
        dump.counted_entries(dump.stream(fmt.THREAD_LIST), 48)
    with pytest.raises(MinidumpError, match="ThreadInfoList stream claims 5 entries"):
        dump.list_entries(dump.stream(fmt.THREAD_INFO_LIST), fmt.THREAD_INFO)
    with pytest.raises(MinidumpError, match="header size 4 and entry size 24"):
        dump.list_entries(dump.stream(fmt.UNLOADED_MODULE_LIST), fmt.UNLOADED_MODULE)


def test_short_stream():
    b = synth.Builder()
    b.stream(fmt.EXCEPTION, b"\0" * 20)
    dump = Minidump(b.build())
    with pytest.raises(MinidumpError, match="Exception stream is 20 bytes, shorter than its 168-byte header"):
        dump.stream_data(dump.stream(fmt.EXCEPTION), fmt.EXCEPTION_STREAM.size)


def test_streams_are_parsed_once():
    dump = Minidump(small_dump())
    calls = []
    assert dump.cached("k", lambda: calls.append(1) or "v") == "v"
    assert dump.cached("k", lambda: calls.append(1) or "w") == "v"
    assert calls == [1]
