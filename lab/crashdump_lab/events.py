"""The Application log records WER writes for a crash: Event 1000
("Application Error") and Event 1001 ("Windows Error Reporting", APPCRASH),
with positional properties in the Windows 10 and later form."""

from __future__ import annotations

from . import clock

APPLICATION = "Application"
LEVEL_ERROR, LEVEL_INFORMATION = 2, 4
# The providers registered on a lab host unless its state lists its own
# (``event_providers``). A log keeps the records of a provider that is no
# longer registered (Event Viewer then says "The description for Event ID ...
# from source ... cannot be found"), and Get-WinEvent fails a -ProviderName or
# FilterHashtable query naming an unregistered one: "There is not an event
# provider on the localhost computer that matches ..." (MicrosoftDocs/
# PowerShell-Docs issue 7758). An XPath filter on Provider/@Name does not.
DEFAULT_PROVIDERS = ("Application Error", "Application Hang", "Windows Error Reporting", ".NET Runtime",
                     "Microsoft-Windows-Security-SPP", "Microsoft-Windows-Winlogon", "MsiInstaller")


def query(state, log, providers, ids, since, limit):
    """event_query's answer: the filter first (in UTC), newest first, then the limit, telling truncation."""
    wanted = {p.casefold() for p in providers}
    matched = [e for e in state["events"]
               if e["log"].casefold() == log.casefold()
               and (not providers or e["provider"].casefold() in wanted)
               and (not ids or e["id"] in ids)
               and (since is None or clock.parse(e["time"]) >= since)]
    matched.sort(key=lambda e: e["record_id"], reverse=True)
    registered = {p.casefold() for p in state.get("event_providers", DEFAULT_PROVIDERS)}
    return {"events": matched[:limit] if limit is not None else matched,
            "truncated": limit is not None and len(matched) > limit,
            "unregistered_providers": [p for p in providers if p.casefold() not in registered]}


def next_record_id(state):
    return max([e["record_id"] for e in state["events"]] + [0]) + 1


def append(state, log, provider, event_id, level, when, properties):
    """Add a record with the next record id; returns it."""
    event = {"log": log, "provider": provider, "id": event_id, "level": level, "time": clock.iso(when),
             "record_id": next_record_id(state), "machine": state["os"]["hostname"], "properties": properties}
    state["events"].append(event)
    return event


def _offset(crash):
    # 32-bit processes report the offset in 8 digits, 64-bit ones in 16.
    return "%0*x" % (16 if crash.is_64bit else 8, crash.address - crash.faulting.base)


def _signature(crash):
    """App, version, timestamp, module, module version, module timestamp, code, offset."""
    app, module = crash.image_module, crash.faulting
    return [crash.app_name, app.version_text, "%08x" % app.timestamp, module.name, module.version_text,
            "%08x" % module.timestamp, "%08x" % crash.code, _offset(crash)]


def application_error(state, crash, when):
    """Event 1000: 15 values, pid in bare lower-case hex, start time as a 16-digit FILETIME."""
    props = _signature(crash) + ["%x" % crash.pid, "%016x" % clock.filetime(crash.start_time),
                                 crash.image_module.path, crash.faulting.path, crash.report_id, "", ""]
    return append(state, APPLICATION, "Application Error", 1000, LEVEL_ERROR, when, props)


def wer_report(state, crash, when, dump_path):
    """Event 1001 (APPCRASH), as first logged for a report: bucket not yet known,
    AttachedFiles with the WER temp files and the local dump when one was written."""
    attached = ["C:\\ProgramData\\Microsoft\\Windows\\WER\\Temp\\WER%s.tmp.mdmp" % crash.report_id[:4].upper(),
                "C:\\ProgramData\\Microsoft\\Windows\\WER\\Temp\\WER%s.tmp.WERInternalMetadata.xml"
                % crash.report_id[4:8].upper()]
    if dump_path:
        attached.append(dump_path)
    store = "C:\\ProgramData\\Microsoft\\Windows\\WER\\ReportQueue\\AppCrash_%s_%s_%s" % (
        crash.app_name[:20], crash.report_id.replace("-", "")[:40], crash.report_id[:8])
    props = (["", "0", "APPCRASH", "Not available", "0"] + _signature(crash) + ["", ""]
             + ["\r\n".join("\\\\?\\" + p for p in attached), "\\\\?\\" + store, "", "0", crash.report_id,
                "268435456", "", "0"])
    return append(state, APPLICATION, "Windows Error Reporting", 1001, LEVEL_INFORMATION, when, props)
