"""The agent protocol executed against a lab host (docs/docsite/rst/agent_protocol.rst).

``execute_batch(host, batch)`` returns the reply the real agent
(plugins/plugin_utils/agent.ps1) would print: one result per operation, in
order; after a failure with ``stop_on_error`` the rest report
``{"ok": false, "skipped": true}``. A batch that is not a protocol batch at
all raises BatchError (the agent then prints ``{"version": 1, "error": ...}``
and exits 1). Where the agent leans on a Windows API, the lab answers as that
API would: ``[IO.File]::Exists`` is false for a malformed path, so path_stat,
file_list, file_remove and dir_remove see nothing there rather than failing.
"""

from __future__ import annotations

import gzip
import hashlib
import re

from . import accounts, clock, errors, events, processes, redirector, sddl, winpath
from . import services as lab_services
from .filesystem import ABSENT_STAT

PROTOCOL_VERSION = 1
EVENT_LOGS = ("Application", "System", "Security", "Setup")
OS_ENV = ("SystemRoot", "ProgramData", "ProgramFiles", "ProgramW6432", "windir", "SystemDrive")
_OS_FIELDS = ("hostname", "os_name", "version", "build", "arch", "is_64bit", "ps_version", "language_mode",
              "system_root")
# The agent runs as the connecting administrator: folders it creates are owned by Administrators.
_AGENT_OWNER = "BA"
_OWNER_PRIVILEGES = ("SeRestorePrivilege", "SeTakeOwnershipPrivilege")
PROFILE_LIST = "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\ProfileList"
_TEMP_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_VAR = re.compile(r"%([^%]+)%")
# GZipStream's CompressionLevel.Optimal is zlib's default level.
GZIP_LEVEL = 6


# The agent refuses these in a 32-bit process on 64-bit Windows: the file system redirector would show it
# SysWOW64 for System32 (lab/crashdump_lab/redirector.py).
FILE_SYSTEM_OPS = ("path_stat", "dir_ensure", "dir_remove", "file_list", "file_remove", "file_find", "temp_dir",
                   "file_compress", "image_files", "folder_probe")
WOW64_REFUSAL = ("the agent runs in a 32-bit PowerShell on 64-bit Windows (such as the psrp configuration "
                 "Microsoft.PowerShell32): the file system redirector would show it %WINDIR%\\SysWOW64 for "
                 "%WINDIR%\\System32 and the SYSTEM profile below it, so file operations are refused; connect to the "
                 "64-bit configuration (Microsoft.PowerShell, the default)")


class BatchError(ValueError):
    pass


def execute_batch(host, batch):
    if not isinstance(batch, dict):
        raise BatchError("malformed batch: not a JSON object")
    if str(batch.get("version")) != str(PROTOCOL_VERSION):
        raise BatchError("unsupported batch version")
    ops = batch.get("ops")
    stop_on_error = batch.get("stop_on_error", True)
    if not isinstance(ops, list) or not isinstance(stop_on_error, bool):
        raise BatchError("malformed batch: 'ops' must be a list and 'stop_on_error' a boolean")
    results = []
    stopped = False
    for op in ops:
        if stopped:
            results.append({"ok": False, "skipped": True})
            continue
        op = op if isinstance(op, dict) else {}
        name = op.get("op") if isinstance(op.get("op"), str) else ""
        try:
            handler = _OPS.get(name)
            if handler is None:
                raise errors.unknown_op(name)
            if name in FILE_SYSTEM_OPS and redirector.wow64_agent(host.state):
                raise errors.not_supported(WOW64_REFUSAL)
            results.append({"ok": True, "data": handler(host, _Args(op))})
        except errors.WinError as e:
            results.append({"ok": False, "error": {"op": name, "path": _error_path(op, name), "message": e.message,
                                                   "type": e.type_name, "hresult": e.hresult}})
            stopped = stop_on_error
    return {"version": PROTOCOL_VERSION, "results": results}


def _error_path(op, name):
    """What an error names: the key (plus the value for value operations), else path, name or log."""
    key = op.get("key")
    if key is not None:
        text = str(key)
        if name in ("reg_set", "reg_delete_value") and op.get("name") is not None:
            text = text.rstrip("\\") + "\\" + (str(op["name"]) or "(default)")
        return text
    return next((op[f] for f in ("path", "name", "log") if isinstance(op.get(f), str)), None)


