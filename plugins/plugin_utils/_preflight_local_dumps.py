# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Preflight findings about the LocalDumps values: missing key, DumpCount 0, values WER ignores or misreads, and
LocalDumps keys or values where WER does not read them."""

from __future__ import annotations

import difflib

from . import _wer
from ._preflight_reads import POLICY_LOCAL_DUMPS, USER_HIVES, USER_LOCAL_DUMPS
from ._registry import fold

# Value names seen in published LocalDumps configurations that WER does not know.
_MISSPELLINGS = {"crashcount": "DumpCount", "dumpcounts": "DumpCount", "maxdumps": "DumpCount", "count": "DumpCount",
                 "dumpfolders": "DumpFolder", "dumppath": "DumpFolder", "dumpdir": "DumpFolder",
                 "dumpdirectory": "DumpFolder", "dumplocation": "DumpFolder", "folder": "DumpFolder",
                 "dumptypes": "DumpType", "type": "DumpType", "customflags": "CustomDumpFlags",
                 "dumpflags": "CustomDumpFlags", "customdumpflag": "CustomDumpFlags"}


def _where(key, view):
    return key + (" (32-bit view)" if view == 32 else "")


def local_dumps_findings(found, snap, exe, eff, planned, views):
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
