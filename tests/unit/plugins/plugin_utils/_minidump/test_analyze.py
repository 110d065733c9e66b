"""The analysis of the real crash dumps (tests/fixtures/dumps) and of lab-written ones, against known facts."""

import datetime as dt
import json
import struct
from pathlib import Path

import fixture_dumps
import jsonschema
import minidump_synth as synth
import pytest
from fixture_dumps import FACTS, NAMES

from ansible_collections.crashdump.windows.plugins.plugin_utils import _signature
from ansible_collections.crashdump.windows.plugins.plugin_utils._minidump import analyze, unwind
from ansible_collections.crashdump.windows.plugins.plugin_utils._minidump import format as fmt
from ansible_collections.crashdump.windows.plugins.plugin_utils._minidump.reader import Minidump
from crashdump_lab import crashinfo, defaults, minidump

SCHEMA = json.loads((Path(analyze.__file__).parent / "schema.json").read_text())


@pytest.fixture(scope="module")
def analyses(fixture_dump):
    return {name: analyze.analyze_file(fixture_dump(name)) for name in NAMES}


def in_function(address, program, name):
    start, end = (int(v, 16) for v in program["functions"][name])
    return start <= address < end


def program_functions(frames, program):
    """The program function each frame is in (None for frames elsewhere), looking up return addresses by
    the call before them."""
    found = []
    for f in frames:
        pc = int(f["pc"], 16) - (1 if f["index"] else 0)
        found.append(next((n for n in program["stack"] if in_function(pc, program, n)), None))
    return found


def is_subsequence(needle, haystack):
    it = iter(haystack)
    return all(any(x == y for y in it) for x in needle)


def test_every_committed_dump_has_facts():
    committed = sorted(p.name for p in fixture_dumps.FOLDER.glob("*.dmp.gz"))
    assert committed == NAMES
    assert sum(p.stat().st_size for p in fixture_dumps.FOLDER.glob("*.dmp.gz")) < 3_000_000


@pytest.mark.parametrize("name", NAMES)
def test_fixture_yields_its_facts(analyses, name):
    result, program = analyses[name], fixture_dumps.program(name)
    jsonschema.validate(result, SCHEMA)
    exc = result["exception"]
    assert exc["code"] == program["exception_code"]
    assert exc["name"] == program["exception_name"]
    assert result["faulting_module"]["name"].lower() == program["faulting_module"]
    assert (exc["access"] or {}).get("type") == program["access"]
    assert (exc["access"] or {}).get("record_type") == program["record_access"]
    if program["access"] is not None:  # the faulting instruction's bytes are in every one of these dumps
        assert exc["instruction"]["access"] == program["access"]
    if program["access_address"] is not None:
        assert int(exc["access"]["address"], 16) == int(program["access_address"], 16)
    assert (exc["fast_fail"] or {}).get("code") == program["fast_fail"]
    assert {h["id"] for h in result["hints"]} >= set(program["hints"])
    assert result["process"]["image"] == program["image"]
    assert result["system"]["cpu"]["arch"] == "x64"
    assert result["system"]["os"]["wine"]["build"].startswith("wine-")
    assert result["dump"]["unknown_streams"] == ["0xfff0"]  # Wine's private stream, skipped
    assert result["warnings"] == []
    assert result["crashing_thread"]["id"] == exc["thread_id"]
    assert result["crashing_thread"]["registers"]["rip"] == exc["address"]


@pytest.mark.parametrize("name", NAMES)
def test_frames_are_in_the_crashing_function(analyses, name):
    result, program = analyses[name], fixture_dumps.program(name)
    frames = result["crashing_thread"]["frames"]
    assert frames[0]["trust"] == "context" and frames[0]["pc"] == result["exception"]["address"]
    functions = program_functions(frames, program)
    first = next(f for f in functions if f is not None)
    assert first == program["crashing_function"]
    if program["faulting_module"] == program["image"] and program["access"] != "execute":
        assert functions[0] == program["crashing_function"]
    if FACTS["dumps"][name]["kind"] == "slim":
        # The image and the system DLLs' unwind data are in the dump: every caller comes from CFI,
        # exactly the program's call chain, down to the thread's start in ntdll.
        assert all(f["trust"] == "cfi" for f in frames[1:])
        ours = [f for f in functions if f is not None]
        assert ours[:len(program["stack"])] == program["stack"]
        if len(frames) < unwind.DEFAULT_MAX_FRAMES:  # the recursion of stack_overflow fills them all
            assert frames[-1]["display"].startswith("ntdll.dll!RtlUserThreadStart+")
    else:
        # Mini dumps hold no images: callers are found by scanning, in order.
        assert {f["trust"] for f in frames[1:]} == {"scan"}
        assert is_subsequence(program["stack"], functions)


