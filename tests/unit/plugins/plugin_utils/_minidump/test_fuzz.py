"""Mutated real dumps: the analysis returns a result or raises MinidumpError, never anything else, and quickly.

Mutations land where parsing happens (header, directory, stream bodies,
the bytes those point at, the start of memory ranges), as overwritten
bytes, interesting 32- and 64-bit values, or truncation. Hypothesis runs a
fixed number of examples with a derandomised seed, so CI sees the same
inputs every time (a few seconds).
"""

import gzip
import json
import struct
import time

import fixture_dumps
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.crashdump.windows.plugins.plugin_utils._minidump import format as fmt
from ansible_collections.crashdump.windows.plugins.plugin_utils._minidump.analyze import analyze
from ansible_collections.crashdump.windows.plugins.plugin_utils._minidump.errors import MinidumpError
from ansible_collections.crashdump.windows.plugins.plugin_utils._minidump.reader import Minidump

SOURCES = ["null_read.mini.dmp.gz", "heap_corruption.slim.dmp.gz", "cxx_throw.slim.dmp.gz", "abort.mini.dmp.gz"]
DUMPS = {name: gzip.decompress((fixture_dumps.FOLDER / name).read_bytes()) for name in SOURCES}
INTERESTING = [0, 1, 2, 0x7F, 0x80, 0xFF, 0x1000, 0x7FFF, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF,
               0xFFFFFFFFFFFFFFFF, 0x8000000000000000, 0x140000000, 0x7FFFFFFFFFFF]
MAX_SECONDS = 2.0


def hot_ranges(data):
    """Where the parser looks: header, directory, non-memory streams, memory descriptors, memory starts."""
    dump = Minidump(data)
    ranges = [(0, 32), (32, 12 * len(dump.directory))]
    for stream in dump.directory:
        if stream.type == fmt.MEMORY64_LIST:
            ranges.append((stream.rva, min(stream.size, 4096)))
        elif stream.size:
            ranges.append((stream.rva, min(stream.size, 65536)))
    return ranges


HOT = {name: hot_ranges(data) for name, data in DUMPS.items()}

mutation = st.one_of(
    st.tuples(st.just("byte"), st.integers(0, 1 << 30), st.integers(0, 255)),
    st.tuples(st.just("u32"), st.integers(0, 1 << 30), st.sampled_from(INTERESTING)),
    st.tuples(st.just("u64"), st.integers(0, 1 << 30), st.sampled_from(INTERESTING)),
    st.tuples(st.just("anywhere"), st.integers(0, 1 << 30), st.integers(0, 255)),
)


def mutate(name, mutations, cut):
    data = bytearray(DUMPS[name])
    spots = HOT[name]
    total = sum(size for _start, size in spots)
    for kind, where, value in mutations:
        if kind == "anywhere":
            data[where % len(data)] = value
            continue
        offset = where % total
        for start, size in spots:
            if offset < size:
                at = start + offset
                break
            offset -= size
        width = {"byte": 1, "u32": 4, "u64": 8}[kind]
        if at + width <= len(data):
            data[at:at + width] = (value & ((1 << (8 * width)) - 1)).to_bytes(width, "little")
    if cut is not None:
        data = data[:cut % (len(data) + 1)]
    return bytes(data)


@settings(max_examples=250, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.sampled_from(SOURCES), st.lists(mutation, min_size=1, max_size=6), st.none() | st.integers(0, 1 << 24))
def test_mutated_dumps_give_a_result_or_the_documented_error(name, mutations, cut):
    data = mutate(name, mutations, cut)
    started = time.perf_counter()
    try:
        result = analyze(Minidump(data, name="fuzzed")).to_dict()
    except MinidumpError as e:
        assert str(e).startswith("fuzzed: ")
    else:
        json.dumps(result)
    assert time.perf_counter() - started < MAX_SECONDS


def test_truncated_at_every_stream_boundary():
    data = DUMPS["null_read.mini.dmp.gz"]
    dump = Minidump(data)
    cuts = sorted({0, 31, 32, 33} | {s.rva for s in dump.directory} | {s.rva + s.size // 2 for s in dump.directory})
    for cut in cuts:
        try:
            result = analyze(Minidump(data[:cut], name="cut")).to_dict()
        except MinidumpError:
            continue
        assert result["file_size"] == cut


def test_a_broken_stream_is_left_out_with_a_warning():
    data = bytearray(DUMPS["null_read.mini.dmp.gz"])
    dump = Minidump(bytes(data))
    modules = dump.stream(fmt.MODULE_LIST)
    struct.pack_into("<I", data, modules.rva, 0xFFFFFF)  # a module count the stream cannot hold
    result = analyze(Minidump(bytes(data), name="broken")).to_dict()
    assert result["modules"] == [] and result["faulting_module"] is None
    assert result["warnings"] == ["broken: ModuleList stream claims 16777215 entries, more than its 868 bytes hold"]
    assert result["exception"]["code"] == "0xc0000005" and result["signature"] is None


def test_a_dump_without_exception_has_no_crash_facts():
    data = bytearray(DUMPS["null_read.mini.dmp.gz"])
    dump = Minidump(bytes(data))
    struct.pack_into("<I", data, 32 + 12 * dump.stream(fmt.EXCEPTION).index, 0x7777)  # retype: unknown stream
    result = analyze(Minidump(bytes(data))).to_dict()
    assert result["exception"] is None and result["crashing_thread"] is None and result["signature"] is None
    assert result["dump"]["unknown_streams"] == ["0xfff0", "0x7777"]
    assert result["hints"] == []
