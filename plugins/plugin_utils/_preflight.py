# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Preflight: will a crash of an image leave a dump, and where? Findings from one read batch.

``batch`` builds the read batch; ``evaluate`` turns what it read into
findings, each ``{id, severity, message, evidence, fix}`` with severity
``blocker`` (no dump will appear), ``warning`` (a dump may not appear, or
something needs attention) or ``info``. Pure functions: no host access here.
"""

from __future__ import annotations

import difflib
import re

from . import _gflags, _preflight_verdict, _wer
from ._accounts import host_name, well_known_sid
from ._image import is_sensitive
from ._preflight_acl import LOCAL_SERVICE, NETWORK_SERVICE, SYSTEM, folder_access
from ._registry import fold, read_op

SEVERITIES = ("blocker", "warning", "info")
MIB = 1024 * 1024
# A mini dump (DumpType 1, or custom flags without process memory) is small:
# typically a few hundred KiB to a few MiB. This is the estimate used.
MINI_DUMP_BYTES = 8 * MIB
UPDATE_AGE_DAYS = 60
SIGNATURE_AGE_DAYS = 7
# Custom dump flags that put process memory into the dump, making it as big as a full one.
_MEMORY_FLAGS = (_wer.MINIDUMP_TYPE["WithFullMemory"] | _wer.MINIDUMP_TYPE["WithPrivateReadWriteMemory"]
                 | _wer.MINIDUMP_TYPE["WithPrivateWriteCopyMemory"])
# The accounts always probed, by SID (their names are localised): services of
# the image that are not running use one of them.
BUILTIN_ACCOUNTS = (SYSTEM, LOCAL_SERVICE, NETWORK_SERVICE)
# User hives where LocalDumps is sometimes written by mistake: WER reads HKLM only.
USER_HIVES = ("HKCU", "HKU\\.DEFAULT", "HKU\\" + SYSTEM, "HKU\\" + LOCAL_SERVICE, "HKU\\" + NETWORK_SERVICE)
USER_LOCAL_DUMPS = "Software\\Microsoft\\Windows\\Windows Error Reporting\\LocalDumps"
POLICY_LOCAL_DUMPS = _wer.WER_POLICY_KEY + "\\LocalDumps"
# Value names seen in published LocalDumps configurations that WER does not know.
_MISSPELLINGS = {"crashcount": "DumpCount", "dumpcounts": "DumpCount", "maxdumps": "DumpCount", "count": "DumpCount",
                 "dumpfolders": "DumpFolder", "dumppath": "DumpFolder", "dumpdir": "DumpFolder",
                 "dumpdirectory": "DumpFolder", "dumplocation": "DumpFolder", "folder": "DumpFolder",
                 "dumptypes": "DumpType", "type": "DumpType", "customflags": "CustomDumpFlags",
                 "dumpflags": "CustomDumpFlags", "customdumpflag": "CustomDumpFlags"}
_LANGUAGE_MODE = re.compile(r"PowerShell runs in (\w+) mode")
_VAR = re.compile(r"%([^%]+)%")


def dump_type_value(text):
    """The dump_type option (mini, full, custom or 0..2) as DumpType."""
    return int(text) if text.isdigit() else _wer.DUMP_TYPES[text]


def batch(exe, paths, account, planned_folder, restart_service=None):
    """The one read batch: ({name: op} for the named facts, [reg_read ops])."""
    image_key = _wer.image_key(exe)
    if planned_folder is not None:
        value = []
    else:
        value = [{"key": image_key, "view": 64, "name": "DumpFolder"},
                 {"key": _wer.LOCAL_DUMPS, "view": 64, "name": "DumpFolder"}]
    accounts = []
    for name in ([host_name(account)] if account else []) + list(BUILTIN_ACCOUNTS):
        if fold(name) not in map(fold, accounts):
            accounts.append(name)
    named = {
        "os": {"op": "os_facts"},
        "updates": {"op": "hotfix_latest"},
        "files": {"op": "image_files", "name": exe, "paths": list(paths)},
        "processes": {"op": "process_list", "names": [exe]},
        "memory": {"op": "process_memory", "names": [exe]},
        "wersvc": {"op": "service_state", "name": "WerSvc"},
        "folder": {"op": "folder_probe", "value": value,
                   "default": planned_folder if planned_folder is not None else _wer.DEFAULTS["DumpFolder"],
                   "accounts": accounts, "process_names": [exe]},
        "defender": {"op": "defender_state"},
        "av": {"op": "av_products"},
    }
    if restart_service is not None:
        named["restart_service"] = {"op": "service_state", "name": restart_service}
    keys = [(_wer.WER_KEY, 64), (_wer.WER_POLICY_KEY, 64), (POLICY_LOCAL_DUMPS, 64),
            (_wer.LOCAL_DUMPS, 64), (_wer.LOCAL_DUMPS, 32), (image_key, 64), (image_key, 32),
            (_wer.AEDEBUG_KEY, 64), (_wer.AEDEBUG_KEY, 32), (_gflags.image_key(exe), 64)]
    for hive in USER_HIVES:
        keys += [(hive + "\\" + USER_LOCAL_DUMPS, 64), (hive + "\\" + USER_LOCAL_DUMPS + "\\" + exe, 64)]
    reads = [read_op(key, view) for key, view in keys]
    # The IFEO key's last write time tells whether running instances have its flags (see last_write).
    reads[keys.index((_gflags.image_key(exe), 64))]["last_write"] = True
    return named, reads


def last_write(reads, datas):
    """The IFEO key's last write time from the read batch's results."""
    return next((d.get("last_write") for op, d in zip(reads, datas) if op.get("last_write")), None)


def language_mode_refusal(message):
    """The language mode named in the bootstrap's refusal, or None for any other agent error."""
    m = _LANGUAGE_MODE.search(message)
    return m.group(1) if m else None


