"""Agent protocol preflight probes on a lab host: image files, process memory, folder access, antivirus, hotfixes."""

from __future__ import annotations

from . import accounts, clock, errors, processes, winpath
from . import services as lab_services
from .op_args import _Args
from .ops_host import _owner_name

APP_PATHS = "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\App Paths"
# What a process's private bytes are when the lab host's state does not say.
DEFAULT_PRIVATE_BYTES = 64 * 1024 * 1024
_NO_VERSION = {"version": None, "product_version": None, "product_name": None, "company": None}


def _strings(a, name):
    values = a.get(name, list, [])
    if not all(isinstance(v, str) and v for v in values):
        raise errors.invalid_argument("field '%s' must be a list of non-empty strings" % name)
    return values


def _executable(host, path):
    """What image_files reports of one path: installed executables carry a version resource."""
    state = host.state
    known = {winpath.fold(p): e for p, e in state.get("executables", {}).items()}
    try:
        folded = winpath.fold(winpath.norm(path))
    except errors.WinError:
        return dict(_NO_VERSION, exists=False, size=None, mtime=None)
    if folded in known:
        entry = known[folded]
        return {"exists": True, "version": entry.get("version"), "product_version": entry.get("product_version"),
                "product_name": entry.get("product_name"), "company": entry.get("company"),
                "size": entry.get("size"), "mtime": entry.get("mtime")}
    entry = host.files.entry(winpath.norm(path))
    if entry is not None and entry["type"] == "file":
        return dict(_NO_VERSION, exists=True, size=entry["size"], mtime=entry["mtime"])
    return dict(_NO_VERSION, exists=False, size=None, mtime=None)


def _image_files(host, a):
    name = a.get("name", str)
    if not name or "\\" in name or "/" in name:
        raise errors.invalid_argument("field 'name' must be a file name")
    given = _strings(a, "paths")
    state, reg = host.state, host.registry
    found = {}

    def add(path, source, only_existing=False):
        if only_existing and not _executable(host, path)["exists"]:
            return
        entry = found.setdefault(winpath.fold(path), {"path": path, "sources": []})
        if source not in entry["sources"]:  # both registry views read the shared App Paths key
            entry["sources"].append(source)

    root = state["env"]["SystemRoot"]
    add(root + "\\System32\\" + name, "system32", only_existing=True)
    if state["os"]["is_64bit"]:
        add(root + "\\SysWOW64\\" + name, "syswow64", only_existing=True)
    for view in (64, 32):
        value = reg.get_value(APP_PATHS + "\\" + name, view, "")
        if value is not None and value["type"] in ("REG_SZ", "REG_EXPAND_SZ") and value["data"].strip():
            add(accounts.expand(value["data"].strip().strip('"'), state["env"]), "app_paths")
    running = {p["pid"]: p for p in state["processes"]}
    services = []
    for svc_name, svc in state["services"].items():
        host_process = running.get(svc["pid"]) if svc["pid"] else None
        binary = svc.get("path") or (host_process["path"] if host_process else None)
        binary = accounts.expand(lab_services.executable(binary), state["env"]) if binary else None
        if binary and winpath.fold(binary.rsplit("\\", 1)[-1]) == winpath.fold(name):
            add(binary, "service:" + svc_name)
            services.append({"name": svc_name, "display_name": svc["display_name"], "account": svc["account"],
                             "start_mode": svc["start_mode"], "status": svc["status"], "pid": svc["pid"],
                             "path": binary})
    for proc in state["processes"]:
        if proc["name"].casefold() == name.casefold() and proc.get("path") and not processes.is_protected(proc):
            add(proc["path"], "process:%d" % proc["pid"])
    for path in given:
        add(accounts.expand(path, state["env"]), "given")
    files = [dict(entry, **_executable(host, entry["path"])) for entry in found.values()]
    return {"files": files, "services": services}


def _process_memory(host, a):
    wanted = {n.casefold() for n in _strings(a, "names")}
    return {"processes": [{"name": p["name"], "pid": p["pid"],
                           "private_bytes": p.get("private_bytes", DEFAULT_PRIVATE_BYTES)}
                          for p in host.state["processes"] if not wanted or p["name"].casefold() in wanted]}


