# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Preflight findings about who gets a crash: Windows Error Reporting switched off (value, policy, service), or a
postmortem (AeDebug) or Image File Execution Options debugger taking it instead."""

from __future__ import annotations

from . import _gflags, _wer


def _is_one(value):
    return value is not None and str(value["data"]).strip() == "1"


def wer_switch_findings(found, snap, service):
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


def debugger_findings(found, snap, exe, views):
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
