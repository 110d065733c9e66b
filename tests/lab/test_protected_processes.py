"""Protected processes (csrss.exe, MsMpEng.exe): Win32_Process shows an administrator no path and no owner.
The lab's default host runs them; process_list, image_files, folder_probe and preflight cope."""

from __future__ import annotations

from crashdump_lab import execute_batch, open_host, processes
from crashdump_lab.defaults import default_state

HOST = "lab-protected"


def run(state_dir, *ops):
    with open_host(state_dir, HOST) as lab:
        results = execute_batch(lab, {"version": 1, "stop_on_error": True, "ops": list(ops)})["results"]
    assert all(r["ok"] for r in results), results
    return [r["data"] for r in results]


def test_a_default_host_runs_protected_processes():
    protected = {p["name"]: p for p in default_state("h")["processes"] if processes.is_protected(p)}
    assert set(protected) == {"csrss.exe", "MsMpEng.exe"}
    assert all(p["path"] and p["account"] == "SYSTEM" for p in protected.values())  # known to the lab, not shown


def test_process_list_shows_no_path_or_owner_of_a_protected_process(state_dir):
    listed, = run(state_dir, {"op": "process_list", "names": ["csrss.exe", "msmpeng.exe", "lsass.exe"]})
    by_name = {p["name"]: p for p in listed["processes"]}
    assert by_name["csrss.exe"]["path"] is None and by_name["csrss.exe"]["account"] is None
    assert by_name["MsMpEng.exe"]["path"] is None and by_name["MsMpEng.exe"]["account"] is None
    assert by_name["MsMpEng.exe"]["pid"] == 3016 and by_name["MsMpEng.exe"]["start_time"]
    assert by_name["lsass.exe"]["path"] == "C:\\Windows\\System32\\lsass.exe" and by_name["lsass.exe"]["account"]


def test_image_files_and_folder_probe_skip_what_they_cannot_read(state_dir):
    files, probe = run(state_dir, {"op": "image_files", "name": "MsMpEng.exe", "paths": []},
                       {"op": "folder_probe", "value": [], "default": "%LOCALAPPDATA%\\CrashDumps", "accounts": [],
                        "process_names": ["MsMpEng.exe"]})
    assert not any(s.startswith("process:") for f in files["files"] for s in f["sources"])
    assert probe["accounts"] == []


def test_preflight_reports_an_unknown_owner_instead_of_failing(lab):
    lab.host("win")
    proc = lab.play("- crashdump.windows.preflight:\n    exe: MsMpEng.exe\n")
    (result,) = [r for _host, r in proc.results]
    assert not result.get("failed"), result
    by_id = {f["id"]: f for f in result["findings"]}
    assert "pid 3016 started" in by_id["image_instances"]["message"]
    assert "as an unknown account" in by_id["image_instances"]["message"]
    assert by_id["account_unknown"]["evidence"] == {"pids": [3016]}
