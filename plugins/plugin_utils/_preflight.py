# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Preflight: will a crash of an image leave a dump, and where? Findings from one read batch.

``batch`` builds the read batch; ``evaluate`` turns what it read into
findings, each ``{id, severity, message, evidence, fix}`` with severity
``blocker`` (no dump will appear), ``warning`` (a dump may not appear, or
something needs attention) or ``info``. Pure functions: no host access here.
"""

from __future__ import annotations

import re

from . import _gflags, _preflight_verdict, _wer
from ._preflight_antivirus import antivirus_findings
from ._preflight_handler import debugger_findings, wer_switch_findings
from ._preflight_host import image_findings, os_findings
from ._preflight_local_dumps import local_dumps_findings
from ._preflight_location import MIB, dump_locations
from ._preflight_reads import BUILTIN_ACCOUNTS, USER_LOCAL_DUMPS, batch, last_write

__all__ = ("BUILTIN_ACCOUNTS", "MIB", "SEVERITIES", "USER_LOCAL_DUMPS", "batch", "dump_type_value", "evaluate",
           "language_mode_refusal", "last_write", "refused")

SEVERITIES = ("blocker", "warning", "info")
_LANGUAGE_MODE = re.compile(r"PowerShell runs in (\w+) mode")


def dump_type_value(text):
    """The dump_type option (mini, full, custom or 0..2) as DumpType."""
    return int(text) if text.isdigit() else _wer.DUMP_TYPES[text]


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
    os_findings(found, os_facts, facts["updates"])
    instances = image_findings(found, exe, facts["files"], facts["processes"], facts["memory"])
    wer_switch_findings(found, snap, facts["wersvc"])
    debugger_findings(found, snap, exe, views)
    global_state = snap.state(_wer.LOCAL_DUMPS, 64)
    eff = _wer.effective(global_state, snap.state(_wer.image_key(exe), 64))
    if guard and planned and not global_state.exists:
        eff["DumpCount"] = {"value": 0, "source": "global"}
    for name, value in planned.items():
        eff[name] = {"value": value, "source": "planned"}
    local_dumps_findings(found, snap, exe, eff, planned, views)
    locations = dump_locations(found, facts, eff, exe, instances, account, full_dump_bytes)
    folders = [loc["folder"] for loc in locations if loc["folder"]]
    antivirus_findings(found, facts["defender"], facts["av"], folders, os_facts.get("env") or {})
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
