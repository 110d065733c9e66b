"""The protocol executor, operation by operation (docs/docsite/rst/agent_protocol.rst)."""

from __future__ import annotations

import re

import pytest

from crashdump_lab import BatchError, crash, execute_batch, load_state, open_host, seed_host
from crashdump_lab import services as lab_services

HOST = "lab-win2022"
WER = "HKLM\\SOFTWARE\\Microsoft\\Windows\\Windows Error Reporting"
ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\Z")


def run(state_dir, *ops, stop_on_error=True, host=HOST):
    with open_host(state_dir, host) as lab:
        return execute_batch(lab, {"version": 1, "stop_on_error": stop_on_error, "ops": list(ops)})["results"]


def data(state_dir, *ops, host=HOST):
    results = run(state_dir, *ops, host=host)
    assert all(r["ok"] for r in results), results
    return [r["data"] for r in results]


# -- batch ---------------------------------------------------------------


def test_one_result_per_op_in_order_and_skips_after_error(state_dir):
    results = run(state_dir, {"op": "os_facts"}, {"op": "reg_set", "key": WER + "\\Nope", "view": 64, "name": "x",
                                                  "type": "REG_SZ", "data": "y"},
                  {"op": "os_facts"}, {"op": "os_facts"})
    assert [r["ok"] for r in results] == [True, False, False, False]
    assert results[2] == results[3] == {"ok": False, "skipped": True}
    assert results[1]["error"] == {"op": "reg_set", "path": WER + "\\Nope\\x",
                                   "message": "The system cannot find the file specified.",
                                   "type": "System.IO.FileNotFoundException", "hresult": -2147024894}


def test_without_stop_on_error_every_op_runs(state_dir):
    results = run(state_dir, {"op": "nope"}, {"op": "os_facts"}, stop_on_error=False)
    assert results[0]["error"]["type"] == "System.NotSupportedException"
    assert results[0]["error"]["message"] == "Unknown operation 'nope'."
    assert results[1]["ok"]


@pytest.mark.parametrize("batch", [[], {"version": 2, "ops": []}, {"version": 1, "ops": {}},
                                   {"version": 1, "ops": [], "stop_on_error": "yes"}])
def test_malformed_batch(state_dir, batch):
    with open_host(state_dir, HOST) as lab, pytest.raises(BatchError):
        execute_batch(lab, batch)


def test_missing_field_is_an_argument_error(state_dir):
    error = run(state_dir, {"op": "reg_read", "view": 64})[0]["error"]
    assert error["type"] == "System.ArgumentException" and error["hresult"] == -2147024809


# -- registry ------------------------------------------------------------


def test_reg_read_absent_and_present(state_dir):
    absent, present = data(state_dir, {"op": "reg_read", "key": WER + "\\LocalDumps", "view": 64},
                           {"op": "reg_read", "key": WER, "view": 64})
    assert absent == {"exists": False, "values": [], "subkeys": []}
    assert present["exists"] and {"name": "ServiceTimeout", "type": "REG_DWORD", "data": 60000} in present["values"]


def test_reg_create_set_read_delete_roundtrip(state_dir):
    key = WER + "\\LocalDumps\\netsh.exe"
    values = [("DumpFolder", "REG_EXPAND_SZ", "%ProgramData%\\D"), ("Multi", "REG_MULTI_SZ", ["a", "b"]),
              ("DumpCount", "REG_DWORD", 4294967295), ("Q", "REG_QWORD", 18446744073709551615),
              ("Bin", "REG_BINARY", "00ff"), ("None", "REG_NONE", ""), ("", "REG_SZ", "default")]
    ops = [{"op": "reg_create_key", "key": key, "view": 64}]
    ops += [{"op": "reg_set", "key": key, "view": 64, "name": n, "type": t, "data": d} for n, t, d in values]
    ops += [{"op": "reg_read", "key": key, "view": 64}, {"op": "reg_create_key", "key": key, "view": 64}]
    out = data(state_dir, *ops)
    assert out[0] == {"created": [WER + "\\LocalDumps", key]}
    assert out[-2]["values"] == [{"name": n, "type": t, "data": d} for n, t, d in values]
    assert out[-1] == {"created": []}
    deleted = data(state_dir, {"op": "reg_delete_key", "key": key, "view": 64},
                   *[{"op": "reg_delete_value", "key": key, "view": 64, "name": n} for n, _type, _data in values],
                   {"op": "reg_delete_value", "key": key, "view": 64, "name": "DumpType"},
                   {"op": "reg_delete_key", "key": WER + "\\LocalDumps", "view": 64},
                   {"op": "reg_delete_key", "key": key, "view": 64},
                   {"op": "reg_delete_key", "key": key, "view": 64})
    assert deleted[0] == {"deleted": False, "reason": "not_empty"}
    assert all(d == {"deleted": True} for d in deleted[1:8]) and deleted[8] == {"deleted": False}
    assert deleted[9] == {"deleted": False, "reason": "not_empty"}
    assert deleted[10:] == [{"deleted": True, "reason": None}, {"deleted": False, "reason": "absent"}]


