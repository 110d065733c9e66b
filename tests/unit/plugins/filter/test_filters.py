"""The filters are thin shells over the shared pure modules; their errors are filter errors."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.crashdump.windows.plugins.filter import (
    crash_signature,
    crash_triage,
    exception_name,
    gflags_decode,
)

CRASH = {"kind": "crash", "app_name": "netsh.exe", "image": "netsh.exe", "app_version": "10.0.22621.1",
         "module": "netsh.exe", "module_version": "10.0.22621.1", "exception_code": "0xc0000005",
         "offset": "0x0000000000005399"}


def test_each_file_registers_its_filter():
    for module, name in ((exception_name, "exception_name"), (crash_signature, "crash_signature"),
                         (gflags_decode, "gflags_decode"), (crash_triage, "crash_triage")):
        assert list(module.FilterModule().filters()) == [name]


@pytest.mark.parametrize("code, name", [
    ("c0000374", "STATUS_HEAP_CORRUPTION"),
    ("0xC0000005", "STATUS_ACCESS_VIOLATION"),
    ("0x0xc0000409", "STATUS_STACK_BUFFER_OVERRUN"),
    (0xE06D7363, "C++ exception (unhandled C++ throw)"),
    ("12345678", "UNKNOWN (0x12345678)"),
])
def test_exception_name(code, name):
    assert exception_name.exception_name_filter(code) == name


@pytest.mark.parametrize("bad", ["not hex", None, True, [1]])
def test_exception_name_rejects(bad):
    with pytest.raises(AnsibleFilterError):
        exception_name.exception_name_filter(bad)


def test_crash_signature_and_family():
    assert crash_signature.crash_signature_filter(CRASH) == (
        "netsh.exe@10.0.22621.1!netsh.exe@10.0.22621.1!0xc0000005+0x5399")
    assert crash_signature.crash_signature_filter(CRASH, family=True) == "netsh.exe!netsh.exe!0xc0000005+0x5399"
    # The same key as the crash_events module gives, from another spelling of the same crash.
    other = dict(CRASH, app_name="NETSH.EXE", exception_code="0x0xC0000005", offset="5399")
    assert crash_signature.crash_signature_filter(other) == crash_signature.crash_signature_filter(CRASH)
    hang = {"kind": "hang", "app_name": "ui.exe", "app_version": "1.0"}
    assert crash_signature.crash_signature_filter(hang) == "ui.exe@1.0!(hang)"
    assert crash_signature.crash_signature_filter(hang, family=True) == "ui.exe!(hang)"


@pytest.mark.parametrize("bad", ["netsh.exe", {"exception_code": "c0000005"}, dict(CRASH, exception_code=None),
                                 dict(CRASH, exception_code="zz")])
def test_crash_signature_rejects(bad):
    with pytest.raises(AnsibleFilterError):
        crash_signature.crash_signature_filter(bad)


@pytest.mark.parametrize("value, names", [
    ("0x02000000", ["hpa"]),
    ("0X02001000", ["ust", "hpa"]),
    (0x02001000, ["ust", "hpa"]),
    ({"type": "REG_DWORD", "data": 0x100}, ["vrf"]),
    ({"type": "REG_SZ", "data": "33554432"}, ["hpa"]),
    (None, []),
    (0x200, ["0x00000200"]),
])
def test_gflags_decode(value, names):
    assert gflags_decode.gflags_decode_filter(value) == names


def test_gflags_decode_describe():
    assert gflags_decode.gflags_decode_filter("0x02000200", describe=True) == [
        {"flag": "0x00000200", "bit": "0x00000200", "description": None},
        {"flag": "hpa", "bit": "0x02000000", "description": "Enable page heap"},
    ]


@pytest.mark.parametrize("bad", ["hpa", -1, 1 << 32, {"type": "REG_BINARY", "data": "00"}, {"data": 1}, True])
def test_gflags_decode_rejects(bad):
    with pytest.raises(AnsibleFilterError):
        gflags_decode.gflags_decode_filter(bad)


def test_crash_triage():
    crash = dict(CRASH, time="2026-11-20T08:00:00.000Z", signature="s", family="f", victim=False, stack_hash=False,
                 module_unloaded=False, exception_name="STATUS_ACCESS_VIOLATION", fail_fast=None, dotnet=None,
                 wer=None, pid=1, dump_file="netsh.exe.1.dmp", local_dump=None)
    report = crash_triage.crash_triage_filter({"a": {"crashes": [crash]}, "b": {"failed": True}}, ["c"])
    assert report["signatures"][0]["hosts"] == ["a"]
    assert report["failed_hosts"] == ["b", "c"]
    assert report["top_image"]["image"] == "netsh.exe"


@pytest.mark.parametrize("bad", [[], {"a": [{"no": "fields"}]}])
def test_crash_triage_rejects(bad):
    with pytest.raises(AnsibleFilterError):
        crash_triage.crash_triage_filter(bad)
