"""Services of a lab host as the Service Control Manager runs them: dependencies,
start modes and the processes services share.

A service record may carry, besides display_name/status/start_mode/account/pid:

``depends_on``  the services it needs running (Win32_Service dependencies,
                the SCM's lpDependencies);
``group``       its svchost group (``svchost.exe -k GROUP``): services of one
                group run in one process when the host does not split them;
``path``        its image (ImagePath); remembered when its process exits.
"""

from __future__ import annotations

import re

from . import accounts, errors, processes


def find(state, name):
    """The service's own spelling of ``name`` (service names are case-insensitive), or None."""
    return next((n for n in state["services"] if n.casefold() == name.casefold()), None)


def _depends_on(state, name):
    return [real for real in (find(state, d) for d in state["services"][name].get("depends_on", [])) if real]


def dependents(state, name):
    """Every service that needs ``name``, directly or through others, in the order
    EnumDependentServices (ServiceController.DependentServices) gives them: "the
    reverse order of the start order" (learn.microsoft.com, EnumDependentServicesW)."""
    needs = {}
    for other in state["services"]:
        for dep in _depends_on(state, other):
            needs.setdefault(dep, []).append(other)
    found, todo = set(), [name]
    while todo:
        for other in needs.get(todo.pop(), []):
            if other not in found:
                found.add(other)
                todo.append(other)
    start_order = []

    def visit(svc):
        if svc in start_order:
            return
        for dep in _depends_on(state, svc):
            if dep in found:
                visit(dep)
        start_order.append(svc)

    for svc in sorted(found, key=str.casefold):
        visit(svc)
    return start_order[::-1]


def host_process(state, name):
    pid = state["services"][name]["pid"]
    return processes.find(state, pid=pid) if pid else None


def shared_with(state, name):
    """The other running services in the process of ``name`` (several services, one pid: a svchost group)."""
    proc = host_process(state, name)
    return sorted((s for s in proc["services"] if s != name), key=str.casefold) if proc else []


def stop(host, name):
    """ServiceController.Stop: "If any services depend on this service for their
    operation, they will be stopped before this service is stopped"
    (learn.microsoft.com, ServiceController.Stop). Stopping a service that is
    not running fails: ControlService ERROR_SERVICE_NOT_ACTIVE (1062).
    Returns the dependents it stopped, in the order it stopped them."""
    state = host.state
    if state["services"][name]["status"] == "Stopped":
        raise errors.service_control("Cannot stop %s service on computer '.'." % name,
                                     errors.ERROR_SERVICE_NOT_ACTIVE)
    stopped = []
    for dep in dependents(state, name):
        if state["services"][dep]["status"] != "Stopped":
            _stop_one(state, dep)
            stopped.append(dep)
    _stop_one(state, name)
    return stopped


def _stop_one(state, name):
    # A service process exits once all its services have stopped:
    # StartServiceCtrlDispatcher "does not return until all running services in
    # the process have entered the SERVICE_STOPPED state" (learn.microsoft.com,
    # StartServiceCtrlDispatcherW). Others still running keep it, and its pid.
    svc = state["services"][name]
    proc = host_process(state, name)
    svc.update(status="Stopped", pid=0)
    if proc is None:
        return
    svc.setdefault("path", proc["path"])
    proc["services"] = [s for s in proc["services"] if s != name]
    if not proc["services"]:
        state["processes"].remove(proc)


def start(host, name):
    """StartService: a Disabled service fails with ERROR_SERVICE_DISABLED (1058);
    one already running with ERROR_SERVICE_ALREADY_RUNNING (1056); the SCM
    starts the services it depends on first, and fails with
    ERROR_SERVICE_DEPENDENCY_FAIL (1068) when one of them cannot start
    (learn.microsoft.com, StartServiceW). A service of a svchost group whose
    process runs joins that process (same pid); otherwise a new process starts,
    with a new pid."""
    state = host.state
    svc = state["services"][name]
    failed = "Cannot start service %s on computer '.'." % name
    if svc["start_mode"] == "Disabled":
        raise errors.service_control(failed, errors.ERROR_SERVICE_DISABLED)
    if svc["status"] != "Stopped":
        raise errors.service_control(failed, errors.ERROR_SERVICE_ALREADY_RUNNING)
    for dep in _depends_on(state, name):
        if state["services"][dep]["status"] == "Stopped":
            try:
                start(host, dep)
            except errors.WinError:
                raise errors.service_control(failed, errors.ERROR_SERVICE_DEPENDENCY_FAIL) from None
    group = svc.get("group")
    proc = next((p for p in state["processes"] if group and any(
        (state["services"].get(s) or {}).get("group", "").casefold() == group.casefold() for s in p["services"])),
        None)
    if proc is not None:
        proc["services"].append(name)
        svc.update(status="Running", pid=proc["pid"])
        return proc
    path = svc.get("path") and accounts.expand(executable(svc["path"]), state["env"])
    image = path.rsplit("\\", 1)[-1] if path else "svchost.exe"
    return processes.start_process(host, image, service=name, path=path)


_COMMAND_LINE = re.compile(r'"([^"]*)"?|(.*?\.exe)(?:\s|$)|(\S+)', re.IGNORECASE)


def executable(command_line):
    """The executable of a service command line (ImagePath): quoted, up to ``.exe``, or the first word."""
    m = _COMMAND_LINE.match((command_line or "").strip())
    return next((g for g in m.groups() if g), None) if m else None