def refused(mode, message):
    """The result when the agent cannot run at all because of the PowerShell language mode."""
    finding = _finding(
        "language_mode", "blocker",
        "PowerShell on the host runs in %s mode (an application control policy such as WDAC or AppLocker is "
        "enforced): the crashdump.windows agent cannot run there, so nothing was checked, and the collection's "
        "other modules cannot work on this host either." % mode,
        {"language_mode": mode, "agent_error": message},
        "Let the agent run in FullLanguage mode (a WDAC or AppLocker rule that trusts it for the management "
        "account), or configure LocalDumps by hand with reg add as the Microsoft crash troubleshooting guidance "
        "shows.")
    return {"findings": [finding], "counts": _counts([finding]), "dump_locations": [], "effective": None,
            "verdict": {"dump": False, "blockers": [finding["message"]], "dump_type": None, "dump_count": None,
                        "files": [], "image_found": None, "other_processes": None},
            "os": None, "image": None}


class _Findings(list):
    def add(self, id_, severity, message, evidence=None, fix=None):
        self.append(_finding(id_, severity, message, evidence or {}, fix))


def _finding(id_, severity, message, evidence, fix):
    return {"id": id_, "severity": severity, "message": message, "evidence": evidence, "fix": fix}


def _counts(findings):
    return {s: sum(1 for f in findings if f["severity"] == s) for s in SEVERITIES}


def evaluate(facts, snap, exe, planned, account=None, full_dump_bytes=1024 * MIB, guard=False, page_heap=None):
    """Findings and what they are based on.

    ``facts``: the data of ``batch``'s named operations by name; ``snap``: a
    Snapshot of its registry reads; ``planned``: LocalDumps values
    ({DumpFolder, DumpCount, DumpType}) to check as if the image's key held
    them; ``account``: the account to check besides those that run the image;
    ``full_dump_bytes``: the size assumed for a full dump of an image not running;
    ``guard``: the writer sets a global DumpCount=0 when it creates LocalDumps;
    ``page_heap``: the page heap mode about to be written, or None.
    The verdict is on the state once ``planned`` (and the guard) are written.
    """
    found = _Findings()
    os_facts = facts["os"]
    views = (64, 32) if os_facts.get("is_64bit") else (64,)
    _os(found, os_facts, facts["updates"])
    instances = _image(found, exe, facts["files"], facts["processes"], facts["memory"])
    _wer_switches(found, snap, facts["wersvc"])
    _debuggers(found, snap, exe, views)
    global_state = snap.state(_wer.LOCAL_DUMPS, 64)
    eff = _wer.effective(global_state, snap.state(_wer.image_key(exe), 64))
    if guard and planned and not global_state.exists:
        eff["DumpCount"] = {"value": 0, "source": "global"}
    for name, value in planned.items():
        eff[name] = {"value": value, "source": "planned"}
    _local_dumps(found, snap, exe, eff, planned, views)
    locations = _locations(found, facts, eff, exe, instances, account, full_dump_bytes)
    _antivirus(found, facts["defender"], facts["av"], [loc["folder"] for loc in locations if loc["folder"]],
               os_facts.get("env") or {})
    if "restart_service" in facts:
        _preflight_verdict.restart_service_findings(found.add, facts["restart_service"], exe, instances)
    order = {s: i for i, s in enumerate(SEVERITIES)}
    findings = sorted(found, key=lambda f: order[f["severity"]])
    others = _preflight_verdict.other_processes(global_state, planned, guard)
    present = _preflight_verdict.image_found(facts["files"], instances)
    return {
        "findings": findings,
        "counts": _counts(findings),
        "dump_locations": locations,
        "verdict": _preflight_verdict.verdict(findings, eff, locations, present, others, _preflight_verdict.page_heap(
            snap.state(_gflags.image_key(exe), 64), facts.get("ifeo_last_write"), instances,
            page_heap)),
        "effective": {"dump_folder": eff["DumpFolder"]["value"], "dump_count": eff["DumpCount"]["value"],
                      "dump_type": _wer.DUMP_TYPE_NAMES.get(eff["DumpType"]["value"], eff["DumpType"]["value"]),
                      "custom_dump_flags": eff["CustomDumpFlags"]["value"],
                      "sources": {name: e["source"] for name, e in eff.items()}},
        "os": dict({k: os_facts.get(k) for k in ("hostname", "os_name", "version", "build", "arch", "ps_version",
                                                 "language_mode")}, updates=facts["updates"]),
        "image": {"files": facts["files"]["files"], "services": facts["files"]["services"],
                  "instances": instances},
    }


