# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Crash records from Application log events 1000, 1001, 1002 and 1026.

Pure functions over the agent's ``event_query`` records (``{log, provider,
id, level, time, record_id, machine, properties}``, every field present as
the protocol says). Every event is read by
the position of its values, never by the localised message text, and every
form Windows writes is accepted (windows-facts.md, "Event log"):

* 1000 "Application Error" with 13 values (Windows 7 / 2008 R2) or 15;
  process id and start time as bare hex (unnamed data), ``0x`` hex (named
  data) or ``0x0x`` hex (rendered message text), any case;
* 1001 "Windows Error Reporting" with 21, 22 or 23 values, logged several
  times for one report (the first often with an empty bucket): one WER
  report per ReportId, joined to the 1000 with that ReportId. Only crash
  reports (APPCRASH, BEX, BEX64, MoAppCrash) and hang reports are kept;
* 1002 "Application Hang", joined to its hang report the same way;
* 1026 ".NET Runtime", one localised text blob, joined to the 1000 with code
  0xE0434352 (or 0xC000041D) of the same application logged within a minute
  of it. A .NET crash's family is its .NET exception type and top frame (from
  the 1026, else the type from a CLR20r3 report's P9): the native fault is
  the same RaiseException in KernelBase for every .NET bug.

A crash or hang known only from its 1001 (its 1000 or 1002 fell out of the
time window or the log) is kept, built from the report's P1..P10. An event
that cannot be read is kept in ``unparsed`` with the reason, and never fails
the others.
"""

from __future__ import annotations

import datetime as dt

from ._event_records import (
    APPLICATION_ERROR,
    APPLICATION_HANG,
    CRASH_REPORTS,
    DOTNET_CODES,
    DOTNET_RUNTIME,
    HANG_REPORTS,
    REPORT_ID,
    WER_REPORT,
    attach_report,
    crash_from_report,
    hang_from_report,
    parse_application_error,
    parse_application_hang,
    parse_dotnet,
    parse_wer_report,
    report_values,
)
from ._event_values import clean, number, parse_time
from ._signature import dotnet_family_key

__all__ = ["EVENT_IDS", "PROVIDERS", "number", "parse_application_error", "parse_application_hang", "parse_dotnet",
           "parse_events", "parse_wer_report"]

EVENT_IDS = (APPLICATION_ERROR, WER_REPORT, APPLICATION_HANG, DOTNET_RUNTIME)
# The provider that writes each event id. Other providers log the same ids
# (an installer's 1000, say) and are ignored.
PROVIDERS = {
    APPLICATION_ERROR: "application error",
    WER_REPORT: "windows error reporting",
    APPLICATION_HANG: "application hang",
    DOTNET_RUNTIME: ".net runtime",
}
# As Windows spells them: compared first, before the case-insensitive test.
_PROVIDER_NAMES = {APPLICATION_ERROR: "Application Error", WER_REPORT: "Windows Error Reporting",
                   APPLICATION_HANG: "Application Hang", DOTNET_RUNTIME: ".NET Runtime"}
DOTNET_WINDOW = dt.timedelta(seconds=60)


def _attach_dotnet(crashes, dotnet_events):
    """Give each .NET crash (0xE0434352) the nearest unused 1026 of its application within a minute."""
    unused = list(dotnet_events)
    for crash in crashes:
        if crash["exception_code"] not in DOTNET_CODES or not unused or not crash["time"]:
            continue
        names = {(crash["app_name"] or "").lower(), (crash["image"] or "").lower()}
        when = parse_time(crash["time"])
        best = None
        for candidate in unused:
            if (candidate["application"] or "").lower() not in names or not candidate["time"]:
                continue
            gap = abs(parse_time(candidate["time"]) - when)
            if gap <= DOTNET_WINDOW and (best is None or gap < best[0]):
                best = (gap, candidate)
        if best is not None:
            unused.remove(best[1])
            crash["dotnet"] = {k: best[1][k] for k in ("exception_type", "top_frame", "runtime_version", "application",
                                                       "text")}
            crash["sources"] = crash["sources"] + [DOTNET_RUNTIME]
    return len(unused)


def _dotnet_family(crash):
    """Key a .NET crash on its exception type and top frame, when the 1026 or a CLR20r3 report names the type."""
    if crash["exception_code"] not in DOTNET_CODES:
        return
    dotnet, wer = crash["dotnet"] or {}, crash["wer"] or {}
    exception_type = dotnet.get("exception_type") or wer.get("exception_type")
    if exception_type:
        crash["family"] = dotnet_family_key(crash["app_name"] or crash["image"], exception_type,
                                            dotnet.get("top_frame"))


def _checked(event):
    """The event when its envelope is what the protocol says; ValueError naming the field otherwise."""
    props = event["properties"]
    if props is not None and not isinstance(props, list):
        raise ValueError("properties is %s, not a list" % type(props).__name__)
    record_id = event["record_id"]
    if record_id is not None and (not isinstance(record_id, int) or isinstance(record_id, bool)):
        raise ValueError("record_id is %s, not a number" % type(record_id).__name__)
    when = event["time"]
    if when is not None:
        try:
            parse_time(when)
        except (TypeError, ValueError, AttributeError):
            raise ValueError("time %r is not an ISO 8601 time" % str(when)[:40]) from None
    return event


def _unparsed(event, error):
    """What is said of an event that could not be read: which one, and why (one line, short)."""
    get = event.get if isinstance(event, dict) else {}.get
    reason = ("%s: %s" % (type(error).__name__, error)).splitlines()[0]
    return {"record_id": get("record_id"), "id": get("id"), "time": get("time"), "reason": reason[:200]}


def parse_events(events, images=None):
    """Crash and hang records, newest first, from ``event_query`` records.

    ``images``: keep only crashes of these image names (case-insensitive;
    ``svchost.exe`` also matches ``svchost.exe_AppXSvc``). Returns
    ``{"crashes": [...], "unparsed": [...], "stats": {...}}``; an event that
    cannot be read is in ``unparsed`` with the reason, and the rest are read.
    """
    records, dotnet, unparsed = [], [], []
    logged = {}
    foreign = other_reports = 0
    for event in events:
        try:
            event_id = _checked(event)["id"]
            provider = PROVIDERS.get(event_id)
            name = event["provider"]
            if provider is None or (name != _PROVIDER_NAMES[event_id] and str(name or "").lower() != provider):
                foreign += 1
            elif event_id == APPLICATION_ERROR:
                records.append(parse_application_error(event))
            elif event_id == WER_REPORT:
                props = event["properties"] or []
                name = props[2] if len(props) > 2 else ""
                # Event names are plain ASCII words: clean() only for anything else.
                name = (name.strip() if isinstance(name, str) and name.isascii() else clean(name)).lower()
                if name not in CRASH_REPORTS and name not in HANG_REPORTS:
                    other_reports += 1
                    continue
                key = (clean(props[REPORT_ID]) if len(props) > REPORT_ID else "") or ("record", event["record_id"])
                logged.setdefault(key, []).append(event)
            elif event_id == APPLICATION_HANG:
                records.append(parse_application_hang(event))
            else:
                dotnet.append(parse_dotnet(event))
        except Exception as e:  # pylint: disable=broad-exception-caught  # one bad record must not fail the host
            unparsed.append(_unparsed(event, e))

    # Each report joins the (first) record with its id, or stands alone.
    by_report = {r["report_id"]: r for r in reversed(records) if r["report_id"]}
    crashes = records
    for key, group in logged.items():
        try:
            _join(key, group, by_report, crashes)
        except Exception as e:  # pylint: disable=broad-exception-caught  # as above, for a report
            unparsed.append(_unparsed(group[-1], e))
    crashes.sort(key=lambda c: (c["time"] or "", c["record_id"] or 0), reverse=True)
    unmatched_dotnet = _attach_dotnet(crashes, dotnet)
    for crash in crashes:
        _dotnet_family(crash)

    if images:
        wanted = {clean(i).lower() for i in images}
        crashes = [c for c in crashes
                   if (c["image"] or "").lower() in wanted or (c["app_name"] or "").lower() in wanted]
    hangs = [c["kind"] for c in crashes].count("hang")
    return {"crashes": crashes, "unparsed": unparsed, "stats": {
        "events": len(events),
        "other_providers": foreign,
        "other_reports": other_reports,
        "duplicate_reports": sum(map(len, logged.values())) - len(logged),
        "unmatched_dotnet": unmatched_dotnet,
        "unparsed": len(unparsed),
        "crashes": len(crashes) - hangs,
        "hangs": hangs,
    }}


def _join(key, group, by_report, crashes):
    """The 1001 events of one report: joined to the record with its id, else a crash or hang of their own."""
    if len(group) > 1:
        # Newest first as the log returns them, usually twice: reversing is cheaper than sorting.
        if (group[0]["record_id"] or 0) > (group[-1]["record_id"] or 0):
            group.reverse()
        if len(group) > 2:
            group.sort(key=lambda e: e["record_id"] or 0)
    v = report_values(group)
    record = by_report.pop(key, None)
    if record is not None:
        attach_report(record, v, len(group))
    elif v[2].lower() in CRASH_REPORTS:
        crashes.append(crash_from_report(group[0], v, len(group)))
    else:
        crashes.append(hang_from_report(group[0], v, len(group)))
