"""The plan service_restart makes from the service as read (check mode reports it as is)."""

import pytest

from ansible_collections.crashdump.windows.plugins.action.service_restart import restart_plan
from ansible_collections.crashdump.windows.plugins.plugin_utils._base import ModuleFailure


def service(start_mode="Auto", dependents=(), shared_with=()):
    return {"name": "Svc", "status": "Running", "start_mode": start_mode, "pid": 100,
            "dependents": [{"name": n, "status": s, "start_mode": m} for n, s, m in dependents],
            "shared_with": list(shared_with)}


def test_running_dependents_restart_in_start_order():
    # The host lists dependents in reverse start order: Ui (last to start) first.
    read = service(dependents=[("Ui", "Running", "Auto"), ("Report", "Stopped", "Disabled"),
                               ("Worker", "Running", "Manual")])
    assert restart_plan(read) == (["Worker", "Ui"], True)


def test_a_shared_process_is_predicted_not_effective():
    assert restart_plan(service(shared_with=["Other"])) == ([], False)


@pytest.mark.parametrize("read, name", [(service(start_mode="Disabled"), "Svc"),
                                        (service(dependents=[("Ui", "Running", "Disabled")]), "Ui")])
def test_what_could_not_start_again_is_refused(read, name):
    with pytest.raises(ModuleFailure, match="service '%s' is disabled .*nothing was stopped" % name):
        restart_plan(read)