def test_reg_set_rejects_bad_data(state_dir):
    error = run(state_dir, {"op": "reg_set", "key": WER, "view": 64, "name": "X", "type": "REG_DWORD", "data": -1})
    assert error[0]["error"]["type"] == "System.ArgumentException"


def test_reg_delete_hive_refused(state_dir):
    assert run(state_dir, {"op": "reg_delete_key", "key": "HKLM", "view": 64})[0]["error"]["type"] == \
        "System.ArgumentException"


def test_bad_view(state_dir):
    assert not run(state_dir, {"op": "reg_read", "key": WER, "view": 16})[0]["ok"]


# -- files ---------------------------------------------------------------


def test_path_stat(state_dir):
    root, missing, bad = data(state_dir, {"op": "path_stat", "path": "C:\\"}, {"op": "path_stat", "path": "C:\\no"},
                              {"op": "path_stat", "path": "C:\\a|b"})
    assert root["exists"] and root["type"] == "directory" and root["size"] is None
    assert root["sddl"].startswith("O:") and ISO.match(root["mtime"])
    assert missing == bad == {"exists": False, "type": None, "size": None, "mtime": None, "sddl": None}


def test_dir_ensure_creates_parents_inheriting_and_sets_sddl(state_dir):
    wanted = "O:BAG:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"
    first, again, stat, parent = data(
        state_dir, {"op": "dir_ensure", "path": "C:\\Dumps\\App", "sddl": wanted},
        {"op": "dir_ensure", "path": "c:\\dumps\\app\\", "sddl": wanted},
        {"op": "path_stat", "path": "C:\\Dumps\\App"}, {"op": "path_stat", "path": "C:\\Dumps"})
    privileges = ["SeRestorePrivilege", "SeTakeOwnershipPrivilege"]
    assert first == {"created": ["C:\\Dumps", "C:\\Dumps\\App"], "sddl_changed": True, "privileges": privileges}
    assert again == {"created": [], "sddl_changed": False, "privileges": privileges}
    assert stat["sddl"] == wanted
    assert "ID" in parent["sddl"] and parent["sddl"].startswith("O:BAG:")


def test_dir_ensure_without_sddl_inherits(state_dir):
    created, stat = data(state_dir, {"op": "dir_ensure", "path": "C:\\ProgramData\\Dumps", "sddl": None},
                         {"op": "path_stat", "path": "C:\\ProgramData\\Dumps"})
    assert created == {"created": ["C:\\ProgramData\\Dumps"], "sddl_changed": False, "privileges": []}
    assert "(A;OICIID;FA;;;SY)" in stat["sddl"]


def test_dir_ensure_compares_only_named_parts_and_keeps_inherited_aces(state_dir):
    data(state_dir, {"op": "dir_ensure", "path": "C:\\D", "sddl": None})
    owner_only, dacl, dacl_again, stat = data(
        state_dir, {"op": "dir_ensure", "path": "C:\\D", "sddl": "O:BA"},
        {"op": "dir_ensure", "path": "C:\\D", "sddl": "D:(A;OICI;FA;;;S-1-5-32-545)"},
        {"op": "dir_ensure", "path": "C:\\D", "sddl": "D:(A;OICI;FA;;;BU)"},
        {"op": "path_stat", "path": "C:\\D"})
    assert owner_only["sddl_changed"] is False  # already owned by Administrators
    assert dacl["sddl_changed"] is True and dacl_again["sddl_changed"] is False
    assert stat["sddl"].startswith("O:BAG:BAD:AI(A;OICI;FA;;;S-1-5-32-545)(A;OICIID;")


def test_dir_ensure_errors(state_dir):
    seed_host(state_dir, HOST, {"files": {"C:\\f": {"content": "x"}}})
    results = run(state_dir, {"op": "dir_ensure", "path": "C:\\f\\sub", "sddl": None},
                  {"op": "dir_ensure", "path": "D:\\x", "sddl": None},
                  {"op": "dir_ensure", "path": "C:\\ok", "sddl": "not sddl"}, stop_on_error=False)
    assert results[0]["error"]["type"] == "System.IO.IOException"
    assert results[1]["error"]["type"] == "System.IO.DirectoryNotFoundException"
    assert results[2]["error"]["type"] == "System.ArgumentException" and results[2]["error"]["path"] == "C:\\ok"