class _Args:
    """An operation's fields; a missing or mistyped one is an ArgumentException."""

    def __init__(self, op):
        self._op = op

    def get(self, name, kind, default=None, required=True):
        value = self._op.get(name)
        if value is None:
            value = default
        if value is None and not required:
            return None
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise errors.invalid_argument("field '%s' is missing or has the wrong type" % name)
        return value

    def raw(self, name):
        return self._op.get(name)

    def view(self):
        return self.get("view", int, 64)

    def qualified(self, name):
        """A path field, refused unless fully qualified (drive or UNC): GetFullPath would resolve anything else
        against the agent's current directory (lab/crashdump_lab/winpath.py), so the agent refuses it."""
        value = self.get(name, str)
        if winpath.kind(value) not in ("drive", "unc"):
            raise errors.invalid_argument("field '%s' must be a fully qualified path, not '%s'" % (name, value))
        return value

    def existing_path(self):
        """The normalised path, or None where Windows' Exists() would say false for any reason."""
        value = self.qualified("path")
        try:
            return winpath.norm(value)
        except errors.WinError:
            return None


def _reg_read(host, a):
    return host.registry.read(a.get("key", str), a.view(), a.get("last_write", bool, False))


def _reg_set(host, a):
    host.registry.set_value(a.get("key", str), a.view(), a.get("name", str), a.get("type", str), a.raw("data"),
                            raw=a.get("raw", bool, False))
    return {}


def _reg_delete_value(host, a):
    return {"deleted": host.registry.delete_value(a.get("key", str), a.view(), a.get("name", str))}


def _reg_create_key(host, a):
    return {"created": host.registry.create(a.get("key", str), a.view())}


def _reg_delete_key(host, a):
    deleted, reason = host.registry.delete_key(a.get("key", str), a.view())
    return {"deleted": deleted, "reason": reason}


def _path_stat(host, a):
    path = a.existing_path()
    return host.files.stat(path) if path else dict(ABSENT_STAT)


def _dir_ensure(host, a):
    path = winpath.norm(a.qualified("path"))
    wanted = a.get("sddl", str, required=False)
    if wanted is not None:
        try:
            sddl.validate(wanted)
        except sddl.SddlError as e:
            raise errors.invalid_argument("The SDDL form of the security descriptor is invalid: %s." % e) from e
    files = host.files
    # The agent's process token; an owner in the SDDL makes the agent enable the
    # privileges that let it assign any owner, as ansible.windows' win_owner does.
    token = accounts.Token(host.state, _agent_account(host.state))
    names_owner = wanted is not None and "O" in sddl.split(wanted)
    enabled = [p for p in _OWNER_PRIVILEGES if names_owner and token.adjust(p, True)]
    created = files.make_dirs(path, _AGENT_OWNER)
    try:
        changed = files.apply_sddl(path, wanted, token) if wanted is not None else False
    except errors.WinError:
        # Never leave a folder behind with the ACL it inherited.
        for made in reversed(created):
            files.remove_dir(made)
        raise
    return {"created": created, "sddl_changed": changed, "privileges": enabled}


def _dir_remove(host, a):
    path = a.existing_path()
    if path is None:
        return {"removed": False, "reason": "absent"}
    removed, reason = host.files.remove_dir(path)
    return {"removed": removed, "reason": reason}


def _file_list(host, a):
    pattern = a.get("pattern", str, "*") or "*"
    want_hash = a.get("sha256", bool, False)
    path = a.existing_path()
    files = host.files
    entry = files.entry(path) if path else None
    if entry is None or entry["type"] != "directory":
        return {"exists": False, "files": []}
    match = winpath.wildcard(pattern)
    listed = []
    for child in files.children(path):
        info = files.entry(child)
        leaf = winpath.name(child)
        if info["type"] == "file" and match.match(leaf):
            listed.append(dict({"name": leaf, "path": winpath.join(path, leaf), "size": info["size"],
                                "mtime": info["mtime"], "ctime": info["ctime"]},
                               **_hash_fields(files, child, info, want_hash)))
    return {"exists": True, "files": listed}


