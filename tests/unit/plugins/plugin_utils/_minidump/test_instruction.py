"""The faulting instruction of real crashes (tests/fixtures/dumps), decoded, and the access it tells."""

import sys

import pytest

from ansible_collections.crashdump.windows.plugins.plugin_utils._minidump import instruction
from ansible_collections.crashdump.windows.plugins.plugin_utils._minidump.analyze import analyze_file


@pytest.fixture(scope="module")
def exceptions(fixture_dump):
    names = ("null_write", "null_read", "execute_data", "heap_corruption", "divide_by_zero")
    return {n: analyze_file(fixture_dump("%s.mini.dmp.gz" % n)) for n in names}


def test_a_write_and_a_read_through_null(exceptions):
    write, read = exceptions["null_write"]["exception"], exceptions["null_read"]["exception"]
    # crash_null_write stores into record->count (offset 8); crash_null_read loads *record.
    assert write["instruction"]["text"].startswith("mov qword ptr [")
    assert (write["instruction"]["access"], write["instruction"]["memory_address"]) == (
        "write", write["access"]["address"])
    assert read["instruction"]["text"].startswith("mov eax, dword ptr [")
    assert (read["instruction"]["access"], read["instruction"]["memory_address"]) == (
        "read", read["access"]["address"])
    for e in (write, read):
        assert e["instruction"]["address"] == e["address"]
        assert e["access"]["type"] == e["access"]["record_type"]


def test_execute_is_told_by_the_address_of_the_instruction_itself(exceptions):
    e = exceptions["execute_data"]["exception"]
    # The bytes at the address are the payload's RET, in .data: fetching them faulted, not what RET reads.
    assert (e["instruction"]["text"], e["instruction"]["bytes"]) == ("ret", "c3")
    assert e["instruction"]["access"] == e["access"]["type"] == e["access"]["record_type"] == "execute"


def test_a_non_canonical_write_recorded_as_a_read_is_a_write(exceptions):
    result = exceptions["heap_corruption"]
    e = result["exception"]
    # Wine's ntdll unlinks the free block through its clobbered (0x41...) link: a store the CPU refuses
    # with a general-protection fault, which Windows records as a read of 0xffffffffffffffff.
    assert e["access"] == {"type": "write", "address": "0xffffffffffffffff", "record_type": "read"}
    assert e["parameters"][:2] == ["0x0", "0xffffffffffffffff"]
    text, accessed = e["instruction"]["text"], int(e["instruction"]["memory_address"], 16)
    assert text.startswith("mov qword ptr [") and text.endswith("], rax")
    base = text[len("mov qword ptr ["):].split(" ")[0]
    assert accessed - int(result["crashing_thread"]["registers"][base], 16) in (0, 8)  # [reg] or [reg + 8]
    assert accessed >> 47 not in (0, 0x1FFFF) and e["instruction"]["access"] == "write"
    (hint,) = [h for h in result["hints"] if h["id"] == "non_canonical_address"]
    assert hint["message"].startswith("the write was to a non-canonical address (0x%x by" % accessed)


def test_no_memory_access_no_access_type(exceptions):
    e = exceptions["divide_by_zero"]["exception"]
    assert e["instruction"]["text"] == "idiv ecx" and e["instruction"]["access"] is None and e["access"] is None


def test_without_capstone_the_record_is_kept_and_a_warning_says_why(fixture_dump, monkeypatch):
    monkeypatch.setitem(sys.modules, "capstone", None)
    monkeypatch.setattr(instruction, "_decoders", {})
    result = analyze_file(fixture_dump("heap_corruption.mini.dmp.gz"))
    assert result["exception"]["instruction"] is None
    assert result["exception"]["access"]["type"] == result["exception"]["access"]["record_type"] == "read"
    assert result["warnings"] == [instruction.CAPSTONE_MISSING]