# -- the host -----------------------------------------------------------------

def _os(found, os_facts, updates):
    newest = updates.get("newest")
    text = "%s, version %s (build %s), %s; PowerShell %s in %s mode" % (
        os_facts.get("os_name"), os_facts.get("version"), os_facts.get("build"), os_facts.get("arch"),
        os_facts.get("ps_version"), os_facts.get("language_mode"))
    if newest:
        text += "; newest installed update %s of %s (%s days ago)" % (
            newest["id"], newest["installed_on"], updates.get("age_days"))
    else:
        text += "; no installed update has an installation date"
    text += "."
    found.add("os", "info", text, {"os_name": os_facts.get("os_name"), "version": os_facts.get("version"),
                                   "build": os_facts.get("build"), "arch": os_facts.get("arch"),
                                   "updates": updates})
    fix = ("Install the latest cumulative update (Windows Update or your patch tool) before collecting dumps, as "
           "the Microsoft crash troubleshooting guidance asks: the crash may already be fixed.")
    if not updates.get("count"):
        found.add("os_updates_old", "warning", "No installed update is listed on the host.", {"updates": updates},
                  fix)
    elif newest and (updates.get("age_days") or 0) > UPDATE_AGE_DAYS:
        found.add("os_updates_old", "warning", "The newest installed update, %s, is %d days old (installed %s)." % (
            newest["id"], updates["age_days"], newest["installed_on"]), {"updates": updates}, fix)


def _image(found, exe, files, processes, memory):
    """Findings about the image itself; returns its running instances."""
    if is_sensitive(exe):
        found.add("sensitive_image", "warning",
                  "%s is a sensitive system process: its dumps hold credentials, and security products alert on "
                  "dumping it; local_dumps, gflags and the enable role refuse it unless allow_sensitive_image=true."
                  % exe, {"image": exe},
                  "Collect dumps of it only with a reason and approval, and protect them like passwords.")
    present = [f for f in files["files"] if f["exists"]]
    missing = [f for f in files["files"] if not f["exists"]]
    if present:
        text = "%s is installed at %s." % (exe, "; ".join(
            "%s (version %s; %s)" % (f["path"], f["version"] or "unknown", ", ".join(f["sources"]))
            for f in present))
        versions = sorted({f["version"] for f in present if f["version"]})
        if len(versions) > 1:
            text += " The copies differ in version (%s): the crash may come from an older copy." % ", ".join(versions)
    else:
        text = ("%s was not found in System32, SysWOW64, App Paths, the services or the running processes; give "
                "paths where it is installed to check its version." % exe)
    if missing:
        text += " Registered but missing: %s." % "; ".join(
            "%s (%s)" % (f["path"], ", ".join(f["sources"])) for f in missing)
    found.add("image_files", "info", text, {"files": files["files"], "services": files["services"]},
              "Check that %s is the vendor's latest version, as the Microsoft guidance asks." % exe if present else
              None)
    private = {p["pid"]: p["private_bytes"] for p in memory["processes"]}
    instances = [dict(p, private_bytes=private.get(p["pid"])) for p in processes["processes"]]
    if instances:
        text = "%d running instance%s of %s: %s." % (len(instances), "" if len(instances) == 1 else "s", exe, "; ".join(
            "pid %s started %s as %s%s" % (p["pid"], p["start_time"], p["account"] or "an unknown account",
                                           " (service %s)" % ", ".join(p["services"]) if p["services"] else "")
            for p in instances))
    else:
        text = "%s is not running." % exe
    found.add("image_instances", "info", text, {"instances": instances})
    return instances


def _is_one(value):
    return value is not None and str(value["data"]).strip() == "1"


def _wer_switches(found, snap, service):
    for key in (_wer.WER_KEY, _wer.WER_POLICY_KEY):
        value = snap.value(key, 64, "Disabled")
        if _is_one(value):
            policy = key == _wer.WER_POLICY_KEY
            found.add("wer_disabled", "warning",
                      "Windows Error Reporting is disabled%s: %s\\Disabled = %s. Reports conflict on whether "
                      "LocalDumps still writes dumps then." % (" by policy" if policy else "", key, value["data"]),
                      {"key": key, "value": value},
                      "Turn off the Group Policy setting 'Disable Windows Error Reporting' (Windows Components > "
                      "Windows Error Reporting)." if policy else "Delete the Disabled value under %s." % key)
    if not service.get("exists"):
        found.add("wer_service_disabled", "warning",
                  "The Windows Error Reporting service (WerSvc) does not exist on this host.", {"service": service},
                  None)
        return
    found.add("wer_service", "info", "WerSvc (%s): start type %s, %s." % (
        service.get("display_name"), service.get("start_mode"), service.get("status")), {"service": service})
    if str(service.get("start_mode") or "").casefold() == "disabled":
        found.add("wer_service_disabled", "warning",
                  "The WerSvc service is disabled; reports conflict on whether LocalDumps still writes dumps then.",
                  {"service": service}, "Set-Service -Name WerSvc -StartupType Manual")


