"""Running processes and services of a lab host."""

from __future__ import annotations

from . import accounts, clock, gflags

# Images a fresh Windows keeps in System32; anything else is a program under Program Files.
SYSTEM_IMAGES = frozenset(["cmd.exe", "conhost.exe", "csrss.exe", "dllhost.exe", "lsass.exe", "netsh.exe",
                           "notepad.exe", "rundll32.exe", "services.exe", "spoolsv.exe", "svchost.exe",
                           "taskhostw.exe", "werfault.exe", "wininit.exe", "winlogon.exe", "wmiprvse.exe"])


def default_path(image):
    if image.casefold() in SYSTEM_IMAGES:
        return "C:\\Windows\\System32\\" + image
    return "C:\\Program Files\\%s\\%s" % (image.rsplit(".", 1)[0], image)


def new_pid(state):
    """The next pid (Windows pids are multiples of 4). Never one the host gave
    out before, so a restarted process is told apart by its pid: Windows
    reuses pids only after many others (the lab never does)."""
    used = [p["pid"] for p in state["processes"]] + [s["pid"] or 0 for s in state["services"].values()]
    pid = max([4096, state.get("last_pid", 0)] + used) // 4 * 4 + 4
    state["last_pid"] = pid
    return pid


def find(state, image=None, pid=None):
    for proc in state["processes"]:
        if (pid is None or proc["pid"] == pid) and (image is None or proc["name"].casefold() == image.casefold()):
            return proc
    return None


def start_process(host, image, account=None, service=None, path=None):
    """Add a running process; with ``service`` it hosts that service (created if unknown).

    The process records the image's IFEO GlobalFlag as it was at start: a
    flag set later takes effect only at the next start, as on Windows.
    """
    state = host.state
    pid = new_pid(state)
    services = state["services"]
    svc_name = None
    if service is not None:
        svc_name = next((n for n in services if n.casefold() == service.casefold()), service)
        svc = services.setdefault(svc_name, {"display_name": svc_name, "status": "Stopped", "start_mode": "Manual",
                                             "account": account or "LocalSystem", "pid": 0})
        account = account or svc["account"]
        svc.update(status="Running", pid=pid)
    key = accounts.resolve(state, account) if account else accounts.default_user(state)
    proc = {"name": image, "pid": pid, "start_time": clock.iso(clock.tick(state)), "account": key,
            "path": path or default_path(image), "services": [svc_name] if svc_name else [],
            "global_flag": gflags.global_flag(host.registry, image)}
    state["processes"].append(proc)
    return proc


PUBLIC_FIELDS = ("name", "pid", "start_time", "account", "path", "services")


def public(proc):
    """A process as process_list reports it (without the lab's own bookkeeping)."""
    return {k: proc.get(k) for k in PUBLIC_FIELDS}


def is_protected(proc):
    """Whether the process is protected (``"protected": true`` on its entry: csrss.exe, MsMpEng.exe and other
    protected or antimalware-light processes).

    A protected process grants others only PROCESS_QUERY_LIMITED_INFORMATION, PROCESS_SET_LIMITED_INFORMATION,
    PROCESS_TERMINATE and PROCESS_SUSPEND_RESUME, even to an administrator ("Process Security and Access Rights",
    learn.microsoft.com; "Protecting Anti-Malware Services"). Win32_Process reads the image path and the token
    with more than that, so to a caller other than SYSTEM its ExecutablePath is null and GetOwner / GetOwnerSid
    fail (return value 2, access denied: "GetOwner method of the Win32_Process class"); its name, pid, start
    time and private bytes come from the system process list and stay visible."""
    return bool(proc.get("protected"))


def end_process(state, proc):
    """The process is gone; services it hosted are stopped."""
    state["processes"].remove(proc)
    for name in proc.get("services", []):
        if name in state["services"]:
            state["services"][name].update(status="Stopped", pid=0)
