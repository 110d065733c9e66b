# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""crashdump.windows.local_dumps: WER LocalDumps for one image, exactly and reversibly."""

from __future__ import annotations

import re

from ansible_collections.crashdump.windows.plugins.plugin_utils import _dump_folders, _harvest, _wer, _winpath
from ansible_collections.crashdump.windows.plugins.plugin_utils._base import ModuleFailure, WindowsAgentAction
from ansible_collections.crashdump.windows.plugins.plugin_utils._image import image_refusal
from ansible_collections.crashdump.windows.plugins.plugin_utils._preflight_acl import SddlError, differences
from ansible_collections.crashdump.windows.plugins.plugin_utils._registry import Snapshot, fold, format_keys, read_op
from ansible_collections.crashdump.windows.plugins.plugin_utils._undo import (
    UNCHECKED_WARNING,
    ChangeSet,
    Journal,
    chain_read_ops,
    drift_warning,
    journal_read_ops,
)

# Lets every crashing account create its dump while only SYSTEM and
# Administrators can read dumps of others: Authenticated Users may list the
# folder and add files to it (not read them); CREATOR OWNER gets full control
# of the file it created. Protected, so broad parent ACLs are not inherited.
DEFAULT_FOLDER_SDDL = "O:BAG:SYD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;;0x1000a3;;;AU)(A;OICIIO;FA;;;CO)"
GUARD_RECORD = "local_dumps/(scope guard)"
RECORD_PREFIX = "local_dumps/"
MANAGED = ("DumpFolder", "DumpCount", "DumpType", "CustomDumpFlags")


def _dword(value):
    return {"type": "REG_DWORD", "data": value}


def parse_dump_type(value):
    if value is None:
        return None
    return int(value) if value.isdigit() else _wer.DUMP_TYPES[value]