def test_dir_remove(state_dir):
    seed_host(state_dir, HOST, {"files": {"C:\\D\\f.txt": {"content": "x"}, "C:\\E": {"type": "directory"}}})
    results = run(state_dir, {"op": "dir_remove", "path": "C:\\D"}, {"op": "dir_remove", "path": "C:\\E"},
                  {"op": "dir_remove", "path": "C:\\E"}, {"op": "dir_remove", "path": "C:\\D\\f.txt"},
                  stop_on_error=False)
    assert [r.get("data") for r in results[:3]] == [
        {"removed": False, "reason": "not_empty"}, {"removed": True, "reason": None},
        {"removed": False, "reason": "absent"}]
    assert results[3]["error"]["type"] == "System.IO.IOException"


def test_file_list_and_remove(state_dir):
    seed_host(state_dir, HOST, {"files": {
        "C:\\WER\\b.dmp": {"content": "bb", "mtime": "2026-11-01T00:00:00.000Z"},
        "C:\\WER\\A.DMP": {"size": 3000}, "C:\\WER\\notes.txt": {"content": "n"},
        "C:\\WER\\sub.dmp": {"type": "directory"}}})
    listed, hashed, missing = data(state_dir, {"op": "file_list", "path": "c:\\wer", "pattern": "*.dmp"},
                                   {"op": "file_list", "path": "C:\\WER", "pattern": "b.*", "sha256": True},
                                   {"op": "file_list", "path": "C:\\Nope", "pattern": "*"})
    assert [f["name"] for f in listed["files"]] == ["A.DMP", "b.dmp"]
    first = listed["files"][0]
    assert first["path"] == "C:\\wer\\A.DMP" and first["size"] == 3000 and first["sha256"] is None
    assert ISO.match(first["mtime"]) and ISO.match(first["ctime"])
    assert hashed["files"][0]["sha256"] == "3b64db95cb55c763391c707108489ae18b4112d783300de38e033b4c98c3deaf"
    assert hashed["files"][0]["mtime"] == "2026-11-01T00:00:00.000Z"
    assert missing == {"exists": False, "files": []}
    removed = data(state_dir, {"op": "file_remove", "path": "C:\\WER\\b.dmp"},
                   {"op": "file_remove", "path": "C:\\WER\\b.dmp"},
                   {"op": "file_list", "path": "C:\\WER", "pattern": None})
    assert removed[0] == {"removed": True} and removed[1] == {"removed": False}
    assert [f["name"] for f in removed[2]["files"]] == ["A.DMP", "notes.txt"]
    assert not run(state_dir, {"op": "file_remove", "path": "C:\\WER\\sub.dmp"})[0]["ok"]


# -- system --------------------------------------------------------------


@pytest.mark.parametrize("host, arch, w6432", [("lab-win2022", "AMD64", "C:\\Program Files"),
                                               ("lab-win10-x86", "x86", None)])
def test_os_facts(state_dir, host, arch, w6432):
    (facts,) = data(state_dir, {"op": "os_facts"}, host=host)
    assert facts["arch"] == arch and facts["is_64bit"] is (arch != "x86")
    assert facts["system_root"] == "C:\\Windows" and facts["language_mode"] == "FullLanguage"
    assert facts["env"]["ProgramW6432"] == w6432 and facts["env"]["SystemRoot"] == "C:\\Windows"
    assert set(facts) == {"hostname", "os_name", "version", "build", "arch", "is_64bit", "process_64bit", "ps_version",
                          "language_mode", "system_root", "env"}


def test_service_state(state_dir):
    wer, absent, log = data(state_dir, {"op": "service_state", "name": "wersvc"},
                            {"op": "service_state", "name": "NoSuch"}, {"op": "service_state", "name": "EventLog"})
    assert wer == {"exists": True, "name": "WerSvc", "display_name": "Windows Error Reporting Service",
                   "status": "Stopped", "start_mode": "Manual", "account": "LocalSystem", "pid": 0,
                   "dependents": [], "shared_with": []}
    assert log["dependents"] == [{"name": "Wecsvc", "status": "Stopped", "start_mode": "Manual"}]
    assert absent["exists"] is False and absent["name"] == "NoSuch" and absent["status"] is None


