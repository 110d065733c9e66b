"""Cleanup after an administrator changed what enable wrote (issue 18, point 14): kept and reported, or forced."""

import json
from pathlib import Path

from crashdump_lab.state import open_host

REPO = Path(__file__).resolve().parents[2]
ENABLE = REPO / "playbooks" / "enable_crash_dumps.yml"
CLEANUP = REPO / "playbooks" / "cleanup_crash_dumps.yml"
LD = "HKLM\\SOFTWARE\\Microsoft\\Windows\\Windows Error Reporting\\LocalDumps"
IFEO = "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Image File Execution Options"
UNDO = "HKLM\\SOFTWARE\\crashdump.windows\\Undo"


def canonical(state):
    return json.dumps({"registry": state["registry"], "files": state["files"]}, sort_keys=True)


def administrator_changes(lab, host):
    """What the issue's administrator did after enable: DumpCount 10 -> 20, GlobalFlag +ust."""
    with open_host(str(lab.state_dir), host) as h:
        h.registry.set_value(LD + "\\netsh.exe", 64, "DumpCount", "REG_DWORD", 20)
        h.registry.set_value(IFEO + "\\netsh.exe", 64, "GlobalFlag", "REG_SZ", "0x02001000")


def drift_of(proc):
    return [d for _host, r in proc.results for item in r.get("results", [r]) for d in item.get("drift", [])]


def test_cleanup_keeps_and_reports_what_an_administrator_changed(lab):
    lab.host("win")
    start = canonical(lab.state("win"))
    lab.playbook(ENABLE, "-e", "exe=netsh.exe")
    administrator_changes(lab, "win")
    changed = lab.state("win")

    # Check mode with diff predicts exactly what the real run does, and changes nothing.
    check = lab.playbook(CLEANUP, "-e", "exe=netsh.exe", "--check", "--diff")
    assert canonical(lab.state("win")) == canonical(changed)
    assert '-"PageHeapFlags"=REG_SZ:"0x3"' in check.stdout
    assert '+"GlobalFlag"=REG_SZ:"0x00001000"' in check.stdout
    assert '-"DumpCount"=REG_DWORD:20 (0x14)' not in check.stdout

    run = lab.playbook(CLEANUP, "-e", "exe=netsh.exe", "--diff")
    assert drift_of(run) == drift_of(check)
    reg = lab.registry("win")
    # DumpCount=20 is the administrator's: kept, with the key holding it (the rest of ours is gone).
    assert reg[LD + "\\netsh.exe"]["values"] == {"DumpCount": {"type": "REG_DWORD", "data": 20}}
    # Only hpa, the bit enable set, is cleared: +ust stays, and so does the key; PageHeapFlags was ours.
    assert reg[IFEO + "\\netsh.exe"]["values"] == {"GlobalFlag": {"type": "REG_SZ", "data": "0x00001000"}}
    assert UNDO not in reg
    drift = {(d["key"], d["name"]): d for d in drift_of(run)}
    assert drift[(LD + "\\netsh.exe", "DumpCount")]["written"] == {"type": "REG_DWORD", "data": 10}
    assert drift[(LD + "\\netsh.exe", "DumpCount")]["current"] == {"type": "REG_DWORD", "data": 20}
    assert drift[(IFEO + "\\netsh.exe", "GlobalFlag")]["written"] == {"type": "REG_SZ", "data": "0x02000000"}
    assert drift[(IFEO + "\\netsh.exe", "GlobalFlag")]["current"] == {"type": "REG_SZ", "data": "0x02001000"}
    assert all(d["kept"] for d in drift.values())
    text = " ".join((run.stdout + run.stderr).split())
    assert "DumpCount was changed since crashdump.windows wrote it" in text
    assert "GlobalFlag was changed since crashdump.windows wrote it" in text
    summary = [r["msg"] for _host, r in run.results if "kept" in str(r.get("msg")) and "changed by others" in
               str(r.get("msg"))]
    assert summary and "DumpCount" in summary[0] and "GlobalFlag" in summary[0] and "force=true" in summary[0]

    # Nothing of ours is left: a second cleanup changes nothing and reports nothing.
    again = lab.playbook(CLEANUP, "-e", "exe=netsh.exe")
    assert not any(r.get("changed") for _host, r in again.results) and drift_of(again) == []
    assert canonical(lab.state("win")) != start


