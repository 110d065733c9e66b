"""The enable role runs crashdump.windows.preflight first: it stops on blockers, shows warnings, and a dump lands
where preflight said."""

from __future__ import annotations

import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ENABLE = REPO / "playbooks" / "enable_crash_dumps.yml"
LD = "HKLM\\SOFTWARE\\Microsoft\\Windows\\Windows Error Reporting\\LocalDumps"
AEDEBUG = "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\AeDebug"


def problems(result):
    return {f["id"] for f in result["findings"] if f["severity"] != "info"}


def test_after_enable_no_blocker_and_the_dump_lands_where_preflight_said(lab):
    lab.host("win")
    enable = lab.playbook(ENABLE, "-e", "exe=netsh.exe")
    summary = enable.stdout
    assert "preflight warning: Microsoft Defender real-time protection scans C:\\\\WER" in summary, summary

    check = lab.play("- crashdump.windows.preflight:\n    exe: netsh.exe\n    account: NT AUTHORITY\\LocalService\n")
    (result,) = [r for _host, r in check.results]
    assert result["counts"]["blocker"] == 0, result["findings"]
    assert problems(result) == {"defender_scans_dump_folder"}
    (where,) = result["dump_locations"]
    assert where["folder"] == "C:\\WER" and where["exists"] and where["writable"]
    crash = json.loads(lab.labctl("crash", "win", "netsh.exe", "--account", "LocalService", "--pid", "4660"))
    assert crash["dump"]["path"] == where["file_pattern"].replace("<pid>", "4660")

    # Another image is kept from dumping by the global DumpCount=0 that enable set: both sides agree.
    check = lab.play("- crashdump.windows.preflight:\n    exe: other.exe\n")
    (result,) = [r for _host, r in check.results]
    assert problems(result) == {"dump_count_zero", "defender_scans_dump_folder"}
    crash = json.loads(lab.labctl("crash", "win", "other.exe", "--account", "SYSTEM"))
    assert crash["dump"] is None and crash["reason"] == "dumpcount_zero"


def test_enable_stops_on_blockers_unless_overridden(lab):
    debugger = {"Auto": {"type": "REG_SZ", "data": "1"}, "Debugger": {"type": "REG_SZ", "data": "procdump -j C:\\D"}}
    lab.host("win", {"registry": {AEDEBUG: {"values": debugger}}})
    start = lab.state("win")
    proc = lab.playbook(ENABLE, "-e", "exe=netsh.exe", check=False)
    assert proc.returncode != 0
    assert "postmortem debugger takes every crash" in proc.stdout and "preflight_override" in proc.stdout
    assert lab.state("win")["registry"] == start["registry"]

    proc = lab.playbook(ENABLE, "-e", "exe=netsh.exe", "-e", "preflight_override=true")
    assert LD + "\\netsh.exe" in lab.registry("win")
    # The summary still says what will keep the dump from appearing.
    assert "netsh.exe: preflight blocker: AeDebug Auto=1" in proc.stdout