def test_cxx_exception_type_is_decoded_when_the_throw_info_is_in_the_dump(analyses):
    assert analyses["cxx_throw.slim.dmp.gz"]["exception"]["cxx"] == {
        "type": "parse_error", "decorated_name": ".?AVparse_error@@",
        "object": analyses["cxx_throw.slim.dmp.gz"]["exception"]["cxx"]["object"]}
    assert analyses["cxx_throw.mini.dmp.gz"]["exception"]["cxx"]["type"] is None
    frames = analyses["cxx_throw.slim.dmp.gz"]["crashing_thread"]["frames"]
    assert [f["display"].split("+")[0] for f in frames[:2]] == [
        "kernelbase.dll!RaiseException", "msvcrt.dll!_CxxThrowException"]


def test_signature_is_the_crash_events_one(analyses):
    result = analyses["heap_corruption.mini.dmp.gz"]
    fault = result["faulting_module"]
    # What Event 1000 reports for this crash, as crash_events would read it.
    event_signature = _signature.crash_signature(
        "heap_corruption.exe", "0.0.0.0", "ntdll.dll", fault["version"], "0xc0000005", fault["offset"])
    assert result["signature"] == event_signature
    assert result["family"] == _signature.family_key("heap_corruption.exe", "ntdll.dll", 0xC0000005,
                                                     fault["offset"])
    assert result["signature"].startswith("heap_corruption.exe@0.0.0.0!ntdll.dll@6.1.7601.")


def test_mini_and_slim_dumps_agree(analyses):
    for program in FACTS["programs"]:
        mini, slim = analyses["%s.mini.dmp.gz" % program], analyses["%s.slim.dmp.gz" % program]
        assert mini["dump"]["kind"] == "mini" and slim["dump"]["kind"] == "full"
        assert mini["exception"]["code"] == slim["exception"]["code"]
        assert mini["faulting_module"]["offset"] == slim["faulting_module"]["offset"]


def test_modules_carry_versions_and_pdb_identity(analyses):
    result = analyses["null_read.mini.dmp.gz"]
    by_name = {m["name"].lower(): m for m in result["modules"]}
    assert result["counts"]["modules"] == len(result["modules"]) >= 5
    assert by_name["ntdll.dll"]["version"].startswith("6.1.7601.")
    assert by_name["null_read.exe"]["version"] is None and by_name["null_read.exe"]["pdb"] is None
    assert result["counts"]["threads"] >= 1


def _lab_crash(arch, code=0xC0000005, page_heap=False):
    when = dt.datetime(2026, 11, 25, 10, 0, 0, tzinfo=dt.timezone.utc)
    state = defaults.default_state("lab-win2022", arch)
    return crashinfo.build(state, "netsh.exe", "C:\\Windows\\System32\\netsh.exe", 4416,
                           when - dt.timedelta(seconds=42), when, code, page_heap=page_heap)


@pytest.mark.parametrize("arch, name, pc", [("AMD64", "x64", "rip"), ("x86", "x86", "eip"), ("ARM64", "arm64", "pc")])
@pytest.mark.parametrize("flags", [0, 0x2])
def test_lab_dumps_of_every_architecture(tmp_path, arch, name, pc, flags):
    crash = _lab_crash(arch)
    path = tmp_path / "lab.dmp"
    path.write_bytes(minidump.build_minidump(crash, flags=flags))
    result = analyze.analyze_file(path)
    jsonschema.validate(result, SCHEMA)
    assert result["system"]["cpu"]["arch"] == name
    assert result["system"]["os"]["name"] == "Windows Server 2022"
    assert result["process"] == {
        "pid": 4416, "image": "netsh.exe", "image_path": "C:\\Windows\\System32\\netsh.exe",
        "image_version": "10.0.20348.1", "create_time": "2026-11-25T09:59:18Z", "uptime_seconds": 42,
        "user_time_seconds": 1, "kernel_time_seconds": 0, "integrity_level": None}
    assert result["dump"]["kind"] == ("full" if flags else "mini")
    assert int(result["crashing_thread"]["registers"][pc], 16) == crash.address
    assert len(result["crashing_thread"]["registers"][pc]) == (10 if arch == "x86" else 18)
    assert result["faulting_module"]["name"] == "netsh.exe"
    assert result["faulting_module"]["version"] == "10.0.20348.1"
    module = result["modules"][1]
    assert module["pdb"]["name"] == "ntdll.pdb" and module["pdb"]["age"] == 1
    assert module["pdb"]["debug_id"] == crash.modules[1].pdb_guid.hex.upper() + "1"
    assert "null_pointer" in {h["id"] for h in result["hints"]}