def _hash_fields(files, path, info, want_hash):
    """sha256, error, locked of one listed file: a file the agent cannot open is reported, not fatal."""
    if not want_hash:
        return {"sha256": None, "error": None, "locked": False}
    try:
        files.read_file(path, 0, 0)
    except errors.WinError as e:
        return {"sha256": None, "error": e.message, "locked": e.hresult == errors.sharing_violation("").hresult}
    return {"sha256": info["sha256"], "error": None, "locked": False}


READ_ONLY_REFUSAL = "the file is read-only: it was left in place"


def _file_remove(host, a):
    path = a.existing_path()
    entry = host.files.entry(path) if path else None
    # The agent reads the attribute before File.Delete (which would refuse with "Access denied") and never clears
    # it: a read-only dump is someone's wish to keep it.
    if entry is not None and entry.get("readonly"):
        raise errors.WinError(READ_ONLY_REFUSAL, "System.UnauthorizedAccessException", 0x80070005)
    return {"removed": host.files.remove_file(path) if path else False}


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


def _agent_account(state):
    """The account the agent runs as: the connecting administrator."""
    return next(k for k, a in state["accounts"].items() if a.get("admin"))


def _since(a):
    since = a.get("since", str, required=False)
    try:
        return clock.parse(since) if since is not None else None
    except ValueError as e:
        raise errors.invalid_argument("field 'since' must be an ISO 8601 string or null") from e


def _profiles(host, env):
    """ProfileList's SIDs and ProfileImagePath values, expanded, as RegistryKey.GetValue gives them."""
    reg = host.registry
    found = []
    for sid in sorted(reg.subkeys(PROFILE_LIST, 64), key=str.casefold):
        value = reg.get_value(PROFILE_LIST + "\\" + sid, 64, "ProfileImagePath")
        if value is None or value["type"] not in ("REG_SZ", "REG_EXPAND_SZ") or not value["data"]:
            continue
        data = accounts.expand(value["data"], env) if value["type"] == "REG_EXPAND_SZ" else value["data"]
        found.append({"sid": sid, "path": data})
    return found


def _expand_template(template, profile_vars, profile_path, env):
    folded_env = {k.casefold(): v for k, v in env.items()}

    def repl(m):
        name = m.group(1).casefold()
        if name in profile_vars:
            if profile_path is None:
                return m.group(0)
            suffix = profile_vars[name]
            return profile_path if suffix == "" else profile_path.rstrip("\\") + "\\" + suffix
        return folded_env.get(name, m.group(0))
    return _VAR.sub(repl, template)


def _template(host, spec, source):
    if spec.get("key") is not None:
        value = host.registry.get_value(spec["key"], _Args(spec).view(), _Args(spec).get("name", str))
        if value is None or value["type"] not in ("REG_SZ", "REG_EXPAND_SZ"):
            return None
        source["type"] = value["type"]
        return value["data"]
    return _Args(spec).get("path", str)


def _file_find(host, a):
    specs = a.get("folders", list, [])
    patterns = a.get("patterns", list, [])
    if not all(isinstance(p, str) and p for p in patterns):
        raise errors.invalid_argument("field 'patterns' must be a list of wildcards")
    want_hash = a.get("sha256", bool, False)
    since = _since(a)
    raw_vars = a.raw("profile_vars") or {}
    if not isinstance(raw_vars, dict) or not all(v is None or isinstance(v, str) for v in raw_vars.values()):
        raise errors.invalid_argument("field 'profile_vars' must map names to strings or null")
    profile_vars = {k.casefold(): v for k, v in raw_vars.items()}
    matchers = [winpath.wildcard(p) for p in patterns]
    env = accounts.environment(host.state, _agent_account(host.state))
    profiles = _profiles(host, env)
    sources, folders, by_path = [], [], {}
    for index, spec in enumerate(specs):
        source = {"found": False, "template": None, "type": None, "per_profile": False, "skipped": None}
        sources.append(source)
        template = _template(host, spec if isinstance(spec, dict) else {}, source)
        if not template:
            continue
        source.update(found=True, template=template)
        for name in _VAR.findall(template):
            if name.casefold() in profile_vars:
                source["per_profile"] = True
                if profile_vars[name.casefold()] is None:
                    source["skipped"] = "no per-profile value for %%%s%%" % name
        if source["skipped"]:
            continue
        targets = ([(_expand_template(template, profile_vars, p["path"], env), p["sid"]) for p in profiles]
                   if source["per_profile"] else [(_expand_template(template, profile_vars, None, env), None)])
        for text, sid in targets:
            text = text.rstrip("\\")
            text = text + "\\" if text.endswith(":") else text
            try:
                identity = winpath.fold(winpath.norm(text))
            except errors.WinError:
                identity = winpath.fold(text)
            if identity in by_path:
                by_path[identity]["sources"].append(index)
                continue
            folder = {"path": text, "profile": sid, "sources": [index], "exists": False, "files": [], "error": None}
            by_path[identity] = folder
            folders.append(folder)
    files = host.files
    for folder in folders:
        try:
            path = winpath.norm(folder["path"])
        except errors.WinError:
            continue
        entry = files.entry(path)
        if entry is None or entry["type"] != "directory":
            continue
        folder["exists"] = True
        for child in files.children(path):
            info = files.entry(child)
            leaf = winpath.name(child)
            if info["type"] != "file" or not any(m.match(leaf) for m in matchers):
                continue
            if since is not None and clock.parse(info["mtime"]) < since:
                continue
            folder["files"].append(dict({"name": leaf, "path": winpath.join(files.real(path), leaf),
                                         "size": info["size"], "mtime": info["mtime"], "ctime": info["ctime"]},
                                        **_hash_fields(files, child, info, want_hash)))
    return {"profiles": profiles, "sources": sources, "folders": folders}


