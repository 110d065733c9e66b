"""Agent protocol host facts on a lab host: os_facts, services, processes, event_query."""

from __future__ import annotations

from . import accounts, clock, errors, events, processes, redirector
from . import services as lab_services

EVENT_LOGS = ("Application", "System", "Security", "Setup")
OS_ENV = ("SystemRoot", "ProgramData", "ProgramFiles", "ProgramW6432", "windir", "SystemDrive")
_OS_FIELDS = ("hostname", "os_name", "version", "build", "arch", "is_64bit", "ps_version", "language_mode",
              "system_root")


def _os_facts(host, a):
    facts = {k: host.state["os"][k] for k in _OS_FIELDS}
    facts["process_64bit"] = facts["is_64bit"] and not redirector.wow64_agent(host.state)
    facts["env"] = {name: host.state["env"].get(name) for name in OS_ENV}
    return facts


def _service_state(host, a):
    name = a.get("name", str)
    state = host.state
    real = lab_services.find(state, name)
    if real is None:
        return {"exists": False, "name": name, "display_name": None, "status": None, "start_mode": None,
                "account": None, "pid": None, "dependents": [], "shared_with": []}
    svc = state["services"][real]
    return {"exists": True, "name": real, "display_name": svc["display_name"], "status": svc["status"],
            "start_mode": svc["start_mode"], "account": svc["account"], "pid": svc["pid"],
            "dependents": [{"name": d, "status": state["services"][d]["status"],
                            "start_mode": state["services"][d]["start_mode"]}
                           for d in lab_services.dependents(state, real)],
            "shared_with": lab_services.shared_with(state, real)}


def _service_restart(host, a):
    """What the agent does: refuse a Disabled service (or a running dependent that
    could not start again) before stopping anything; stop it (ServiceController.Stop
    stops its running dependents first); start it, then those dependents in start
    order; say whether it now runs in a process that did not exist before."""
    name = a.get("name", str)
    state = host.state
    real = lab_services.find(state, name)
    if real is None:
        raise errors.service_not_found(name)
    before = _service_state(host, a)
    running_pids = {s["pid"] for s in state["services"].values() if s["pid"]}
    again = [d["name"] for d in reversed(before["dependents"]) if d["status"] != "Stopped"]
    for svc, mode in [(real, before["start_mode"])] + [(d["name"], d["start_mode"]) for d in before["dependents"]
                                                       if d["name"] in again]:
        if mode == "Disabled":
            raise errors.service_disabled(svc)
    if before["status"] != "Stopped":
        lab_services.stop(host, real)
    lab_services.start(host, real)
    for dep in again:
        if state["services"][dep]["status"] == "Stopped":
            lab_services.start(host, dep)
    after = _service_state(host, a)
    return dict(after, previous_status=before["status"], pid_before=before["pid"], restarted_dependents=again,
                restart_effective=bool(after["pid"]) and after["pid"] not in running_pids)


def _owner_name(state, account):
    """Domain and user as Win32_Process.GetOwner gives them: LookupAccountSid, localised."""
    return accounts.account_name(state, state["accounts"][account]["sid"])


def _process_list(host, a):
    names = a.get("names", list, [])
    if not all(isinstance(n, str) for n in names):
        raise errors.invalid_argument("field 'names' must be a list of strings")
    wanted = {n.casefold() for n in names}
    listed = []
    for proc in host.state["processes"]:
        if not wanted or proc["name"].casefold() in wanted:
            if processes.is_protected(proc):  # the agent runs as an administrator, not SYSTEM
                listed.append(dict(processes.public(proc), account=None, path=None))
            else:
                listed.append(dict(processes.public(proc), account=_owner_name(host.state, proc["account"])))
    return {"processes": listed}


def _event_query(host, a):
    log = a.get("log", str, "Application")
    known = {e["log"].casefold() for e in host.state["events"]} | {n.casefold() for n in EVENT_LOGS}
    if log.casefold() not in known:
        raise errors.log_not_found(log)
    providers = a.get("providers", list, [])
    ids = a.get("ids", list, [])
    if not all(isinstance(p, str) for p in providers):
        raise errors.invalid_argument("field 'providers' must be a list of strings")
    if any("'" in p and '"' in p for p in providers):  # no XPath 1.0 literal can hold both quotes
        raise errors.invalid_argument("field 'providers' cannot name a provider holding both ' and \"")
    if not all(isinstance(i, int) and not isinstance(i, bool) and 0 <= i <= 65535 for i in ids):
        raise errors.invalid_argument("field 'ids' must be a list of integers from 0 to 65535")
    limit = a.get("max_events", int, required=False)
    if limit is not None and limit < 0:
        raise errors.invalid_argument("field 'max_events' must be an integer from 0")
    return events.query(host.state, log, providers, ids, _since(a), limit)


# -- harvest: file_find, temp_dir, file_compress ------------------------------


def _since(a):
    since = a.get("since", str, required=False)
    try:
        return clock.parse(since) if since is not None else None
    except ValueError as e:
        raise errors.invalid_argument("field 'since' must be an ISO 8601 string or null") from e
