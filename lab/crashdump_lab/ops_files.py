"""Agent protocol file system operations on a lab host: path_stat, dir_*, file_*, temp_dir."""

from __future__ import annotations

import gzip
import hashlib
import re

from . import accounts, clock, errors, sddl, winpath
from .filesystem import ABSENT_STAT
from .op_args import _Args
from .ops_host import _since

# The agent runs as the connecting administrator: folders it creates are owned by Administrators.
_AGENT_OWNER = "BA"
_OWNER_PRIVILEGES = ("SeRestorePrivilege", "SeTakeOwnershipPrivilege")
PROFILE_LIST = "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\ProfileList"
_TEMP_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_VAR = re.compile(r"%([^%]+)%")
# GZipStream's CompressionLevel.Optimal is zlib's default level.
GZIP_LEVEL = 6


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


def _agent_account(state):
    """The account the agent runs as: the connecting administrator."""
    return next(k for k, a in state["accounts"].items() if a.get("admin"))


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
