"""Lab host state: defaults, persistence, seeding, and the labctl CLI."""

from __future__ import annotations

import json
import os
import subprocess
import threading

import pytest

from crashdump_lab import cli, default_state, load_state, open_host, reset_host, save_state, seed_host, start_process

HOST = "lab-win2022"
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LD = "HKLM\\SOFTWARE\\Microsoft\\Windows\\Windows Error Reporting\\LocalDumps"


def test_default_state_is_deterministic_and_follows_the_name():
    assert default_state(HOST) == default_state(HOST)
    assert default_state("lab-win10-x86")["os"]["arch"] == "x86"
    assert default_state("lab-win11")["os"]["os_name"] == "Microsoft Windows 11 Enterprise"
    assert default_state("box", "ARM64")["os"]["is_64bit"] is True
    with pytest.raises(ValueError):
        default_state("box", "MIPS")


def test_default_state_schema():
    state = default_state(HOST)
    assert set(state) >= {"host", "os", "env", "quirks", "registry", "files", "accounts", "services", "processes",
                          "events", "counters"}
    assert state["quirks"] == {"dumpcount_zero": "no_dump", "wer_disabled_blocks_localdumps": False}
    assert state["accounts"]["SYSTEM"]["sid"] == "S-1-5-18" and state["accounts"]["Administrator"]["admin"]
    assert state["services"]["WerSvc"]["account"] == "LocalSystem"
    assert "netsh.exe" not in {p["name"] for p in state["processes"]}
    for path in ("C:\\", "C:\\Windows", "C:\\Users\\alice", "C:\\Users\\alice\\AppData\\Local",
                 "C:\\Windows\\ServiceProfiles\\LocalService\\AppData\\Local"):
        assert state["files"][path]["type"] == "directory"
    x86 = default_state("lab-win10-x86")
    assert not any("Wow6432Node" in k for k in x86["registry"]) and "C:\\Windows\\SysWOW64" not in x86["files"]
    assert "ProgramW6432" not in x86["env"]


def test_missing_state_file_is_a_clean_host(state_dir):
    assert load_state(state_dir, HOST) == default_state(HOST)
    assert not os.path.exists(os.path.join(state_dir, HOST + ".json"))
    with open_host(state_dir, HOST):
        pass
    assert os.path.exists(os.path.join(state_dir, HOST + ".json"))


def test_save_is_atomic_and_blobs_follow_the_files(state_dir):
    with open_host(state_dir, HOST) as lab:
        lab.files.write_file("C:\\ProgramData\\a.bin", b"hello")
    blobs = os.path.join(state_dir, HOST + ".blobs")
    assert len(os.listdir(blobs)) == 1
    with open_host(state_dir, HOST) as lab:
        assert lab.files.read_file("C:\\ProgramData\\a.bin") == b"hello"
        lab.files.remove_file("C:\\ProgramData\\a.bin")
    assert os.listdir(blobs) == []
    assert [n for n in os.listdir(state_dir) if n.startswith(".")] == []  # no temp files left


def test_an_exception_leaves_the_state_unchanged(state_dir):
    reset_host(state_dir, HOST)
    with pytest.raises(RuntimeError), open_host(state_dir, HOST) as lab:
        lab.state["quirks"]["dumpcount_zero"] = "default"
        raise RuntimeError("boom")
    assert load_state(state_dir, HOST)["quirks"]["dumpcount_zero"] == "no_dump"


