# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan of WER LocalDumps for one image (or the global key): what to read, what to change, what to report.

Options as _local_dumps_args.validate leaves them. See _plan for how plans compose.
"""

from __future__ import annotations

from . import _dump_folders, _harvest, _wer
from ._base import ModuleFailure
from ._plan import Plan
from ._preflight_acl import SddlError, differences
from ._registry import fold, format_keys, read_op
from ._undo import UNCHECKED_WARNING, ChangeSet, chain_read_ops, drift_warning, journal_read_ops

GUARD_RECORD = "local_dumps/(scope guard)"
RECORD_PREFIX = "local_dumps/"
MANAGED = ("DumpFolder", "DumpCount", "DumpType", "CustomDumpFlags")


def _dword(value):
    return {"type": "REG_DWORD", "data": value}


class LocalDumpsPlan(Plan):
    """``action`` gives ``warn``, ``check_mode`` and ``diff_mode``."""

    def __init__(self, args, action, removing=frozenset()):
        """``removing``: folded paths of files an earlier plan of the same apply removes (the dumps harvested)."""
        super().__init__()
        self.args = args
        self.action = action
        self.removing = removing
        self.key = _wer.image_key(args["exe"])
        self.scope = args["exe"] or "(global)"
        folder = args["dump_folder"] if args["create_folder"] else None
        self.folder_chain = _path_chain(folder) if folder else []
        self.drive = self.folder_chain[0].split("\\")[0] + "\\" if self.folder_chain else None
        self.records = (RECORD_PREFIX + self.scope, GUARD_RECORD)

    def reads(self):
        ops = [{"op": "os_facts"}] + journal_read_ops()
        ops += chain_read_ops([(self.key, 64), (self.key, 32)], _wer.SOFTWARE)
        ops += [read_op(_wer.WER_KEY, 64), read_op(_wer.WER_POLICY_KEY, 64),
                read_op(_wer.AEDEBUG_KEY, 64), read_op(_wer.AEDEBUG_KEY, 32),
                {"op": "service_state", "name": "WerSvc"}]
        ops += [{"op": "path_stat", "path": p} for p in ([self.drive] if self.drive else []) + self.folder_chain]
        ops.append(read_op(_dump_folders.KEY, 64))
        if self.args["state"] == "absent":
            # Dumps still in the folder remembered for this scope: while there are, it stays remembered.
            ops.append({"op": "file_find", "folders": [_dump_folders.source(self.scope)],
                        "patterns": [_dump_folders.pattern(self.scope)], "profile_vars": _harvest.PROFILE_VARS})
        self._read_ops = ops
        return ops

    def plan(self, datas, snap, journal):
        args, ops = self.args, self._read_ops
        self.facts = datas[0]
        self.snap = snap
        stats = {fold(op["path"]): d for op, d in zip(ops, datas) if op["op"] == "path_stat"}
        self.service = next(d for op, d in zip(ops, datas) if op["op"] == "service_state")

        # 32-bit Windows has one view: its 32-bit view is the native key, so read and report it once.
        self.host_views = (64, 32) if self.facts.get("is_64bit") else (64,)
        asked = args["registry_views"] or [64, 32]
        views = [v for v in asked if v in self.host_views]
        if args["registry_views"] and len(views) < len(asked):
            self.action.warn("32-bit Windows has no WOW64 registry view: only the native view is configured")
        record = journal.record(RECORD_PREFIX + self.scope)
        guard = journal.record(GUARD_RECORD)
        self.before_values = {v: _values(snap, self.key, v) for v in self.host_views}
        self.folder_result = {}
        if args["state"] == "present":
            changesets = self._plan_present(snap, record, guard, views)
            if self.drive and not stats[fold(self.drive)].get("exists"):
                raise ModuleFailure("dump_folder %s: the drive %s does not exist on the host"
                                    % (args["dump_folder"], self.drive))
            folder_ops, self.folder_result = self._plan_folder(stats, record)
            for cs in changesets:
                if cs.ops:
                    journal.save(cs.record)
            if folder_ops and not any(cs.record is record and cs.ops for cs in changesets):
                journal.save(record)
            if args["dump_folder"] is not None:
                folder_ops += _dump_folders.remember_ops(snap, self.scope, args["dump_folder"])
        else:
            changesets, folder_ops = self._plan_absent(snap, journal, record, guard)
            restored_dirs = record.dirs if journal.has(record.name) else []
            folder_ops += _dump_folders.absent_ops(snap, self.scope, _without(datas[-1], self.removing),
                                                   restored_dirs)
        self.changesets, self.folder_ops = changesets, folder_ops
        reg_ops = [op for cs in changesets for op in cs.ops]
        # A folder that cannot be created stops the batch before the registry changes.
        self.ops = folder_ops + reg_ops if args["state"] == "present" else reg_ops + folder_ops

    def _plan_present(self, snap, record, guard, views):
        exe, key = self.args["exe"], self.key
        desired = {}
        if self.args["dump_folder"] is not None:
            desired["DumpFolder"] = {"type": "REG_EXPAND_SZ", "data": self.args["dump_folder"]}
        for name, arg in (("DumpCount", "dump_count"), ("DumpType", "dump_type"),
                          ("CustomDumpFlags", "custom_dump_flags")):
            if self.args[arg] is not None:
                desired[name] = _dword(self.args[arg])
        changesets = []
        for view in views:
            guarded = exe is not None and self.args["limit_to_image"] and not snap.exists(_wer.LOCAL_DUMPS, view)
            if guarded:
                cs = ChangeSet(snap, guard, _wer.SOFTWARE)
                cs.set_value(_wer.LOCAL_DUMPS, view, "DumpCount", _dword(0))
                changesets.append(cs)
                if view == 64:
                    self.action.warn(
                        "LocalDumps did not exist: creating it turns on mini dumps for every process, so global "
                        "DumpCount=0 %s to keep dumps to %s (an undocumented WER behaviour; set limit_to_image=false "
                        "to skip this)" % ("would be set" if self.action.check_mode else "was set", exe))
            elif exe is not None and not snap.exists(_wer.LOCAL_DUMPS, view) and view == 64:
                self.action.warn("LocalDumps did not exist: creating it turns on mini dumps for every process on the "
                                 "host")
            cs = ChangeSet(snap, record, _wer.SOFTWARE)
            cs.ensure_key(key, view)
            for name, value in dict(desired, **self._own_count(snap, view, guarded)).items():
                cs.set_value(key, view, name, value)
            changesets.append(cs)
        return changesets

    def _own_count(self, snap, view, guarded):
        """{"DumpCount": 10} when the image key, given no dump_count, would take a global DumpCount of 0
        (the guard just planned, or one already there) and no dump of the image would appear; else {}."""
        exe, key = self.args["exe"], self.key
        if exe is None or self.args["dump_count"] is not None:
            return {}
        if snap.exists(key, view) and snap.value(key, view, "DumpCount") is not None:
            return {}
        current = snap.value(_wer.LOCAL_DUMPS, view, "DumpCount") if snap.exists(_wer.LOCAL_DUMPS, view) else None
        if not guarded and not (current is not None and current["type"] == "REG_DWORD" and current["data"] == 0):
            return {}
        return {"DumpCount": _dword(_wer.DEFAULTS["DumpCount"])}

    def _plan_folder(self, stats, record):
        """(dir_ensure ops, the folder result): what would be created with which ACL, or how the folder is."""
        if not self.folder_chain:
            return [], {}
        folder, sddl = self.folder_chain[-1], self.args["folder_acl"]
        stat = stats[fold(folder)]
        if stat.get("exists"):
            if stat.get("type") != "directory":
                raise ModuleFailure("dump_folder %s exists and is not a directory" % folder)
            return [], self._existing_folder(folder, stat.get("sddl"), sddl)
        for path in self.folder_chain:
            if not stats[fold(path)].get("exists"):
                record.remember_dir(path)
                # Later plans of the same apply (other images) see the folder as this apply leaves it.
                stats[fold(path)].update(exists=True, type="directory", sddl=sddl)
        return [{"op": "dir_ensure", "path": folder, "sddl": sddl}], {"path": folder, "created": True, "sddl": sddl}

    def _existing_folder(self, folder, current, wanted):
        """An existing folder is left as it is; an ACL other than folder_acl is reported, not replaced."""
        report = {"path": folder, "created": False, "sddl": current, "acl_matches": None}
        try:
            differ = differences(current, wanted) if current else None
        except SddlError:
            differ = None
        if differ is None:
            self.action.warn("dump_folder %s exists and its ACL could not be read: it was not compared with "
                             "folder_acl" % folder)
            return report
        report["acl_matches"] = not differ
        if differ:
            report["acl_differs"] = differ
            self.action.warn(
                "dump_folder %s exists with an ACL other than folder_acl (%s differ): it is left as it is. Have %s, "
                "asked %s. Make folder_acl say what the folder should have, or fix the folder's ACL."
                % (folder, ", ".join(differ), current, wanted))
        return report

    def _plan_absent(self, snap, journal, record, guard):
        key, args = self.key, self.args
        changesets, folder_ops = [], []
        if journal.has(record.name):
            cs = ChangeSet(snap, record, _wer.SOFTWARE)
            cs.restore(args["force"])
            changesets.append(cs)
            folder_ops = [{"op": "dir_remove", "path": d} for d in reversed(record.dirs)]
            journal.forget(record.name)
        elif args["unrecorded"] == "remove":
            # Configured by hand: remove only the values this module manages.
            cs = ChangeSet(snap, record, _wer.SOFTWARE)
            for view in self.host_views:
                if snap.exists(key, view):
                    for name in MANAGED:
                        cs.set_value(key, view, name, None, remember=False)
                    cs.delete_key_if_empty(key, view)
            changesets.append(cs)
        others = [n for n in journal.names(RECORD_PREFIX)
                  if fold(n) not in (fold(record.name), fold(GUARD_RECORD))]
        if args["exe"] is not None and journal.has(GUARD_RECORD) and not others:
            cs = ChangeSet(snap, guard, _wer.SOFTWARE)
            cs.restore(args["force"])
            changesets.append(cs)
            journal.forget(GUARD_RECORD)
        return changesets, folder_ops

    # -- reporting ----------------------------------------------------------

    def report(self, results):
        if results is not None:
            self.folder_result.update(_folder_outcome(self.ops, results))
            for message in self.folder_result.pop("warnings", []):
                self.action.warn(message)
        drift = [d for cs in self.changesets for d in cs.drift]
        for entry in drift:
            self.action.warn(drift_warning(entry))
        for cs in self.changesets:
            if cs.unchecked:
                self.action.warn(UNCHECKED_WARNING % cs.record.name)
        self._warn_environment()
        result = dict(self._state(), drift=drift)
        if self.action.diff_mode:
            result["diff"] = _diff(self.changesets, self.folder_ops)
        return result

    def _warn_environment(self):
        snap = self.snap
        for view in self.host_views:
            aedebug = snap.state(_wer.AEDEBUG_KEY, view)
            auto = aedebug.value("Auto")
            debugger = aedebug.value("Debugger")
            if auto and str(auto["data"]).strip() == "1" and debugger and str(debugger["data"]).strip():
                self.action.warn("AeDebug Auto=1 with Debugger %r (%s-bit view): the postmortem debugger runs "
                                 "instead of WER, so LocalDumps writes no dump" % (debugger["data"], view))
        for wer_key in (_wer.WER_KEY, _wer.WER_POLICY_KEY):
            disabled = snap.state(wer_key, 64).value("Disabled")
            if disabled and disabled["type"] == "REG_DWORD" and disabled["data"] == 1:
                self.action.warn("Windows Error Reporting is disabled (%s Disabled=1): dumps may not be written"
                                 % wer_key)
        if self.service.get("exists") and str(self.service.get("start_mode", "")).lower() == "disabled":
            self.action.warn("the WerSvc service is disabled: dumps may not be written")

    def _state(self):
        snap, key = self.snap, self.key
        global_state = snap.state(_wer.LOCAL_DUMPS, 64)
        image_state = snap.state(key, 64) if self.args["exe"] is not None else None
        eff = _wer.effective(global_state, image_state)
        env = self.facts.get("env") or {}
        folder = eff["DumpFolder"]["value"]
        return {
            "key": key,
            "views": {str(v): {"before": before, "after": _values(snap, key, v)}
                      for v, before in self.before_values.items()},
            "effective": {
                "dump_folder": folder,
                "dump_count": eff["DumpCount"]["value"],
                "dump_type": _wer.DUMP_TYPE_NAMES.get(eff["DumpType"]["value"], eff["DumpType"]["value"]),
                "custom_dump_flags": eff["CustomDumpFlags"]["value"],
                "sources": {name: e["source"] for name, e in eff.items()},
            },
            "dump_scope": _dump_scope(global_state, image_state),
            "account": self.args["account"],
            "account_dump_folder": _wer.expand_for_account(folder, self.args["account"], env),
            "folder": self.folder_result,
        }


def _without(found, removing):
    """A file_find result without the files in ``removing``."""
    if not removing:
        return found
    return dict(found, folders=[dict(f, files=[x for x in f["files"] if fold(x["path"]) not in removing])
                                for f in found["folders"]])


def _values(snap, key, view):
    state = snap.state(key, view)
    return {v["name"]: state.value(v["name"]) for v in state.values.values()} if state.exists else None


def _dump_scope(global_state, image_state):
    """Which crashing processes get a dump: none, image or all_processes."""
    if not global_state.exists:
        return "none"
    count = global_state.value("DumpCount")
    if count is None or count["type"] != "REG_DWORD" or count.get("raw") or count["data"] > 0:
        return "all_processes"
    own = image_state.value("DumpCount") if image_state is not None and image_state.exists else None
    return "image" if own and own["type"] == "REG_DWORD" and not own.get("raw") and own["data"] > 0 else "none"


def _path_chain(path):
    """``C:\\a\\b`` -> [``C:\\a``, ``C:\\a\\b``] (the drive root is left out)."""
    parts = path.rstrip("\\").split("\\")
    return ["\\".join(parts[:i + 1]) for i in range(1, len(parts))]


def _folder_outcome(ops, results):
    outcome = {"warnings": []}
    for op, data in zip(ops, results):
        if op["op"] == "dir_ensure":
            outcome.update(path=op["path"], created=bool(data.get("created")))
        elif op["op"] == "dir_remove":
            if data.get("removed"):
                outcome.setdefault("removed", []).append(op["path"])
            if data.get("reason") == "not_empty":
                outcome["warnings"].append("dump folder %s was kept: it is not empty" % op["path"])
    return outcome


def _diff(changesets, folder_ops):
    before, after = {}, {}
    for cs in changesets:
        for ident, values in cs.before.items():
            before.setdefault(ident, values)
        after.update(cs.after())
    before_text, after_text = format_keys(before), format_keys(after)
    for op in folder_ops:
        if op["op"] == "dir_ensure":
            after_text += "[%s] (folder)\nSDDL=%s\n\n" % (op["path"], op["sddl"])
        elif op["op"] == "dir_remove":
            before_text += "[%s] (folder, removed if empty)\n\n" % op["path"]
    return {"before": before_text, "after": after_text,
            "before_header": "registry and folders before", "after_header": "registry and folders after"}
