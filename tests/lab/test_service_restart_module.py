"""crashdump.windows.service_restart through ansible-playbook on a lab host whose
services have dependents, a Disabled start mode, or share a svchost."""

from __future__ import annotations

from service_seed import service, service_process

SEED = {
    "services": {
        # AppUi needs AppWorker needs AppSvc; AppReport needs AppSvc and is stopped.
        "AppSvc": service("Running", 6000),
        "AppWorker": service("Running", 6004, depends_on=["AppSvc"]),
        "AppUi": service("Running", 6008, depends_on=["AppWorker"]),
        "AppReport": service("Stopped", start_mode="Manual", depends_on=["AppSvc"]),
        # Set to Disabled while running: stopped, it could not start again.
        "Legacy": service("Running", 6200, start_mode="Disabled"),
        "LegacyUi": service("Running", 6204, depends_on=["Legacy"]),
        # Two services of one svchost group in one process.
        "SharedA": service("Running", 6100, group="appgroup"),
        "SharedB": service("Running", 6100, group="appgroup"),
    },
    "processes": [service_process(*p) for p in (
        ("appsvc.exe", 6000, ["AppSvc"]), ("appworker.exe", 6004, ["AppWorker"]), ("appui.exe", 6008, ["AppUi"]),
        ("legacy.exe", 6200, ["Legacy"]), ("legacyui.exe", 6204, ["LegacyUi"]),
        ("svchost.exe", 6100, ["SharedA", "SharedB"]))],
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