def test_concurrent_updates_are_serialised(state_dir):
    reset_host(state_dir, HOST)

    def bump():
        for _i in range(20):
            with open_host(state_dir, HOST) as lab:
                lab.state["counters"]["round_trips"] += 1

    threads = [threading.Thread(target=bump) for _i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert load_state(state_dir, HOST)["counters"]["round_trips"] == 80


def test_save_state_round_trip(state_dir):
    state = default_state(HOST)
    state["quirks"]["dumpcount_zero"] = "default"
    save_state(state_dir, HOST, state)
    assert load_state(state_dir, HOST) == state


def test_bad_host_names(state_dir):
    for name in ("../x", "", "a/b"):
        with pytest.raises(ValueError):
            load_state(state_dir, name)


def test_seed_overlay(state_dir):
    state = seed_host(state_dir, HOST, {
        "registry": {LD + "\\netsh.exe": {"values": {"DumpCount": {"type": "REG_DWORD", "data": 3}}},
                     "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\AeDebug": {"values": {"Auto": None}}},
        "files": {"C:\\WER\\old.dmp": {"size": 100, "mtime": "2026-01-01T00:00:00.000Z"},
                  "C:\\Users\\alice\\AppData\\Local\\Temp": None},
        "quirks": {"dumpcount_zero": "default"},
        "os": {"ps_version": "5.1.17763.1"},
        "processes": [{"name": "app.exe", "pid": 900, "start_time": "2026-11-20T06:00:00.000Z", "account": "alice",
                       "path": "C:\\App\\app.exe", "services": []}],
    })
    assert state["registry"][LD]["values"] == {}  # the parent was created
    assert "Auto" not in state["registry"]["HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\AeDebug"]["values"]
    old = state["files"]["C:\\WER\\old.dmp"]
    assert old["size"] == 100 and old["mtime"] == "2026-01-01T00:00:00.000Z"
    assert state["files"]["C:\\WER"]["type"] == "directory"
    assert state["quirks"] == {"dumpcount_zero": "default", "wer_disabled_blocks_localdumps": False}
    assert state["os"]["ps_version"] == "5.1.17763.1" and state["os"]["arch"] == "AMD64"
    assert state["processes"][-1]["pid"] == 900
    assert load_state(state_dir, HOST) == state


def test_seed_starts_from_a_clean_host_and_takes_the_arch(state_dir):
    seed_host(state_dir, HOST, {"registry": {LD: {}}})
    state = seed_host(state_dir, HOST, {"os": {"arch": "x86"}})
    assert LD not in state["registry"] and state["os"]["arch"] == "x86"


def test_seed_keeps_the_arch_of_a_reset_host(state_dir):
    reset_host(state_dir, "box", "ARM64")
    assert seed_host(state_dir, "box", {})["os"]["arch"] == "ARM64"


def test_start_process_and_service(state_dir):
    with open_host(state_dir, HOST) as lab:
        proc = start_process(lab, "w3wp.exe", account="NetworkService", service="W3SVC")
        assert lab.state["services"]["W3SVC"] == {"display_name": "W3SVC", "status": "Running",
                                                  "start_mode": "Manual", "account": "NetworkService",
                                                  "pid": proc["pid"]}
        assert proc["pid"] % 4 == 0 and proc["services"] == ["W3SVC"] and proc["account"] == "NetworkService"


def labctl(state_dir, *args):
    assert cli.main(["--state-dir", state_dir, *args]) == 0


def test_cli_commands(state_dir, tmp_path, capsys):
    overlay = tmp_path / "overlay.json"
    overlay.write_text(json.dumps({"registry": {LD: {}}}))
    labctl(state_dir, "reset", "lab-win10-x86")
    assert json.loads(capsys.readouterr().out) == {"host": "lab-win10-x86", "arch": "x86"}
    labctl(state_dir, "seed", HOST, str(overlay))
    capsys.readouterr()
    labctl(state_dir, "start", HOST, "notepad.exe", "--account", "alice")
    pid = json.loads(capsys.readouterr().out)["pid"]
    labctl(state_dir, "crash", HOST, "notepad.exe", "--code", "0xC0000409")
    out = json.loads(capsys.readouterr().out)
    assert out["pid"] == pid and out["exception_code"] == "0xc0000409" and out["reason"] == "written"
    labctl(state_dir, "show", HOST, "--section", "quirks")
    assert json.loads(capsys.readouterr().out)["dumpcount_zero"] == "no_dump"
    labctl(state_dir, "fault", HOST, "exec:1")
    assert json.loads(capsys.readouterr().out)["faults"][0]["on"] == "exec"
    labctl(state_dir, "stats", HOST, "--reset")
    assert json.loads(capsys.readouterr().out)["round_trips"] == 0
    with pytest.raises(SystemExit) as refused:  # argparse: the choices, before anything is read
        cli.main(["--state-dir", state_dir, "show", HOST, "--section", "nope"])
    assert refused.value.code == 2 and "'quirks'" in capsys.readouterr().err
    assert cli.main(["--state-dir", state_dir, "crash", HOST, "a.exe", "--account", "mallory"]) == 2


def test_labctl_launcher(state_dir):
    proc = subprocess.run([os.path.join(REPO, "lab", "labctl"), "show", HOST, "--section", "os"],
                          capture_output=True, text=True, check=True,
                          env=dict(os.environ, CRASHDUMP_LAB_STATE_DIR=state_dir))
    assert json.loads(proc.stdout)["hostname"] == "LAB-WIN2022"
