"""The agent operations fetch_dumps adds (file_find, temp_dir, file_compress), the
ProfileList the lab models for its accounts, and the corrupt fault, on the lab executor."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io

import pytest

from crashdump_lab import Transport, arm_fault, crash, execute_batch, open_host, seed_host

HOST = "lab-win2022"
LD = "HKLM\\SOFTWARE\\Microsoft\\Windows\\Windows Error Reporting\\LocalDumps"
LD32 = "HKLM\\SOFTWARE\\Wow6432Node\\Microsoft\\Windows\\Windows Error Reporting\\LocalDumps"
PROFILE_LIST = "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\ProfileList"
PROFILE_VARS = {"LOCALAPPDATA": "AppData\\Local", "USERPROFILE": "", "USERNAME": None}
TEMP = "C:\\Users\\Administrator\\AppData\\Local\\Temp\\"


def run(state_dir, *ops):
    with open_host(state_dir, HOST) as lab:
        return execute_batch(lab, {"version": 1, "stop_on_error": False, "ops": list(ops)})["results"]


def data(state_dir, *ops):
    results = run(state_dir, *ops)
    assert all(r["ok"] for r in results), results
    return [r["data"] for r in results]


def find(state_dir, folders, patterns=("*.dmp",), **extra):
    return data(state_dir, dict({"op": "file_find", "folders": list(folders), "profile_vars": PROFILE_VARS,
                                 "patterns": list(patterns), "sha256": True}, **extra))[0]


def test_profile_list_models_every_account(state_dir):
    with open_host(state_dir, HOST) as lab:
        accounts = lab.state["accounts"]
        reg = lab.registry
        for account in accounts.values():
            value = reg.value(PROFILE_LIST + "\\" + account["sid"], 64, "ProfileImagePath")
            assert value["type"] == "REG_EXPAND_SZ"
        assert reg.value(PROFILE_LIST + "\\S-1-5-18", 64, "ProfileImagePath")["data"] == \
            "%systemroot%\\System32\\config\\systemprofile"
        assert reg.value(PROFILE_LIST + "\\" + accounts["alice"]["sid"], 64, "ProfileImagePath")["data"] == \
            "C:\\Users\\alice"


def test_file_find_per_profile_registry_and_literal_folders(state_dir):
    seed_host(state_dir, HOST, {"registry": {
        LD + "\\app.exe": {"values": {"DumpFolder": {"type": "REG_SZ", "data": "C:\\Dumps"}}},
        LD32: {"values": {"DumpFolder": {"type": "REG_EXPAND_SZ", "data": "%USERNAME%\\x"}}}}})
    with open_host(state_dir, HOST) as lab:
        alice = crash(lab, "app.exe", pid=10)["dump"]
        lab.registry.delete_value(LD + "\\app.exe", 64, "DumpFolder")
        system = crash(lab, "app.exe", account="SYSTEM", pid=11)["dump"]
        lab.files.write_file("C:\\Dumps\\other.exe.12.dmp", b"x")
    assert alice["path"] == "C:\\Dumps\\app.exe.10.dmp"
    assert system["path"] == "C:\\Windows\\System32\\config\\systemprofile\\AppData\\Local\\CrashDumps\\app.exe.11.dmp"
    found = find(state_dir, [{"key": LD + "\\app.exe", "view": 64, "name": "DumpFolder"},
                             {"key": LD, "view": 32, "name": "DumpFolder"},
                             {"path": "%LOCALAPPDATA%\\CrashDumps"},
                             {"path": "%SystemRoot%\\System32\\config\\systemprofile\\AppData\\Local\\CrashDumps"},
                             {"path": "C:\\Dumps\\"}],
                 patterns=["app.exe.*.dmp"])
    assert {p["sid"] for p in found["profiles"]} >= {"S-1-5-18", "S-1-5-19", "S-1-5-20"}
    # The image value was deleted after the first crash: it names no folder now.
    assert found["sources"][0] == {"found": False, "template": None, "type": None, "per_profile": False,
                                   "skipped": None}
    assert found["sources"][1]["skipped"] == "no per-profile value for %USERNAME%"
    assert found["sources"][2]["per_profile"] is True
    folders = {f["path"]: f for f in found["folders"]}
    system_folder = folders[system["path"].rsplit("\\", 1)[0]]
    # Listed once, named by the per-profile source and the literal one.
    assert system_folder["sources"] == [2, 3] and system_folder["profile"] == "S-1-5-18"
    assert [f["sha256"] for f in system_folder["files"]] == [system["sha256"]]
    assert [f["name"] for f in folders["C:\\Dumps"]["files"]] == ["app.exe.10.dmp"]
    assert folders["C:\\Users\\alice\\AppData\\Local\\CrashDumps"]["exists"] is False


def test_file_find_since_and_argument_checks(state_dir):
    seed_host(state_dir, HOST, {"files": {
        "C:\\D\\a.exe.1.dmp": {"content": "old", "mtime": "2026-01-01T00:00:00Z"},
        "C:\\D\\a.exe.2.dmp": {"content": "new", "mtime": "2026-06-01T00:00:00Z"}}})
    found = find(state_dir, [{"path": "C:\\D"}], since="2026-03-01T00:00:00.000Z")
    assert [f["name"] for f in found["folders"][0]["files"]] == ["a.exe.2.dmp"]
    errors = run(state_dir, {"op": "file_find", "folders": [], "patterns": [""]},
                 {"op": "file_find", "folders": [{"nope": 1}], "patterns": ["*"]},
                 {"op": "file_find", "folders": [], "patterns": ["*"], "profile_vars": {"A": 1}})
    assert [r["error"]["type"] for r in errors] == ["System.ArgumentException"] * 3


def test_temp_dir_is_private_and_lists_leftovers(state_dir):
    absent, made = data(state_dir, {"op": "temp_dir", "name": "h"}, {"op": "temp_dir", "name": "h", "create": True})
    assert absent == {"path": TEMP + "h", "exists": False, "created": False, "files": []}
    assert made["exists"] is True and made["created"] is True
    with open_host(state_dir, HOST) as lab:
        sid = lab.state["accounts"]["Administrator"]["sid"]
        assert lab.files.entry(TEMP + "h")["sddl"].endswith(
            "D:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;%s)" % sid)
        lab.files.write_file(TEMP + "h\\left.gz", b"x")
    again = data(state_dir, {"op": "temp_dir", "name": "h", "create": True})[0]
    assert again["created"] is False and [f["name"] for f in again["files"]] == ["left.gz"]
    bad = run(state_dir, {"op": "temp_dir", "name": "..\\x"}, {"op": "temp_dir", "name": ""})
    assert all(r["error"]["type"] == "System.ArgumentException" for r in bad)


def test_file_compress_round_trips_and_reports_both_hashes(state_dir):
    payload = b"MDMP" + bytes(range(256)) * 4000
    seed_host(state_dir, HOST, {"files": {"C:\\D\\a.dmp": {"content_base64": base64.b64encode(payload).decode()}}})
    data(state_dir, {"op": "temp_dir", "name": "h", "create": True})
    out = data(state_dir, {"op": "file_compress", "path": "C:\\D\\a.dmp", "dest": TEMP + "h\\a.gz"})[0]
    assert out["size"] == len(payload) and out["sha256"] == hashlib.sha256(payload).hexdigest()
    assert out["compressed_size"] < len(payload) // 50
    with open_host(state_dir, HOST) as lab:
        packed = lab.files.read_file(TEMP + "h\\a.gz")
    assert hashlib.sha256(packed).hexdigest() == out["compressed_sha256"] and len(packed) == out["compressed_size"]
    assert gzip.decompress(packed) == payload
    errors = run(state_dir, {"op": "file_compress", "path": "C:\\D\\nope.dmp", "dest": TEMP + "h\\b.gz"},
                 {"op": "file_compress", "path": "C:\\D\\a.dmp", "dest": "C:\\nowhere\\b.gz"},
                 {"op": "file_compress", "path": "C:\\D\\a.dmp", "dest": "c:\\d\\A.DMP"},
                 {"op": "file_compress", "path": "C:\\D", "dest": TEMP + "h\\c.gz"})
    assert [r["error"]["type"] for r in errors] == [
        "System.IO.FileNotFoundException", "System.IO.DirectoryNotFoundException", "System.ArgumentException",
        "System.UnauthorizedAccessException"]


@pytest.mark.parametrize("spec, damaged", [("corrupt:0", 0), ("corrupt:1", 1)])
def test_corrupt_fault_changes_one_byte_of_one_chunk(state_dir, spec, damaged):
    payload = bytes(range(256)) * 4096  # two chunks
    with open_host(state_dir, HOST) as lab:
        lab.files.make_dirs("C:\\D", "BA")
        lab.files.write_file("C:\\D\\a.dmp", payload)
        arm_fault(lab.state, spec)
    out = io.BytesIO()
    assert Transport(state_dir, HOST).fetch_file("C:\\D\\a.dmp", out)
    got = out.getvalue()
    assert len(got) == len(payload)
    diffs = [i for i, (a, b) in enumerate(zip(got, payload)) if a != b]
    assert len(diffs) == 1 and diffs[0] // (512 * 1024) == damaged
