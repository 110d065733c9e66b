"""The lab's Service Control Manager: dependents, start modes and shared processes
(lab/crashdump_lab/services.py cites the Windows fact behind each rule)."""

from __future__ import annotations

import pytest
from service_seed import service, service_process

from crashdump_lab import errors, open_host, seed_host, services

HOST = "lab-win2022"
# AppUi needs AppWorker needs AppSvc; AppReport needs AppSvc but is stopped.
# SharedA and SharedB run in one svchost (group appgroup); Off is Disabled.
SEED = {
    "services": {
        "AppSvc": service("Running", 6000, path='"C:\\Program Files\\App\\appsvc.exe" /service'),
        "AppWorker": service("Running", 6004, depends_on=["appsvc"]),
        "AppUi": service("Running", 6008, depends_on=["AppWorker", "EventLog"]),
        "AppReport": service("Stopped", start_mode="Manual", depends_on=["AppSvc"]),
        "SharedA": service("Running", 6100, group="appgroup"),
        "SharedB": service("Running", 6100, group="AppGroup"),
        "Off": service("Stopped", start_mode="Disabled"),
        "NeedsOff": service("Stopped", start_mode="Manual", depends_on=["Off"]),
    },
    "processes": [service_process(*p, folder="C:\\Windows\\System32") for p in (
        ("appsvc.exe", 6000, ["AppSvc"]), ("appworker.exe", 6004, ["AppWorker"]), ("appui.exe", 6008, ["AppUi"]),
        ("svchost.exe", 6100, ["SharedA", "SharedB"]))],
}


@pytest.fixture
def lab(state_dir):
    seed_host(state_dir, HOST, SEED)
    with open_host(state_dir, HOST) as host:
        yield host


def status(lab, *names):
    return [lab.state["services"][n]["status"] for n in names]


def test_dependents_come_in_reverse_start_order_direct_and_indirect(lab):
    order = services.dependents(lab.state, "AppSvc")
    assert sorted(order) == ["AppReport", "AppUi", "AppWorker"]
    assert order.index("AppUi") < order.index("AppWorker")
    assert services.dependents(lab.state, "AppUi") == []


def test_stop_stops_running_dependents_first_and_leaves_them_stopped(lab):
    assert services.stop(lab, "AppSvc") == ["AppUi", "AppWorker"]
    assert status(lab, "AppSvc", "AppWorker", "AppUi", "AppReport") == ["Stopped"] * 4
    assert not any(p["pid"] in (6000, 6004, 6008) for p in lab.state["processes"])
    # Starting it again starts none of its dependents.
    services.start(lab, "AppSvc")
    assert status(lab, "AppSvc", "AppWorker", "AppUi") == ["Running", "Stopped", "Stopped"]


def test_stopping_a_stopped_service_fails(lab):
    with pytest.raises(errors.WinError) as caught:
        services.stop(lab, "AppReport")
    assert caught.value.win32_error == errors.ERROR_SERVICE_NOT_ACTIVE
    assert caught.value.type_name == "System.InvalidOperationException"


def test_a_restarted_service_gets_a_new_process_and_pid(lab):
    services.stop(lab, "AppSvc")
    proc = services.start(lab, "AppSvc")
    assert proc["pid"] not in (0, 6000) and lab.state["services"]["AppSvc"]["pid"] == proc["pid"]
    assert proc["path"] == "C:\\Program Files\\App\\appsvc.exe" and proc["services"] == ["AppSvc"]


def test_the_process_with_the_highest_pid_restarts_with_another_pid(lab):
    # The lab gives a pid out once: the process that had the highest pid must not get it back.
    first = services.start(lab, "AppReport")
    services.stop(lab, "AppReport")
    assert services.start(lab, "AppReport")["pid"] != first["pid"]


def test_starting_a_service_starts_what_it_depends_on(lab):
    services.stop(lab, "AppSvc")
    services.start(lab, "AppUi")
    assert status(lab, "AppSvc", "AppWorker", "AppUi") == ["Running"] * 3


@pytest.mark.parametrize("name, code", [("Off", errors.ERROR_SERVICE_DISABLED),
                                        ("NeedsOff", errors.ERROR_SERVICE_DEPENDENCY_FAIL),
                                        ("AppSvc", errors.ERROR_SERVICE_ALREADY_RUNNING)])
def test_what_cannot_start(lab, name, code):
    before = status(lab, *lab.state["services"])
    with pytest.raises(errors.WinError) as caught:
        services.start(lab, name)
    assert caught.value.win32_error == code
    assert status(lab, *lab.state["services"]) == before


def test_a_shared_process_outlives_one_of_its_services(lab):
    assert services.shared_with(lab.state, "SharedA") == ["SharedB"]
    services.stop(lab, "SharedA")
    assert [p["services"] for p in lab.state["processes"] if p["pid"] == 6100] == [["SharedB"]]
    # Started again, it joins the running process of its group: same pid, old image flags.
    assert services.start(lab, "SharedA")["pid"] == 6100
    assert lab.state["services"]["SharedA"]["pid"] == 6100
    # Once every service of the process has stopped, the process is gone and the next start gets a new one.
    services.stop(lab, "SharedA")
    services.stop(lab, "SharedB")
    assert not any(p["pid"] == 6100 for p in lab.state["processes"])
    assert services.start(lab, "SharedA")["pid"] != 6100