def _probe_account(host, key, name, pids, folder, kind):
    """One account of folder_probe: who it is, the folder expanded for it, what exists of it, its volume."""
    state = host.state
    account = state["accounts"][key]
    expanded = None
    if folder is not None:
        expanded = accounts.expand(folder, accounts.environment(state, key)) if kind == "REG_EXPAND_SZ" else folder
    entry = {"name": name, "exists": True, "account": _owner_name(state, key), "sid": account["sid"],
             "profile": account["profile"], "pids": pids, "folder": expanded, "valid": False, "levels": [],
             "volume": None}
    try:
        path = winpath.norm(expanded) if expanded is not None else None
    except errors.WinError:
        path = None
    if path is None:
        return entry
    entry.update(folder=path, valid=True)
    for level in reversed(winpath.chain(path)):
        stat = host.files.stat(level)
        entry["levels"].append({"path": level, "exists": stat["exists"], "type": stat["type"], "sddl": stat["sddl"],
                                "error": None})
        if stat["exists"]:
            break
    if winpath.kind(path) != "drive":  # a share's free space is not the agent's to read (Get-VolumeFacts)
        return entry
    volume = state.get("volumes", {}).get(path[:2].upper())
    entry["volume"] = {"root": path[:3], "exists": volume is not None, "ready": volume is not None,
                       "free_bytes": volume and volume["free_bytes"], "total_bytes": volume and volume["total_bytes"],
                       "format": volume and volume["format"]}
    return entry


def _probed_key(state, name):
    """The account a folder_probe name means, resolved as the agent does: a SID string as it is,
    ``.\\name`` on this computer, anything else by LookupAccountName (localised names)."""
    if accounts.is_sid(name):
        sid = name if accounts.account_name(state, name) else None
    else:
        if name.startswith(".\\"):
            name = state["os"]["hostname"] + name[1:]
        sid = accounts.lookup_sid(state, name)
    return accounts.key_for_sid(state, sid) if sid else None


def _folder_probe(host, a):
    specs = a.get("value", list, [])
    default = a.get("default", str, required=False)
    names = _strings(a, "accounts")
    images = {n.casefold() for n in _strings(a, "process_names")}
    state = host.state
    folder, kind, source = None, None, None
    for index, spec in enumerate(specs):
        spec = _Args(spec if isinstance(spec, dict) else {})
        value = host.registry.get_value(spec.get("key", str), spec.view(), spec.get("name", str))
        if value is not None and value["type"] in ("REG_SZ", "REG_EXPAND_SZ"):
            folder, kind, source = value["data"], value["type"], index
            break
    if folder is None and default is not None:
        folder, kind = default, "REG_EXPAND_SZ"
    probes = []
    for name in names:
        key = _probed_key(state, name)
        if key is None:
            probes.append({"name": name, "exists": False, "account": None, "sid": None, "profile": None, "pids": [],
                           "folder": None, "valid": False, "levels": [], "volume": None})
            continue
        probes.append(_probe_account(host, key, name, [], folder, kind))
    owners = {}
    for proc in state["processes"]:
        if proc["name"].casefold() in images and not processes.is_protected(proc):  # GetOwnerSid fails
            owners.setdefault(proc["account"], []).append(proc["pid"])
    for key, pids in owners.items():
        probes.append(_probe_account(host, accounts.resolve(state, key), None, pids, folder, kind))
    return {"folder": folder, "type": kind, "source": source, "accounts": probes}


def _defender_state(host, a):
    defender = host.state.get("defender") or {}
    result = {"available": bool(defender.get("available")), "reason": None, "real_time_protection": None,
              "am_running_mode": None, "signature_age_days": None, "exclusions_visible": None,
              "exclusion_paths": [], "exclusion_processes": [], "exclusion_extensions": []}
    if not result["available"]:
        result["reason"] = defender.get("reason") or ("Get-MpPreference is not available: the Defender PowerShell "
                                                      "module is not installed")
        return result
    result.update({k: defender[k] for k in ("real_time_protection", "am_running_mode", "signature_age_days")})
    # Defender can hide exclusions from local administrators (HideExclusionsFromLocalAdmins).
    result["exclusions_visible"] = defender.get("exclusions_visible", True)
    if result["exclusions_visible"]:
        kinds = ("exclusion_paths", "exclusion_processes", "exclusion_extensions")
        result.update({k: list(defender.get(k, [])) for k in kinds})
    return result


def _av_products(host, a):
    products = host.state.get("av_products")
    if products is None:
        return {"available": False, "products": [],
                "reason": "root\\SecurityCenter2 is not available: only client editions of Windows have it"}
    return {"available": True, "reason": None, "products": [dict(p) for p in products]}


def _hotfix_latest(host, a):
    hotfixes = host.state.get("hotfixes", [])
    dated = [h for h in hotfixes if h.get("installed_on")]
    newest = max(dated, key=lambda h: h["installed_on"], default=None)
    age = None
    if newest is not None:
        age = (clock.parse(host.state["clock"]) - clock.parse(newest["installed_on"] + "T00:00:00Z")).days
    return {"count": len(hotfixes), "undated": len(hotfixes) - len(dated), "age_days": age,
            "newest": {k: newest[k] for k in ("id", "description", "installed_on")} if newest else None}
