"""Seeding: a clean default host with a JSON overlay merged on top, to start
a host that already carries foreign settings.

Overlay sections:

``registry``  {key: {"values": {name: {"type", "data", "raw"?} | null}} | null}: keys
              are physical paths (``HKLM\\SOFTWARE\\Wow6432Node\\...`` for the
              32-bit copy; ``HKCU\\...`` is the administrator's hive, the
              agent's own); missing parents are created; a null value or key
              deletes it. ``"raw": true`` gives the data as hex bytes of any
              size for the type (lab/crashdump_lab/regdata.py).
``files``     {path: entry | null}: ``{"type": "directory", "sddl"?}`` or a
              file with ``content`` (text), ``content_base64`` or just ``size``
              (filler bytes), optional ``mtime``; parents are created. ``locked``
              (a writer holds it open sharing nothing, as WerFault while it
              writes a dump) and ``readonly`` (the attribute) are flags; an
              entry of flags only changes an existing file's flags.
``processes`` entries whose pid exists replace that process, others are added.
``events``    appended; record ids are given when missing.
anything else (os, env, quirks, services, accounts, faults, counters) is
merged key by key, dictionaries recursively. A service may declare
``depends_on``, its svchost ``group`` and its ``path`` (services.py); several
services with one pid, listed in that process's ``services``, share it.
``os.language`` (``en-US`` or ``de-DE``) names the built-in accounts as Windows in that language does;
``accounts.<name>.privileges`` (a list) replaces the privileges an
administrator's token holds, as User Rights Assignment can.
"""

from __future__ import annotations

import base64

from . import clock, events, registry, sddl, winpath
from .defaults import default_state
from .state import load_state, open_host


def seed_host(state_dir, host, overlay, arch=None):
    """Reset ``host`` to a clean default and apply ``overlay``. The architecture
    is ``arch``, else the overlay's os.arch, else the host's current one (so
    ``reset --arch`` then ``seed`` keeps it), else what the name says."""
    arch = arch or overlay.get("os", {}).get("arch") or load_state(state_dir, host)["os"]["arch"]
    with open_host(state_dir, host, fresh=default_state(host, arch)) as lab:
        apply_overlay(lab, overlay)
        return lab.state


def apply_overlay(lab, overlay):
    state = lab.state
    for section, value in overlay.items():
        if section == "registry":
            _registry(lab, value)
        elif section == "files":
            _files(lab, value)
        elif section == "processes":
            for proc in value:
                state["processes"] = [p for p in state["processes"] if p["pid"] != proc["pid"]] + [proc]
        elif section == "events":
            for event in value:
                event.setdefault("record_id", events.next_record_id(state))
                state["events"].append(event)
        elif isinstance(value, dict) and isinstance(state.get(section), dict):
            _merge(state[section], value)
        else:
            state[section] = value


def _merge(target, overlay):
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value


def _registry(lab, keys):
    reg = lab.registry
    for key, body in keys.items():
        # Physical paths: the native view never redirects, so view 64 addresses them as written.
        parts = registry.split_key(key, hives=("HKLM", "HKU", "HKCU"))
        path = "\\".join(parts)
        if body is None:
            _delete_tree(reg, path)
            continue
        reg.create(path, 64)
        for name, value in (body.get("values") or {}).items():
            if value is None:
                reg.delete_value(path, 64, name)
            else:
                reg.set_value(path, 64, name, value["type"], value["data"], raw=value.get("raw", False))


def _delete_tree(reg, path):
    for sub in reg.subkeys(path, 64):
        _delete_tree(reg, path + "\\" + sub)
    entry = reg.entry(path, 64)
    if entry is not None:
        entry["values"].clear()
        reg.delete_key(path, 64)


_FILE_FLAGS = ("locked", "readonly")


def _files(lab, entries):
    fs = lab.files
    for raw_path, entry in entries.items():
        path = winpath.norm(raw_path)
        if entry is None:
            if fs.entry(path) is not None:
                _remove_tree(fs, path)
            continue
        flags = {k: bool(v) for k, v in entry.items() if k in _FILE_FLAGS}
        current = fs.entry(path)
        if flags and set(entry) <= set(_FILE_FLAGS) and current is not None and current["type"] == "file":
            current.update(flags)
            continue
        is_dir = entry.get("type", "file" if {"content", "content_base64", "size", *_FILE_FLAGS} & set(entry) else
                           "directory") == "directory"
        fs.make_dirs(path if is_dir else winpath.parent(path), "BA")
        if is_dir:
            if entry.get("sddl"):
                sddl.validate(entry["sddl"])
                fs.set_sddl(path, entry["sddl"])
            if entry.get("mtime"):
                fs.entry(path)["mtime"] = entry["mtime"]
        else:
            if "content_base64" in entry:
                data = base64.b64decode(entry["content_base64"])
            elif "content" in entry:
                data = entry["content"].encode("utf-8")
            else:
                data = (b"crashdump-lab " * (entry.get("size", 0) // 14 + 1))[:entry.get("size", 0)]
            when = clock.parse(entry["mtime"]) if entry.get("mtime") else None
            fs.write_file(path, data, now=when).update(flags)


def _remove_tree(fs, path):
    for child in fs.children(path):
        _remove_tree(fs, child)
    if fs.entry(path)["type"] == "directory":
        fs.remove_dir(path)
    else:
        fs.remove_file(path)