def _debuggers(found, snap, exe, views):
    for view in views:
        state = snap.state(_wer.AEDEBUG_KEY, view)
        debugger = state.value("Debugger")
        if not (_is_one(state.value("Auto")) and debugger and str(debugger["data"]).strip()):
            continue
        evidence = {"key": _wer.AEDEBUG_KEY, "view": view, "Debugger": debugger["data"], "Auto": state.value("Auto")}
        fix = ("If it is ProcDump (procdump -i), run procdump -u; otherwise set Auto to 0 or delete Debugger under "
               "%s%s." % (_wer.AEDEBUG_KEY, " (Wow6432Node)" if view == 32 else ""))
        if view == 64:
            found.add("postmortem_debugger", "blocker",
                      "AeDebug Auto=1 with Debugger %r: the postmortem debugger takes every crash instead of WER, so "
                      "LocalDumps writes no dump." % debugger["data"], evidence, fix)
        else:
            found.add("postmortem_debugger_wow64", "warning",
                      "AeDebug Auto=1 with Debugger %r in the 32-bit view: crashes of 32-bit processes go to that "
                      "debugger instead of WER, and leave no LocalDumps dump." % debugger["data"], evidence, fix)
    key = _gflags.image_key(exe)
    debugger = snap.value(key, 64, "Debugger")
    if debugger and str(debugger["data"]).strip():
        found.add("ifeo_debugger", "warning",
                  "Image File Execution Options Debugger %r is set for %s: Windows starts that program instead of %s "
                  "(a debugger, or a hijack), and the crashes go to it rather than WER." % (debugger["data"], exe, exe),
                  {"key": key, "Debugger": debugger["data"]},
                  "If nobody here set it, treat it as a possible compromise (IFEO Debugger is a known persistence "
                  "technique); otherwise delete the Debugger value under %s while collecting dumps." % key)


# -- LocalDumps ---------------------------------------------------------------

def _where(key, view):
    return key + (" (32-bit view)" if view == 32 else "")


def _local_dumps(found, snap, exe, eff, planned, views):
    global_state = snap.state(_wer.LOCAL_DUMPS, 64)
    dump_type = eff["DumpType"]["value"]
    found.add("local_dumps", "info", "LocalDumps for %s: %s dumps, up to %s, in %s (%s)." % (
        exe, _wer.DUMP_TYPE_NAMES.get(dump_type, "DumpType %s" % dump_type), eff["DumpCount"]["value"],
        eff["DumpFolder"]["value"], ", ".join("%s from %s" % (n, e["source"]) for n, e in eff.items())),
        {"effective": eff, "key_exists": global_state.exists, "planned": planned})
    if not global_state.exists and not planned:
        found.add("local_dumps_missing", "blocker",
                  "%s does not exist: WER writes no dump of %s." % (_wer.LOCAL_DUMPS, exe), {"key": _wer.LOCAL_DUMPS},
                  "Configure it: crashdump.windows.local_dumps with exe=%s (or the crashdump.windows.enable role)."
                  % exe)
    elif eff["DumpCount"]["value"] == 0:
        found.add("dump_count_zero", "blocker",
                  "The DumpCount in effect for %s is 0 (from the %s key): WER keeps no dump (practitioners report "
                  "none is written; Microsoft does not document 0)." % (exe, eff["DumpCount"]["source"]),
                  {"effective": eff["DumpCount"]},
                  "Set DumpCount to 1 or more in %s (a global DumpCount=0 keeps other processes from dumping)."
                  % _wer.image_key(exe))
    _values(found, snap, exe, eff, planned, views)
    _misplaced(found, snap, exe, planned, views)


def _suggestion(name):
    folded = fold(name)
    if folded in _MISSPELLINGS:
        return _MISSPELLINGS[folded]
    close = difflib.get_close_matches(folded, [fold(n) for n in _wer.VALUE_TYPES], n=1, cutoff=0.75)
    return next((n for n in _wer.VALUE_TYPES if close and fold(n) == close[0]), None)


def _reg_add(key, view, name, value_type, data):
    return 'reg add "%s" /v %s /t %s /d %s /f%s' % (key, name, value_type, data, " /reg:32" if view == 32 else "")


