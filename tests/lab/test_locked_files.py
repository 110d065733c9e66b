"""Locked and read-only files: the lab refuses where Windows does, the agent reports per file,
fetch_dumps never fetches a dump WerFault is still writing."""

from __future__ import annotations

import json

import pytest

from crashdump_lab import errors, execute_batch, open_host, seed_host
from crashdump_lab.seed import apply_overlay
from crashdump_lab.transport import TransferError, Transport

HOST = "lab-locks"
FOLDER = "C:\\WER"
LOCKED = FOLDER + "\\netsh.exe.100.dmp"
DONE = FOLDER + "\\netsh.exe.104.dmp"
KEPT = FOLDER + "\\netsh.exe.108.dmp"
LD = "HKLM\\SOFTWARE\\Microsoft\\Windows\\Windows Error Reporting\\LocalDumps"
SEED = {"files": {LOCKED: {"content": "MDMP half", "locked": True}, DONE: {"content": "MDMP whole"},
                  KEPT: {"content": "MDMP keep", "readonly": True}}}


def run(state_dir, *ops):
    with open_host(state_dir, HOST) as lab:
        return execute_batch(lab, {"version": 1, "stop_on_error": False, "ops": list(ops)})["results"]


@pytest.fixture
def host(state_dir):
    seed_host(state_dir, HOST, SEED)
    return state_dir


def test_a_locked_file_cannot_be_read_or_deleted_and_a_read_only_one_not_deleted(host):
    with open_host(host, HOST) as lab:
        with pytest.raises(errors.WinError) as locked:
            lab.files.read_file(LOCKED)
        assert locked.value.type_name == "System.IO.IOException" and locked.value.hresult & 0xFFFF == 32
        with pytest.raises(errors.WinError):
            lab.files.remove_file(LOCKED)
        with pytest.raises(errors.WinError) as readonly:
            lab.files.remove_file(KEPT)
        assert readonly.value.type_name == "System.UnauthorizedAccessException"
        assert lab.files.read_file(KEPT) == b"MDMP keep"  # read-only is still readable
    with pytest.raises(TransferError, match="being used by another process"):
        Transport(host, HOST).fetch_chunk(LOCKED, 0)
    seed_host_flags = {"files": {LOCKED: {"locked": False}}}
    with open_host(host, HOST) as lab:
        apply_overlay(lab, seed_host_flags)
        assert lab.files.read_file(LOCKED) == b"MDMP half"
        apply_overlay(lab, {"files": {FOLDER + "\\new.dmp": {"locked": True}}})  # flags alone: an empty file
        assert lab.files.entry(FOLDER + "\\new.dmp") | {"mtime": 0, "ctime": 0} == {
            "type": "file", "size": 0, "sha256": lab.files.blobs.put(b""), "mtime": 0, "ctime": 0, "locked": True}


def test_file_list_and_file_find_report_a_locked_file_with_the_file(host):
    listed, found, compress = run(
        host, {"op": "file_list", "path": FOLDER, "pattern": "*.dmp", "sha256": True},
        {"op": "file_find", "folders": [{"path": FOLDER}], "profile_vars": {},
         "patterns": ["netsh.exe.*.dmp"], "since": None, "sha256": True},
        {"op": "file_compress", "path": LOCKED, "dest": FOLDER + "\\x.gz"})
    for files in (listed["data"]["files"], found["data"]["folders"][0]["files"]):
        by_name = {f["path"]: f for f in files}
        assert by_name[LOCKED]["sha256"] is None and by_name[LOCKED]["locked"] is True
        assert "being used by another process" in by_name[LOCKED]["error"]
        assert by_name[DONE]["sha256"] and by_name[DONE]["error"] is None and by_name[DONE]["locked"] is False
    assert compress["ok"] is False and compress["error"]["hresult"] & 0xFFFF == 32


def test_file_remove_reports_a_read_only_file_and_leaves_it(host):
    kept, done = run(host, {"op": "file_remove", "path": KEPT}, {"op": "file_remove", "path": DONE})
    assert kept["ok"] is False and kept["error"]["type"] == "System.UnauthorizedAccessException"
    assert "read-only" in kept["error"]["message"]
    assert done == {"ok": True, "data": {"removed": True}}
    with open_host(host, HOST) as lab:
        assert lab.files.entry(KEPT)["readonly"] is True


def test_fetch_dumps_skips_a_dump_being_written_and_reports_a_read_only_one(lab, tmp_path):
    kept = {KEPT: {"content": "MDMP keep", "readonly": True}}
    lab.host("win", {"registry": {LD + "\\netsh.exe": {"values": {
        "DumpFolder": {"type": "REG_EXPAND_SZ", "data": FOLDER}}}}, "files": kept})
    writing = json.loads(lab.labctl("crash", "win", "netsh.exe", "--pid", "200", "--being-written"))["dump"]["path"]
    play = ("- crashdump.windows.fetch_dumps: " + json.dumps({"exe": "netsh.exe", "dest": str(tmp_path / "d"),
                                                              "remove_after_fetch": True}))
    proc = lab.play(play, check=False)
    res = proc.results[0][1]
    status = {d["remote_path"]: d["status"] for d in res["dumps"]}
    assert status == {writing: "being_written", KEPT: "fetched"}, res
    assert "still being written" in " ".join((proc.stdout + proc.stderr).split())
    assert res["fetched"] and all(writing not in p for p in res["fetched"])
    assert any("read-only" in e for e in [res.get("msg", "")] + res.get("errors", [])), res
    files = lab.state("win")["files"]
    assert KEPT in files and writing in files