def parse_custom_flags(value):
    """MINIDUMP_TYPE names (any case) or one integer -> the mask."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ModuleFailure("custom_dump_flags must be a list of MINIDUMP_TYPE names or an integer")
    if isinstance(value, int) or (isinstance(value, str) and re.fullmatch(r"(0x[0-9a-fA-F]+|[0-9]+)", value)):
        mask = int(value, 0) if isinstance(value, str) else value
        if not 0 <= mask <= 0xFFFFFFFF or mask & ~_wer.MINIDUMP_TYPE_MASK:
            raise ModuleFailure("custom_dump_flags 0x%x has bits that are not MINIDUMP_TYPE flags" % mask)
        return mask
    names = value if isinstance(value, list) else [value]
    known = {fold(k): v for k, v in _wer.MINIDUMP_TYPE.items()}
    mask = 0
    for name in names:
        flag = known.get(fold(str(name)).removeprefix("minidump"))
        if flag is None:
            raise ModuleFailure("unknown MINIDUMP_TYPE name %r; valid names: %s" % (
                name, ", ".join(_wer.MINIDUMP_TYPE)))
        mask |= flag
    return mask


class ActionModule(WindowsAgentAction):

    argument_spec = dict(
        exe=dict(type="str"),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        dump_folder=dict(type="str"),
        dump_count=dict(type="int"),
        dump_type=dict(type="str", choices=["custom", "mini", "full", "0", "1", "2"]),
        custom_dump_flags=dict(type="raw"),
        # Text choices, as in the enable role's spec: ansible-core 2.16 cannot word a bad integer choice in a list.
        registry_views=dict(type="list", elements="str", choices=["64", "32"]),
        create_folder=dict(type="bool"),
        folder_acl=dict(type="str", default=DEFAULT_FOLDER_SDDL),
        limit_to_image=dict(type="bool", default=True),
        account=dict(type="str", default="SYSTEM"),
        allow_sensitive_image=dict(type="bool", default=False),
        allow_global_full_dump=dict(type="bool", default=False),
        unrecorded=dict(type="str", default="remove", choices=["remove", "keep"]),
        force=dict(type="bool", default=False),
    )

    def validate(self, args):
        exe = args["exe"]
        refusal = exe is not None and image_refusal(
            "exe", exe, args["allow_sensitive_image"], "dumping it exposes credentials and is what attackers do")
        if refusal:
            raise ModuleFailure(refusal)
        values = ("dump_folder", "dump_count", "dump_type", "custom_dump_flags", "create_folder")
        if args["force"] and args["state"] != "absent":
            raise ModuleFailure("force only applies with state=absent")
        if args["state"] == "absent":
            given = [v for v in values if args[v] is not None]
            if given:
                raise ModuleFailure("%s only apply with state=present" % ", ".join(given))
            return
        if args["registry_views"] == []:
            raise ModuleFailure("registry_views must name at least one view (64, 32)")
        if args["registry_views"] is not None:
            args["registry_views"] = [int(v) for v in args["registry_views"]]
        if args["dump_count"] is not None and not 0 <= args["dump_count"] <= 1000:
            raise ModuleFailure("dump_count must be between 0 and 1000, got %d" % args["dump_count"])
        args["dump_type"] = parse_dump_type(args["dump_type"])
        args["custom_dump_flags"] = parse_custom_flags(args["custom_dump_flags"])
        if args["custom_dump_flags"] is not None and args["dump_type"] != 0:
            raise ModuleFailure("custom_dump_flags is only used with dump_type=custom")
        if exe is None and args["dump_type"] == 2 and not args["allow_global_full_dump"]:
            raise ModuleFailure(
                "a global DumpType of full makes every crashing process on the host write a full dump "
                "(memory with secrets, disk space); set allow_global_full_dump=true to do it anyway")
        folder = args["dump_folder"]
        if folder is not None:
            problem = _winpath.path_problem(folder, variables=True)
            if problem:
                raise ModuleFailure("dump_folder %r %s (give an absolute path such as C:\\WER, a UNC path or one "
                                    "starting with an environment variable)" % (folder, problem))
            has_vars = bool(_wer.variables(folder))
            if args["create_folder"] and has_vars:
                raise ModuleFailure("create_folder needs a literal path; %r depends on environment variables"
                                    % folder)
            if args["create_folder"] and folder.startswith("\\\\"):
                raise ModuleFailure("create_folder is for local folders; create %s on the share yourself, writable by "
                                    "every account whose process may crash" % folder)
            if args["create_folder"] is None:
                args["create_folder"] = not has_vars and not folder.startswith("\\\\")
        if args["create_folder"] and folder is None:
            raise ModuleFailure("create_folder needs dump_folder")

    # -- planning -----------------------------------------------------------

    def _desired(self, args):
        desired = {}
        if args["dump_folder"] is not None:
            desired["DumpFolder"] = {"type": "REG_EXPAND_SZ", "data": args["dump_folder"]}
        for name, arg in (("DumpCount", "dump_count"), ("DumpType", "dump_type"),
                          ("CustomDumpFlags", "custom_dump_flags")):
            if args[arg] is not None:
                desired[name] = _dword(args[arg])
        return desired

    def run_module(self, args):
        exe = args["exe"]
        key = _wer.image_key(exe)
        scope = exe or "(global)"
        folder = args["dump_folder"] if args["create_folder"] else None
        folder_chain = _path_chain(folder) if folder else []

        ops = [{"op": "os_facts"}] + journal_read_ops()
        ops += chain_read_ops([(key, 64), (key, 32)], _wer.SOFTWARE)
        ops += [read_op(_wer.WER_KEY, 64), read_op(_wer.WER_POLICY_KEY, 64),
                read_op(_wer.AEDEBUG_KEY, 64), read_op(_wer.AEDEBUG_KEY, 32),
                {"op": "service_state", "name": "WerSvc"}]
        drive = folder_chain[0].split("\\")[0] + "\\" if folder_chain else None
        ops += [{"op": "path_stat", "path": p} for p in ([drive] if drive else []) + folder_chain]
        ops.append(read_op(_dump_folders.KEY, 64))
        if args["state"] == "absent":
            # Dumps still in the folder remembered for this scope: while there are, it stays remembered.
            ops.append({"op": "file_find", "folders": [_dump_folders.source(scope)],
                        "patterns": [_dump_folders.pattern(scope)], "profile_vars": _harvest.PROFILE_VARS})
        datas = self.read_batch(ops)
        facts = datas[0]
        snap = Snapshot()
        snap.add_results(ops, datas)
        stats = {fold(op["path"]): d for op, d in zip(ops, datas) if op["op"] == "path_stat"}
        service = next(d for op, d in zip(ops, datas) if op["op"] == "service_state")

        # 32-bit Windows has one view: its 32-bit view is the native key, so read and report it once.
        host_views = (64, 32) if facts.get("is_64bit") else (64,)
        asked = args["registry_views"] or [64, 32]
        views = [v for v in asked if v in host_views]
        if args["registry_views"] and len(views) < len(asked):
            self.warn("32-bit Windows has no WOW64 registry view: only the native view is configured")
        journal = Journal(snap)
        record = journal.record(RECORD_PREFIX + scope)
        guard = journal.record(GUARD_RECORD)
        before_values = {v: _values(snap, key, v) for v in host_views}
        changesets = []
        folder_ops = []
        folder_result = {}
        if args["state"] == "present":
            changesets = self._plan_present(args, snap, journal, record, guard, views)
            if drive and not stats[fold(drive)].get("exists"):
                raise ModuleFailure("dump_folder %s: the drive %s does not exist on the host" % (folder, drive))
            folder_ops, folder_result = self._plan_folder(folder_chain, stats, record, args["folder_acl"])
            for cs in changesets:
                if cs.ops:
                    journal.save(cs.record)
            if folder_ops and not any(cs.record is record and cs.ops for cs in changesets):
                journal.save(record)
            if args["dump_folder"] is not None:
                folder_ops += _dump_folders.remember_ops(snap, scope, args["dump_folder"])
        else:
            changesets, folder_ops = self._plan_absent(exe, snap, journal, record, guard, args, host_views)
            restored_dirs = record.dirs if journal.has(record.name) else []
            folder_ops += _dump_folders.absent_ops(snap, scope, datas[-1], restored_dirs)

        reg_ops = [op for cs in changesets for op in cs.ops]
        # A folder that cannot be created stops the batch before the registry changes.
        if args["state"] == "present":
            apply_ops = journal.save_ops() + folder_ops + reg_ops
        else:
            apply_ops = reg_ops + folder_ops + journal.forget_ops()
        changed = bool(apply_ops)
        result = {"changed": changed}
        if changed and not self.check_mode:
            applied = self.apply_batch(apply_ops)
            folder_result.update(_folder_outcome(apply_ops, applied))
            for message in folder_result.pop("warnings", []):
                self.warn(message)

        drift = [d for cs in changesets for d in cs.drift]
        for entry in drift:
            self.warn(drift_warning(entry))
        for cs in changesets:
            if cs.unchecked:
                self.warn(UNCHECKED_WARNING % cs.record.name)
        result["drift"] = drift
        self._warn_environment(snap, service, host_views)
        result.update(self._report(args, snap, facts, key, before_values, changesets, folder_result))
        if self.diff_mode:
            result["diff"] = _diff(changesets, folder_ops)
        return result

    def _plan_present(self, args, snap, journal, record, guard, views):
        exe = args["exe"]
        key = _wer.image_key(exe)
        desired = self._desired(args)
        changesets = []
        for view in views:
            if exe is not None and args["limit_to_image"] and not snap.exists(_wer.LOCAL_DUMPS, view):
                cs = ChangeSet(snap, guard, _wer.SOFTWARE)
                cs.set_value(_wer.LOCAL_DUMPS, view, "DumpCount", _dword(0))
                changesets.append(cs)
                if view == 64:
                    self.warn("LocalDumps did not exist: creating it turns on mini dumps for every process, so "
                              "global DumpCount=0 %s to keep dumps to %s (an undocumented WER behaviour; "
                              "set limit_to_image=false to skip this)"
                              % ("would be set" if self.check_mode else "was set", exe))
            elif exe is not None and not snap.exists(_wer.LOCAL_DUMPS, view) and view == 64:
                self.warn("LocalDumps did not exist: creating it turns on mini dumps for every process on the host")
            cs = ChangeSet(snap, record, _wer.SOFTWARE)
            cs.ensure_key(key, view)
            for name, value in desired.items():
                cs.set_value(key, view, name, value)
            changesets.append(cs)
        return changesets

    def _plan_folder(self, folder_chain, stats, record, sddl):
        """(dir_ensure ops, the folder result): what would be created with which ACL, or how the folder is."""
        if not folder_chain:
            return [], {}
        folder = folder_chain[-1]
        stat = stats[fold(folder)]
        if stat.get("exists"):
            if stat.get("type") != "directory":
                raise ModuleFailure("dump_folder %s exists and is not a directory" % folder)
            return [], self._existing_folder(folder, stat.get("sddl"), sddl)
        for path in folder_chain:
            if not stats[fold(path)].get("exists"):
                record.remember_dir(path)
        return [{"op": "dir_ensure", "path": folder, "sddl": sddl}], {"path": folder, "created": True, "sddl": sddl}

    def _existing_folder(self, folder, current, wanted):
        """An existing folder is left as it is; an ACL other than folder_acl is reported, not replaced."""
        report = {"path": folder, "created": False, "sddl": current, "acl_matches": None}
        try:
            differ = differences(current, wanted) if current else None
        except SddlError:
            differ = None
        if differ is None:
            self.warn("dump_folder %s exists and its ACL could not be read: it was not compared with folder_acl"
                      % folder)
            return report
        report["acl_matches"] = not differ
        if differ:
            report["acl_differs"] = differ
            self.warn("dump_folder %s exists with an ACL other than folder_acl (%s differ): it is left as it is. "
                      "Have %s, asked %s. Make folder_acl say what the folder should have, or fix the folder's ACL."
                      % (folder, ", ".join(differ), current, wanted))
        return report

    def _plan_absent(self, exe, snap, journal, record, guard, args, host_views):
        key = _wer.image_key(exe)
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
            for view in host_views:
                if snap.exists(key, view):
                    for name in MANAGED:
                        cs.set_value(key, view, name, None, remember=False)
                    cs.delete_key_if_empty(key, view)
            changesets.append(cs)
        others = [n for n in journal.names(RECORD_PREFIX)
                  if fold(n) not in (fold(record.name), fold(GUARD_RECORD))]
        if exe is not None and journal.has(GUARD_RECORD) and not others:
            cs = ChangeSet(snap, guard, _wer.SOFTWARE)
            cs.restore(args["force"])
            changesets.append(cs)
            journal.forget(GUARD_RECORD)
        return changesets, folder_ops

    # -- reporting ----------------------------------------------------------

    def _warn_environment(self, snap, service, host_views):
        for view in host_views:
            aedebug = snap.state(_wer.AEDEBUG_KEY, view)
            auto = aedebug.value("Auto")
            debugger = aedebug.value("Debugger")
            if auto and str(auto["data"]).strip() == "1" and debugger and str(debugger["data"]).strip():
                self.warn("AeDebug Auto=1 with Debugger %r (%s-bit view): the postmortem debugger runs instead of "
                          "WER, so LocalDumps writes no dump" % (debugger["data"], view))
        for wer_key in (_wer.WER_KEY, _wer.WER_POLICY_KEY):
            disabled = snap.state(wer_key, 64).value("Disabled")
            if disabled and disabled["type"] == "REG_DWORD" and disabled["data"] == 1:
                self.warn("Windows Error Reporting is disabled (%s Disabled=1): dumps may not be written" % wer_key)
        if service.get("exists") and str(service.get("start_mode", "")).lower() == "disabled":
            self.warn("the WerSvc service is disabled: dumps may not be written")

    def _report(self, args, snap, facts, key, before_values, changesets, folder_result):
        global_state = snap.state(_wer.LOCAL_DUMPS, 64)
        image_state = snap.state(key, 64) if args["exe"] is not None else None
        eff = _wer.effective(global_state, image_state)
        env = facts.get("env") or {}
        folder = eff["DumpFolder"]["value"]
        scope = _dump_scope(global_state, image_state)
        return {
            "key": key,
            "views": {str(v): {"before": before, "after": _values(snap, key, v)}
                      for v, before in before_values.items()},
            "effective": {
                "dump_folder": folder,
                "dump_count": eff["DumpCount"]["value"],
                "dump_type": _wer.DUMP_TYPE_NAMES.get(eff["DumpType"]["value"], eff["DumpType"]["value"]),
                "custom_dump_flags": eff["CustomDumpFlags"]["value"],
                "sources": {name: e["source"] for name, e in eff.items()},
            },
            "dump_scope": scope,
            "account": args["account"],
            "account_dump_folder": _wer.expand_for_account(folder, args["account"], env),
            "folder": folder_result,
        }


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
