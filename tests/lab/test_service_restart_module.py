"""crashdump.windows.service_restart through ansible-playbook on a lab host whose
services have dependents, a Disabled start mode, or share a svchost."""

from __future__ import annotations

BOOT = "2026-11-20T06:00:00.000Z"


def _svc(status, pid=0, start_mode="Auto", **extra):
    return dict({"display_name": "x", "status": status, "start_mode": start_mode, "account": "LocalSystem",
                 "pid": pid}, **extra)


def _proc(name, pid, names):
    return {"name": name, "pid": pid, "start_time": BOOT, "account": "SYSTEM", "services": names,
            "path": "C:\\Program Files\\App\\" + name}


SEED = {
    "services": {
        # AppUi needs AppWorker needs AppSvc; AppReport needs AppSvc and is stopped.
        "AppSvc": _svc("Running", 6000),
        "AppWorker": _svc("Running", 6004, depends_on=["AppSvc"]),
        "AppUi": _svc("Running", 6008, depends_on=["AppWorker"]),
        "AppReport": _svc("Stopped", start_mode="Manual", depends_on=["AppSvc"]),
        # Set to Disabled while running: stopped, it could not start again.
        "Legacy": _svc("Running", 6200, start_mode="Disabled"),
        "LegacyUi": _svc("Running", 6204, depends_on=["Legacy"]),
        # Two services of one svchost group in one process.
        "SharedA": _svc("Running", 6100, group="appgroup"),
        "SharedB": _svc("Running", 6100, group="appgroup"),
    },
    "processes": [_proc("appsvc.exe", 6000, ["AppSvc"]), _proc("appworker.exe", 6004, ["AppWorker"]),
                  _proc("appui.exe", 6008, ["AppUi"]), _proc("legacy.exe", 6200, ["Legacy"]),
                  _proc("legacyui.exe", 6204, ["LegacyUi"]), _proc("svchost.exe", 6100, ["SharedA", "SharedB"])],
}


def restart(lab, name, *args):
    run = lab.play("- crashdump.windows.service_restart:\n    name: %s" % name, *args, check=False)
    assert len(run.results) == 1, run.stdout + run.stderr
    run.result = run.results[0][1]
    run.text = " ".join((run.stdout + run.stderr).split())
    return run


def services(lab):
    state = lab.state("win")
    return state["services"], state["processes"]


def test_running_dependents_run_again_after_the_restart(lab):
    lab.host("win", SEED)
    checked = restart(lab, "AppSvc", "--check")
    run = restart(lab, "AppSvc")
    assert run.returncode == 0, run.text
    svcs, _procs = services(lab)
    assert [svcs[n]["status"] for n in ("AppSvc", "AppWorker", "AppUi", "AppReport")] == \
        ["Running", "Running", "Running", "Stopped"]
    assert svcs["AppWorker"]["pid"] not in (0, 6004) and svcs["AppUi"]["pid"] not in (0, 6008)
    # Check mode predicted what the restart did, from the read alone.
    assert run.result["restarted_dependents"] == checked.result["restarted_dependents"] == ["AppWorker", "AppUi"]
    assert checked.result["restart_effective"] is True and checked.result["pid_after"] is None
    result = run.result
    assert (result["pid_before"], result["pid_after"]) == (6000, svcs["AppSvc"]["pid"]) and result["pid_after"] != 6000
    assert result["restart_effective"] is True and "[WARNING]" not in run.text


def test_a_disabled_service_is_refused_before_anything_stops(lab):
    lab.host("win", SEED)
    start = services(lab)
    for args in (("--check",), ()):
        run = restart(lab, "Legacy", *args)
        assert run.returncode != 0, run.text
        assert "service 'Legacy' is disabled (start mode Disabled) and could not start again: nothing was stopped" \
            in run.result["msg"]
        assert services(lab) == start


def test_a_service_sharing_its_process_reports_the_restart_as_not_effective(lab):
    lab.host("win", SEED)
    checked = restart(lab, "SharedA", "--check")
    run = restart(lab, "SharedA")
    assert run.returncode == 0, run.text
    for text in (checked.text, run.text):
        assert "service SharedA runs in process 6100 with other running services (SharedB): it keeps that process" \
            in text
    assert (run.result["pid_before"], run.result["pid_after"], run.result["restart_effective"]) == (6100, 6100, False)
    assert checked.result["restart_effective"] is False and checked.result["before"]["shared_with"] == ["SharedB"]
    svcs, _procs = services(lab)
    assert svcs["SharedA"]["status"] == "Running" and svcs["SharedB"]["pid"] == 6100