def test_service_restart(state_dir):
    svc = {"display_name": "x", "status": "Stopped", "start_mode": "Manual", "account": "LocalSystem", "pid": 0}
    seed_host(state_dir, HOST, {"services": {
        "Wecsvc": dict(svc, depends_on=["EventLog"], group="EventLogGroup"),
        "Off": dict(svc, start_mode="Disabled", status="Running", pid=9000, depends_on=["Schedule"])}})
    with open_host(state_dir, HOST) as lab:
        lab.state["services"]["EventLog"]["group"] = "EventLogGroup"
    data(state_dir, {"op": "service_restart", "name": "Wecsvc"})
    log, = data(state_dir, {"op": "service_restart", "name": "eventlog"})
    assert log["previous_status"] == "Running" and log["restarted_dependents"] == ["Wecsvc"]
    assert log["pid_before"] == 1372 and log["pid"] not in (0, 1372) and log["restart_effective"] is True
    assert log["shared_with"] == ["Wecsvc"]
    # Stopped, it joins the running process of its group: a new pid, but not a new process.
    with open_host(state_dir, HOST) as lab:
        lab_services.stop(lab, "Wecsvc")
    wec, = data(state_dir, {"op": "service_restart", "name": "Wecsvc"})
    assert (wec["pid_before"], wec["pid"], wec["restart_effective"]) == (0, log["pid"], False)
    # A running dependent that is Disabled could not start again: nothing stops.
    before = load_state(state_dir, HOST)
    refused, = run(state_dir, {"op": "service_restart", "name": "Schedule"})
    assert refused["ok"] is False and "service 'Off' is disabled" in refused["error"]["message"]
    assert load_state(state_dir, HOST)["services"] == before["services"]
    missing, = run(state_dir, {"op": "service_restart", "name": "NoSuch"})
    assert "Cannot find any service with service name 'NoSuch'" in missing["error"]["message"]


def test_process_list(state_dir):
    everything, svchosts, none = data(state_dir, {"op": "process_list", "names": []},
                                      {"op": "process_list", "names": ["SVCHOST.EXE"]},
                                      {"op": "process_list", "names": ["netsh.exe"]})
    assert len(everything["processes"]) == 7 and none == {"processes": []}  # csrss.exe, MsMpEng.exe protected
    assert [p["services"] for p in svchosts["processes"]] == [["EventLog"], ["Schedule"]]
    assert svchosts["processes"][0]["account"] == "NT AUTHORITY\\LOCAL SERVICE"
    explorer = next(p for p in everything["processes"] if p["name"] == "explorer.exe")
    assert explorer["account"] == "LAB-WIN2022\\alice"
    assert set(explorer) == {"name", "pid", "start_time", "account", "path", "services"}


def test_event_query_filters_newest_first(state_dir):
    seed_host(state_dir, HOST, {"registry": {WER + "\\LocalDumps": {}}})
    with open_host(state_dir, HOST) as lab:
        crash(lab, "a.exe")
        second = crash(lab, "b.exe")
        since = next(e for e in lab.state["events"] if e["record_id"] == second["events"][0])["time"]
    crashes, wer_only, recent, limited, none = data(
        state_dir,
        {"op": "event_query", "log": "Application", "providers": ["application error"], "ids": [1000],
         "since": None, "max_events": None},
        {"op": "event_query", "log": "Application", "providers": ["Windows Error Reporting"], "ids": [1001]},
        {"op": "event_query", "log": "Application", "providers": [], "ids": [], "since": since},
        {"op": "event_query", "log": "Application", "max_events": 1},
        {"op": "event_query", "log": "System"})
    assert [e["properties"][0] for e in crashes["events"]] == ["b.exe", "a.exe"]
    # The default host already has a 1001 that is not a crash.
    assert [e["properties"][2] for e in wer_only["events"]] == [
        "APPCRASH", "APPCRASH", "StoreAgentScanForUpdatesFailure0"]
    assert [e["record_id"] for e in recent["events"]] == [second["events"][1], second["events"][0]]
    assert len(limited["events"]) == 1 and limited["events"][0]["record_id"] == second["events"][1]
    assert none == {"events": [], "truncated": False, "unregistered_providers": []}
    event = crashes["events"][0]
    assert set(event) == {"log", "provider", "id", "level", "time", "record_id", "machine", "properties"}


def test_event_query_errors(state_dir):
    results = run(state_dir, {"op": "event_query", "log": "NoSuchLog"},
                  {"op": "event_query", "log": "Application", "since": "yesterday"},
                  {"op": "event_query", "log": "Application", "ids": [70000]}, stop_on_error=False)
    assert [r["ok"] for r in results] == [False, False, False]
    assert results[0]["error"]["path"] == "NoSuchLog"