def test_lab_page_heap_dump_says_verifier_is_active(tmp_path):
    crash = _lab_crash("AMD64", page_heap=True)
    path = tmp_path / "lab.dmp"
    path.write_bytes(minidump.build_minidump(crash))
    result = analyze.analyze_file(path)
    if any(m.name.lower() == "verifier.dll" for m in crash.modules):
        assert "verifier" in {h["id"] for h in result["hints"]}
    else:
        assert "verifier" not in {h["id"] for h in result["hints"]}


def test_optional_streams_reach_the_analysis():
    b = synth.Builder(flags=0x1025)
    b.stream(fmt.SYSTEM_INFO, synth.system_info(major=6, minor=3, build=9600, product_type=1))
    b.stream(fmt.MISC_INFO, synth.misc_info(pid=77))
    b.stream(fmt.MODULE_LIST, synth.module_list(b, [
        {"base": 0x140000000, "size": 0x10000, "path": "C:\\app\\app.exe", "version": (2, 0, 0, 1)},
        {"base": 0x7FF800000000, "size": 0x10000, "path": "C:\\Windows\\System32\\verifier.dll"}]))
    b.stream(fmt.UNLOADED_MODULE_LIST, synth.unloaded_module_list(
        b, [{"base": 0x180000000, "size": 0x8000, "path": "C:\\app\\plugin.dll", "timestamp": 0x5F000001}]))
    ctx = synth.amd64_context(rip=0x180001000, rsp=0x20000)
    ctx_rva = b.blob(ctx, align=16)
    b.stream(fmt.THREAD_LIST, synth.thread_list([(9, 0x1F000, 0x2000, 0, ctx_rva, len(ctx))]))
    b.stream(fmt.EXCEPTION, synth.exception_stream(9, 0xC0000005, 0x180001000, [8, 0x180001000], ctx_rva,
                                                   len(ctx)))
    b.stream(fmt.THREAD_INFO_LIST, struct.pack("<III", 12, 64, 1) + struct.pack(
        "<IIIIQQQQQQ", 9, 0, 0, 259, 133_000_000_000_000_000, 0, 5, 6, 0x140001500, 1))
    b.stream(fmt.THREAD_NAMES, struct.pack("<I", 1) + struct.pack("<IQ", 9, b.string("worker")))
    event = b.string("Event")
    b.stream(fmt.HANDLE_DATA, struct.pack("<IIII", 16, 32, 3, 0) + b"".join(
        struct.pack("<QIIIIII", 4 * i, event, 0, 0, 0, 1, 1) for i in range(3)))
    result = analyze.analyze(Minidump(b.build()), path="synthetic").to_dict()
    jsonschema.validate(result, SCHEMA)
    assert result["system"]["os"]["name"] == "Windows 8.1" and result["process"]["pid"] == 77
    assert result["dump"]["flag_names"] == ["WithDataSegs", "WithHandleData", "WithUnloadedModules",
                                            "WithThreadInfo"]
    thread = result["crashing_thread"]
    assert (thread["name"], thread["start_address"], thread["create_time"]) == (
        "worker", "0x0000000140001500", "2022-06-18T04:26:40Z")
    assert result["handles"] == {"count": 3, "by_type": {"Event": 3}}
    assert result["counts"] == {"threads": 1, "modules": 2, "unloaded_modules": 1, "handles": 3}
    assert result["unloaded_modules"] == [{"name": "plugin.dll", "path": "C:\\app\\plugin.dll",
                                           "base": "0x0000000180000000", "size": 0x8000, "timestamp": "5f000001"}]
    assert result["faulting_module"] is None
    assert [h["id"] for h in result["hints"]] == ["execute_non_executable", "unloaded_module", "verifier"]
    assert result["signature"] == "app.exe@2.0.0.1!unknown@0.0.0.0!0xc0000005+0x180001000"