def _values(found, snap, exe, eff, planned, views):
    """Values under LocalDumps and the image's key that WER ignores or may misread."""
    known = {fold(n): n for n in _wer.VALUE_TYPES}
    image_key = _wer.image_key(exe)
    replaced = {fold(n) for n in planned}
    for key in (_wer.LOCAL_DUMPS, image_key):
        for view in views:
            state = snap.state(key, view)
            if not state.exists:
                continue
            for value in state.values.values():
                name = value["name"]
                if key == image_key and fold(name) in replaced:
                    continue
                evidence = {"key": key, "view": view, "name": name, "type": value["type"], "data": value["data"]}
                canonical = known.get(fold(name))
                if canonical is None:
                    hint = _suggestion(name)
                    found.add("ignored_value", "warning", "%s has a value %r that WER does not know: it is ignored%s."
                              % (_where(key, view), name or "(default)", "; did you mean %s?" % hint if hint else ""),
                              dict(evidence, suggestion=hint),
                              "Rename it to %s." % hint if hint else "Delete it; WER reads only DumpFolder, "
                              "DumpCount, DumpType and CustomDumpFlags.")
                    continue
                allowed = ("REG_EXPAND_SZ", "REG_SZ") if canonical == "DumpFolder" else (_wer.VALUE_TYPES[canonical],)
                if value.get("raw"):
                    found.add("odd_size_value", "warning",
                              "%s\\%s is a %s of %d bytes (%s) that is not the form of its type; what WER reads of it "
                              "is not documented, so it is treated as not set." % (
                                  _where(key, view), name, value["type"], len(value["data"]) // 2, value["data"]),
                              dict(evidence, raw=True), "Set it again with its type, or delete it.")
                elif value["type"] not in allowed:
                    shown = value["data"]
                    data = shown.strip() if isinstance(shown, str) and shown.strip().isdigit() else "<value>"
                    found.add("wrong_value_type", "warning",
                              "%s\\%s is %s (%r); WER reads only %s, so it is ignored and the global value or the "
                              "default applies." % (_where(key, view), name, value["type"], shown,
                                                    " or ".join(allowed)),
                              evidence, _reg_add(key, view, canonical, allowed[0], data))
                elif canonical == "DumpType" and value["data"] not in _wer.DUMP_TYPE_NAMES:
                    found.add("dump_type_invalid", "warning",
                              "%s\\DumpType is %s; only 0 (custom), 1 (mini) and 2 (full) are defined, and what WER "
                              "does with another value is not documented." % (_where(key, view), value["data"]),
                              evidence, _reg_add(key, view, "DumpType", "REG_DWORD", 2))
                elif canonical == "CustomDumpFlags" and value["data"] & ~_wer.MINIDUMP_TYPE_MASK:
                    found.add("custom_dump_flags_invalid", "warning",
                              "%s\\CustomDumpFlags 0x%x has bits that are no MINIDUMP_TYPE flag (0x%x)." % (
                                  _where(key, view), value["data"], value["data"] & ~_wer.MINIDUMP_TYPE_MASK),
                              evidence, "Keep only MINIDUMP_TYPE flags (see crashdump.windows.local_dumps).")
                elif canonical == "CustomDumpFlags" and eff["DumpType"]["value"] != 0 and view == 64:
                    found.add("custom_dump_flags_unused", "info",
                              "%s\\CustomDumpFlags is set but DumpType is not 0 (custom), so WER does not use it."
                              % _where(key, view), evidence)


def _misplaced(found, snap, exe, planned, views):
    fix = ("Configure %s\\%s instead (crashdump.windows.local_dumps), and delete the misplaced key or value."
           % (_wer.LOCAL_DUMPS, exe))
    for hive in USER_HIVES:
        keys = [k for k in (hive + "\\" + USER_LOCAL_DUMPS, hive + "\\" + USER_LOCAL_DUMPS + "\\" + exe)
                if snap.exists(k, 64)]
        if keys:
            names = sorted({v["name"] for k in keys for v in snap.state(k, 64).values.values()}, key=fold)
            found.add("misplaced_values", "warning",
                      "%s exists, but WER reads LocalDumps only under HKLM: %s ignored." % (
                          keys[0], "its values (%s) are" % ", ".join(names) if names else "it is"),
                      {"keys": keys, "names": names}, fix)
    direct = [v["name"] for v in snap.state(_wer.WER_KEY, 64).values.values() if fold(v["name"]) in
              {fold(n) for n in _wer.VALUE_TYPES}]
    if direct:
        found.add("misplaced_values", "warning",
                  "%s holds %s directly; WER reads them only from its LocalDumps subkey." % (
                      _wer.WER_KEY, ", ".join(direct)), {"key": _wer.WER_KEY, "names": direct}, fix)
    if snap.exists(POLICY_LOCAL_DUMPS, 64):
        found.add("misplaced_values", "warning",
                  "%s exists, but WER reads LocalDumps from %s, not from the policy key." % (
                      POLICY_LOCAL_DUMPS, _wer.LOCAL_DUMPS), {"key": POLICY_LOCAL_DUMPS}, fix)
    stem = exe.rsplit(".", 1)[0]
    for view in views:
        for sub in snap.state(_wer.LOCAL_DUMPS, view).subkeys.values():
            if fold(sub) != fold(exe) and fold(sub.strip()) in (fold(exe), fold(stem)):
                found.add("misplaced_values", "warning",
                          "%s has a subkey %r: WER looks for the image's exact file name, %r." % (
                              _where(_wer.LOCAL_DUMPS, view), sub, exe),
                          {"key": _wer.LOCAL_DUMPS, "view": view, "subkey": sub},
                          "Rename the subkey to %s." % exe)
    if 32 in views and not planned:
        for key in (_wer.LOCAL_DUMPS, _wer.image_key(exe)):
            if snap.exists(key, 32) and not snap.exists(key, 64):
                found.add("misplaced_values", "warning",
                          "%s exists only in the 32-bit registry view (Wow6432Node); WerFault is a native process "
                          "and reads the 64-bit view, so it is probably ignored." % key, {"key": key, "view": 32},
                          "Write it in the 64-bit view too (crashdump.windows.local_dumps writes both).")
                break


# -- where the dump lands -----------------------------------------------------

def _service_sid(account, probes):
    """The probed account a service's StartName names, or None."""
    sid = well_known_sid(account)
    short = fold((account or "").rsplit("\\", 1)[-1])
    for probe in probes:
        if not probe["exists"]:
            continue
        if (sid and probe["sid"] == sid) or (not sid and probe["account"]
                                             and fold(probe["account"].rsplit("\\", 1)[-1]) == short):
            return probe
    return None


def _subjects(found, probe, instances, services, account):
    """Who runs the image, each with its folder_probe entry: [(probe entry, why, service)]."""
    accounts = probe["accounts"]
    owners = [a for a in accounts if a["name"] is None]
    subjects = []
    for owner in owners:
        service = any(p["services"] for p in instances if p["pid"] in owner["pids"])
        subjects.append((owner, "running as pid %s" % ", ".join(map(str, owner["pids"])), service))
    owned = {pid for owner in owners for pid in owner["pids"]}
    unknown = [p["pid"] for p in instances if p["pid"] not in owned]
    if unknown:
        found.add("account_unknown", "warning",
                  "The account of running instance%s pid %s is unknown (the agent could not read the owner), so "
                  "where its dump lands was not checked." % ("s" if len(unknown) > 1 else "",
                                                             ", ".join(map(str, unknown))),
                  {"pids": unknown}, "Give account=<the account that runs it>.")
    if not instances:
        for svc in services:
            entry = _service_sid(svc["account"], accounts)
            if entry is None:
                found.add("account_unknown", "warning",
                          "Service %s runs the image as %s, an account this check did not look at." % (
                              svc["name"], svc["account"]), {"service": svc},
                          "Give account=%s." % svc["account"])
            else:
                subjects.append((entry, "service %s" % svc["name"], True))
    if account:
        asked = fold(host_name(account))
        entry = next(a for a in accounts if a["name"] is not None and fold(a["name"]) == asked)
        if entry["exists"]:
            subjects.append((entry, "account %s" % account, entry["sid"] in (SYSTEM, LOCAL_SERVICE, NETWORK_SERVICE)))
        else:
            found.add("account_unknown", "warning", "There is no account %r on the host." % account,
                      {"account": account},
                      "Give the account as DOMAIN\\name, .\\name, a SID or a built-in name such as SYSTEM.")
    system = next((a for a in accounts if a["sid"] == SYSTEM), None)
    if not subjects and system is not None:
        subjects.append((system, "SYSTEM, as no instance runs and no service names an account (set account)", True))
    unique = {}
    for entry, why, service in subjects:
        unique.setdefault(entry["sid"], (entry, why, service))
    return list(unique.values())


def _dump_size(eff, pids, instances, full_dump_bytes):
    """(bytes one dump needs, how that was estimated)."""
    dump_type = eff["DumpType"]["value"]
    flags = eff["CustomDumpFlags"]["value"]
    if dump_type == 2 or (dump_type == 0 and isinstance(flags, int) and flags & _MEMORY_FLAGS):
        sizes = [(p["private_bytes"], p["pid"]) for p in instances if p["pid"] in pids and p.get("private_bytes")]
        if sizes:
            size, pid = max(sizes)
            return size, "the private bytes of pid %s" % pid
        return full_dump_bytes, "the full dump estimate, %d MiB" % (full_dump_bytes // MIB)
    return MINI_DUMP_BYTES, "a mini dump estimate, %d MiB" % (MINI_DUMP_BYTES // MIB)


def _gib(size):
    return "%.1f GiB" % (size / 1024.0 ** 3)


def _locations(found, facts, eff, exe, instances, account, full_dump_bytes):
    probe = facts["folder"]
    locations, volumes = [], {}
    for entry, why, service in _subjects(found, probe, instances, facts["files"]["services"], account):
        loc = _location(found, probe, entry, why, service, exe)
        locations.append(loc)
        volume = entry["volume"]
        if loc["folder"] and volume and volume["ready"] and eff["DumpCount"]["value"]:
            size, basis = _dump_size(eff, entry["pids"], instances, full_dump_bytes)
            if volume["root"] not in volumes or volumes[volume["root"]][0] < size:
                volumes[volume["root"]] = (size, basis, volume, loc["folder"])
    for size, basis, volume, folder in volumes.values():
        count = eff["DumpCount"]["value"]
        evidence = {"volume": volume, "folder": folder, "dump_bytes": size, "estimate": basis, "dump_count": count}
        fix = "Free space on %s, or point DumpFolder to a volume with room (or lower DumpCount)." % volume["root"]
        if volume["free_bytes"] < size:
            found.add("no_disk_space", "blocker", "%s has %s free, less than one dump of %s needs (%s, %s)." % (
                volume["root"], _gib(volume["free_bytes"]), exe, _gib(size), basis), evidence, fix)
        elif volume["free_bytes"] < size * count:
            found.add("low_disk_space", "warning",
                      "%s has %s free, less than DumpCount=%d dumps of %s need (%s each, %s)." % (
                          volume["root"], _gib(volume["free_bytes"]), count, exe, _gib(size), basis), evidence, fix)
    return locations


# Who an account is on the network ("LocalSystem Account", "NetworkService Account", "LocalService Account",
# learn.microsoft.com): the first two present the computer's credentials, LocalService anonymous ones.
_NETWORK_IDENTITY = {"S-1-5-18": "the computer account (DOMAIN\\HOST$)", "S-1-5-20": "the computer account "
                     "(DOMAIN\\HOST$)", "S-1-5-19": "an anonymous logon, which shares rarely admit"}


def _share_warning(found, entry, who, folder):
    """WerFault writes the dump as the crashing account, so a folder on a share needs that account's network
    rights on the share and on the folder; the agent reads only the folder's ACL, as its own caller."""
    identity = _NETWORK_IDENTITY.get(entry["sid"], "its own domain credentials")
    found.add("dump_folder_on_share", "warning",
              "A dump of %s goes to the network share %s: WerFault writes it as that account, which reaches the "
              "share as %s; the share's permissions and the network were not checked here." % (who, folder, identity),
              {"account": entry["account"], "sid": entry["sid"], "folder": folder},
              "Grant that identity change rights on the share and the folder, or use a local DumpFolder and "
              "collect the dumps with crashdump.windows.fetch_dumps.")


def _location(found, probe, entry, why, service, exe):
    folder = entry["folder"]
    loc = {"account": entry["account"], "sid": entry["sid"], "pids": entry["pids"], "why": why,
           "folder": folder if entry["valid"] else None,
           "file_pattern": "%s\\%s.<pid>.dmp" % (folder.rstrip("\\"), exe) if entry["valid"] else None,
           "exists": None, "writable": None, "creatable": None, "volume": entry["volume"]}
    who = "%s running as %s (%s)" % (exe, entry["account"] or entry["sid"], why)
    fix_folder = ("Set DumpFolder to an absolute path, as REG_EXPAND_SZ when it uses variables: for example "
                  "crashdump.windows.local_dumps with exe=%s and dump_folder=C:\\WER." % exe)
    if not entry["valid"]:
        if probe["type"] == "REG_SZ" and _VAR.search(folder or ""):
            reason = "it is REG_SZ, so WER takes %r literally (it expands variables only in REG_EXPAND_SZ)" % folder
        elif _VAR.search(folder or ""):
            reason = "%r has a variable without a value for this account (it has no profile yet?)" % folder
        else:
            reason = "%r is not an absolute path" % folder
        found.add("dump_folder_invalid", "blocker", "A dump of %s has nowhere to go: DumpFolder %s." % (who, reason),
                  {"account": entry["account"], "folder": folder, "type": probe["type"]}, fix_folder)
        return loc
    volume = entry["volume"]
    if volume is not None and not (volume["exists"] and volume["ready"]):
        loc.update(folder=None, file_pattern=None)
        found.add("dump_folder_invalid", "blocker", "A dump of %s has nowhere to go: the drive %s %s." % (
            who, volume["root"], "does not exist" if not volume["exists"] else "is not ready"),
            {"account": entry["account"], "folder": folder, "volume": volume}, fix_folder)
        return loc
    if folder.startswith("\\\\"):
        _share_warning(found, entry, who, folder)
    levels = entry["levels"]
    access = folder_access(levels, entry["sid"], service)
    loc.update(exists=bool(levels and levels[0]["exists"]), writable=access["writable"],
               creatable=access["creatable"])
    evidence = {"account": entry["account"], "sid": entry["sid"], "folder": folder, "checked": access["checked"],
                "ace": access["ace"], "levels": levels}
    grant = ('icacls "%s" /grant "*%s:(OI)(CI)(W)", or let crashdump.windows.local_dumps create the folder with '
             'its default folder_acl.' % (access["checked"] or folder, entry["sid"]))
    if access["reason"] == "is_file":
        found.add("dump_folder_is_file", "blocker", "A dump of %s cannot be written: %s or a folder above it is a "
                  "file." % (who, folder), evidence, "Choose another DumpFolder, or remove the file.")
    elif access["creatable"] is False:
        found.add("dump_folder_not_creatable", "warning",
                  "%s does not exist, and %s may not create it in %s (%s); whether WerFault creates it as that "
                  "account is not documented." % (folder, entry["account"], access["checked"], access["ace"] or
                                                  "no ACE allows it"), evidence,
                  "Create the folder beforehand: crashdump.windows.local_dumps does (create_folder), with an ACL "
                  "that lets every account add its dumps.")
    if access["writable"] is False and access["reason"] != "is_file":
        found.add("dump_folder_not_writable", "blocker", "%s may not add files to %s%s (%s): the dump of %s is lost."
                  % (entry["account"], folder, "" if loc["exists"] else " once created",
                     access["ace"] or "no ACE allows it", exe), evidence, grant)
    if access["reason"] == "is_file":
        state = "a file is in the way"
    else:
        state = "the folder exists" if loc["exists"] else "the folder will be created"
    if access["writable"]:
        state += "; the account may add files"
    elif access["reason"] == "unreadable":
        errors = [lv["error"] for lv in levels if lv.get("error")]
        state += "; access was not checked (%s)" % ("; ".join(errors) if errors else "no permissions could be read")
    if volume and volume["ready"]:
        state += "; %s has %s free" % (volume["root"], _gib(volume["free_bytes"]))
    found.add("dump_location", "info", "A dump of %s lands in %s as %s.%s.dmp; %s." % (
        who, folder, exe, "<pid>", state), dict(evidence, volume=volume))
    return loc


# -- antivirus ----------------------------------------------------------------

def _expand(text, env):
    folded = {k.casefold(): v for k, v in env.items() if isinstance(v, str)}
    folded.setdefault("allusersprofile", folded.get("programdata"))
    return _VAR.sub(lambda m: folded.get(m.group(1).casefold()) or m.group(0), text)


def excluded(folder, exclusions, env):
    """Whether Defender's path exclusions cover ``folder``: an excluded folder covers what is below it; * and ?
    match within the path; an exclusion matching the dump files themselves (``C:\\WER\\*.dmp``) counts."""
    parts = fold(folder.rstrip("\\")).split("\\")
    candidates = ["\\".join(parts[:i]) for i in range(1, len(parts) + 1)] + ["\\".join(parts) + "\\x.dmp"]
    for raw in exclusions:
        text = fold(_expand(raw, env).rstrip("\\"))
        pattern = re.compile(re.escape(text).replace("\\*", ".*").replace("\\?", "."))
        if any(pattern.fullmatch(c) for c in candidates):
            return True
    return False


def _product_state(state):
    """(enabled, up to date) from Security Center's productState (the decoding the community uses)."""
    if not isinstance(state, int):
        return None, None
    return (state >> 12) & 0xF == 1, (state >> 4) & 0xF == 0


def _antivirus(found, defender, av, folders, env):
    parts = []
    if av.get("available"):
        listed = []
        for product in av.get("products") or []:
            enabled, current = _product_state(product.get("product_state"))
            listed.append("%s (%s, %s)" % (product.get("name"), "on" if enabled else "off",
                                           "up to date" if current else "out of date"))
            if enabled is False or current is False:
                found.add("antivirus_outdated", "warning", "The antivirus product %s reports that it is %s." % (
                    product.get("name"), "turned off" if enabled is False else "out of date"), {"product": product},
                    "Bring it up to date and turn it on, as the Microsoft crash troubleshooting guidance asks.")
        parts.append("Security Center lists %s" % (", ".join(listed) or "no antivirus product"))
    else:
        parts.append("Security Center: %s" % av.get("reason"))
    if not defender.get("available"):
        parts.append("Microsoft Defender: %s" % defender.get("reason"))
    else:
        mode = defender.get("am_running_mode") or "unknown mode"
        parts.append("Microsoft Defender: real-time protection %s, %s, signatures %s days old" % (
            {True: "on", False: "off"}.get(defender.get("real_time_protection"), "unknown"), mode,
            defender.get("signature_age_days")))
        age = defender.get("signature_age_days")
        if isinstance(age, int) and age > SIGNATURE_AGE_DAYS:
            found.add("antivirus_outdated", "warning", "Microsoft Defender's signatures are %d days old." % age,
                      {"defender": defender}, "Update-MpSignature")
        scanning = defender.get("real_time_protection") and "passive" not in mode.casefold()
        if not defender.get("exclusions_visible"):
            parts.append("its exclusions are hidden from local administrators, so whether the dump folder is "
                         "excluded is unknown")
        elif scanning:
            scanned = sorted({f for f in folders if not excluded(f, defender.get("exclusion_paths") or [], env)},
                             key=fold)
            if scanned:
                found.add("defender_scans_dump_folder", "warning",
                          "Microsoft Defender real-time protection scans %s: a dump of several GiB is scanned as it "
                          "is written, which slows the write, can lock the file, and can quarantine it." %
                          " and ".join(scanned), {"folders": scanned,
                                                  "exclusion_paths": defender.get("exclusion_paths")},
                          "; ".join('Add-MpPreference -ExclusionPath "%s"' % f for f in scanned) +
                          " (the dumps hold process memory: keep the folder readable by administrators only).")
    found.add("antivirus", "info", "; ".join(parts) + ".", {"defender": defender, "security_center": av})
