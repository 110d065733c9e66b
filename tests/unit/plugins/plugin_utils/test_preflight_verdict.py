"""The preflight's verdict: what other processes get, and which running instances lack page heap."""

from __future__ import annotations

from ansible_collections.crashdump.windows.plugins.plugin_utils import _preflight_verdict as verdict
from ansible_collections.crashdump.windows.plugins.plugin_utils._registry import KeyState

LD = "HKLM\\SOFTWARE\\Microsoft\\Windows\\Windows Error Reporting\\LocalDumps"
IFEO = "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Image File Execution Options\\app.exe"
PLANNED = {"DumpFolder": "C:\\WER", "DumpCount": 10, "DumpType": 2}


def key(name, values=None):
    return KeyState(name, 64, {"exists": values is not None, "subkeys": [], "values": [
        {"name": n, "type": t, "data": d} for n, (t, d) in (values or {}).items()]})


def test_other_processes_get_the_global_values_the_defaults_or_nothing():
    team = key(LD, {"DumpFolder": ("REG_EXPAND_SZ", "C:\\Team"), "DumpCount": ("REG_DWORD", 5)})
    assert verdict.other_processes(team, PLANNED, guard=True) == {
        "dump_folder": "C:\\Team", "dump_count": 5, "dump_type": "mini", "source": "global"}
    assert verdict.other_processes(key(LD), PLANNED, guard=True) is None
    assert verdict.other_processes(key(LD), PLANNED, guard=False)["source"] == "default"
    assert verdict.other_processes(key(LD, {}), PLANNED, guard=True)["source"] == "default"
    assert verdict.other_processes(key(LD, {"DumpCount": ("REG_DWORD", 0)}), PLANNED, guard=False) is None
    # A DumpCount WER ignores (wrong type) leaves the default of 10.
    assert verdict.other_processes(key(LD, {"DumpCount": ("REG_SZ", "0")}), PLANNED, guard=True)["dump_count"] == 10


def proc(pid, start):
    return {"pid": pid, "start_time": start, "services": [], "account": "SYSTEM"}


def test_instances_started_before_the_last_write_lack_page_heap():
    on = key(IFEO, {"GlobalFlag": ("REG_SZ", "0x02000000"), "PageHeapFlags": ("REG_SZ", "0x3")})
    old, new = proc(8, "2026-12-04T10:00:00.000Z"), proc(12, "2026-12-04T12:00:00.000Z")
    result = verdict.page_heap(on, "2026-12-04T11:00:00.000Z", [old, new], "full")
    assert result == {"mode": "full", "pending": [{"pid": 8, "start_time": old["start_time"], "services": []}]}
    # About to be written: every running instance waits for its restart.
    assert [p["pid"] for p in verdict.page_heap(key(IFEO), None, [old, new], "full")["pending"]] == [8, 12]
    # An unknown start time counts as waiting; nothing waits for page heap that is off.
    assert [p["pid"] for p in verdict.page_heap(on, "2026-12-04T11:00:00.000Z", [proc(4, None)], None)["pending"]] \
        == [4]
    assert verdict.page_heap(key(IFEO), None, [old], None) == {"mode": "off", "pending": []}


def test_a_service_to_restart_must_exist_and_not_be_disabled():
    found = []

    def add(id_, severity, message, evidence=None, fix=None):
        found.append((id_, severity))
    verdict.restart_service_findings(add, {"name": "Spoolr", "exists": False}, "app.exe", [])
    verdict.restart_service_findings(add, {"name": "S", "exists": True, "start_mode": "Disabled"}, "app.exe", [])
    verdict.restart_service_findings(add, {"name": "S", "exists": True, "start_mode": "Auto", "pid": 40}, "app.exe",
                                     [proc(8, None)])
    verdict.restart_service_findings(add, {"name": "S", "exists": True, "start_mode": "Auto", "pid": 8}, "app.exe",
                                     [proc(8, None)])
    assert found == [("restart_service_missing", "warning"), ("restart_service_disabled", "warning"),
                     ("restart_service_other_image", "warning")]