def _temp_dir(host, a):
    name = a.get("name", str)
    if not _TEMP_NAME.fullmatch(name):
        raise errors.invalid_argument("field 'name' must be 1 to 64 letters, digits, '.', '_' or '-', starting "
                                      "with a letter or digit")
    create = a.get("create", bool, False)
    account = _agent_account(host.state)
    path = winpath.join(accounts.environment(host.state, account)["TEMP"], name)
    files = host.files
    entry = files.entry(path)
    if entry is not None and entry["type"] == "file":
        raise errors.io_error("path is a file, not a directory")
    created = False
    if create:
        created = bool(files.make_dirs(path, _AGENT_OWNER))
        user = host.state["accounts"][account]["sid"]
        files.apply_sddl(path, "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;%s)" % user,
                         accounts.Token(host.state, account))
    if files.entry(path) is None:
        return {"path": path, "exists": False, "created": False, "files": []}
    listed = [{"name": winpath.name(c), "path": c, "size": files.entry(c)["size"], "mtime": files.entry(c)["mtime"]}
              for c in files.children(path) if files.entry(c)["type"] == "file"]
    return {"path": path, "exists": True, "created": created, "files": listed}


def _file_compress(host, a):
    path = winpath.norm(a.qualified("path"))
    dest = winpath.norm(a.qualified("dest"))
    if winpath.fold(path) == winpath.fold(dest):
        raise errors.invalid_argument("fields 'path' and 'dest' name the same file")
    files = host.files
    entry = files.entry(path)
    if entry is None:
        raise errors.file_not_found(path)
    if entry["type"] != "file":
        raise errors.access_denied(path)
    data = files.read_file(path)
    packed = gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)
    written = files.write_file(dest, packed)
    return {"size": len(data), "sha256": hashlib.sha256(data).hexdigest(), "compressed_size": written["size"],
            "compressed_sha256": written["sha256"]}


# -- preflight: image_files, process_memory, folder_probe, defender_state, av_products, hotfix_latest ---------


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
        result.update({k: list(defender.get(k, [])) for k in ("exclusion_paths", "exclusion_processes",
                                                               "exclusion_extensions")})
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


_OPS = {
    "reg_read": _reg_read, "reg_set": _reg_set, "reg_delete_value": _reg_delete_value,
    "reg_create_key": _reg_create_key, "reg_delete_key": _reg_delete_key,
    "path_stat": _path_stat, "dir_ensure": _dir_ensure, "dir_remove": _dir_remove,
    "file_list": _file_list, "file_remove": _file_remove,
    "os_facts": _os_facts, "service_state": _service_state, "service_restart": _service_restart,
    "process_list": _process_list,
    "event_query": _event_query,
    "file_find": _file_find, "temp_dir": _temp_dir, "file_compress": _file_compress,
    "image_files": _image_files, "process_memory": _process_memory, "folder_probe": _folder_probe,
    "defender_state": _defender_state, "av_products": _av_products, "hotfix_latest": _hotfix_latest,
}