def test_force_restores_the_state_before_enable_byte_for_byte(lab):
    lab.host("win")
    start = canonical(lab.state("win"))
    lab.playbook(ENABLE, "-e", "exe=netsh.exe")
    administrator_changes(lab, "win")
    changed = canonical(lab.state("win"))

    check = lab.playbook(CLEANUP, "--check", "--diff", extra_vars={"exe": "netsh.exe", "force": True})
    assert canonical(lab.state("win")) == changed
    assert '-"DumpCount"=REG_DWORD:20 (0x14)' in check.stdout

    run = lab.playbook(CLEANUP, extra_vars={"exe": "netsh.exe", "force": True})
    assert canonical(lab.state("win")) == start
    assert sorted(d["name"] for d in drift_of(run)) == ["DumpCount", "GlobalFlag"]
    assert not any(d["kept"] for d in drift_of(run))
    assert drift_of(run) == [dict(d, kept=False) for d in drift_of(check)]


def test_record_without_written_data_restores_as_before_and_says_so(lab):
    """Records left by an older version (version 1) hold priors only: restored as before, drift unchecked."""
    lab.host("win")
    start = canonical(lab.state("win"))
    lab.playbook(ENABLE, "-e", "exe=netsh.exe")
    with open_host(str(lab.state_dir), "win") as h:
        undo = h.registry.read(UNDO, 64)
        for value in undo["values"]:
            record = json.loads(value["data"])
            record["version"] = 1
            for entry in record["values"]:
                del entry["written"]
            h.registry.set_value(UNDO, 64, value["name"], "REG_SZ", json.dumps(record))
    administrator_changes(lab, "win")
    run = lab.playbook(CLEANUP, "-e", "exe=netsh.exe")
    assert canonical(lab.state("win")) == start
    assert drift_of(run) == []
    assert "older version of crashdump.windows: changes made since by others cannot be told apart" in " ".join(
        (run.stdout + run.stderr).split())


def test_gflags_module_keeps_page_heap_bits_someone_added(lab):
    """PageHeapFlags as GlobalFlag: only the bits the module set go; a type someone chose stays with theirs."""
    lab.host("win")
    start = lab.registry("win")
    lab.play("- crashdump.windows.gflags: {image: netsh.exe, page_heap: full}")
    with open_host(str(lab.state_dir), "win") as h:
        h.registry.set_value(IFEO + "\\netsh.exe", 64, "PageHeapFlags", "REG_SZ", "0x13")
        h.registry.set_value(IFEO + "\\netsh.exe", 64, "GlobalFlag", "REG_DWORD", 0x02000010)
    undo = "- crashdump.windows.gflags: {image: netsh.exe, state: absent%s}"
    check = lab.play(undo % "", "--check", "--diff")
    run = lab.play(undo % "")
    assert check.results[0][1]["drift"] == run.results[0][1]["drift"]
    assert sorted(d["name"] for d in run.results[0][1]["drift"]) == ["GlobalFlag", "PageHeapFlags"]
    assert '+"PageHeapFlags"=REG_SZ:"0x10"' in check.stdout and '+"GlobalFlag"=REG_DWORD:16 (0x10)' in check.stdout
    assert lab.registry("win")[IFEO + "\\netsh.exe"]["values"] == {
        "GlobalFlag": {"type": "REG_DWORD", "data": 0x10}, "PageHeapFlags": {"type": "REG_SZ", "data": "0x10"}}
    assert run.results[0][1]["undo_record"] is False
    # Enabled again over that state, even a forced undo gives back exactly what this enable found.
    lab.play("- crashdump.windows.gflags: {image: netsh.exe, page_heap: full}")
    lab.play(undo % ", force: true")
    assert lab.registry("win")[IFEO + "\\netsh.exe"]["values"] == {
        "GlobalFlag": {"type": "REG_DWORD", "data": 0x10}, "PageHeapFlags": {"type": "REG_SZ", "data": "0x10"}}
    assert IFEO + "\\netsh.exe" not in start
