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
import functools
import re

from ._ntstatus import exception_name, fast_fail_name, parse_hex
from ._signature import (
    crash_signature,
    dotnet_family_key,
    family_key,
    hang_family_key,
    hang_signature,
    is_stack_hash,
    is_victim_module,
)

APPLICATION_ERROR, WER_REPORT, APPLICATION_HANG, DOTNET_RUNTIME = 1000, 1001, 1002, 1026
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
# CLR20r3: the report of an unhandled .NET Framework exception (P9 its type).
CLR_REPORT = "clr20r3"
CRASH_REPORTS = frozenset(["appcrash", "bex", "bex64", "moappcrash", CLR_REPORT])
HANG_REPORTS = frozenset(["apphangb1", "apphangxprocb1", "moapphang", "moapphangxprocb1"])
DOTNET_EXCEPTION = "0xe0434352"
# STATUS_FATAL_USER_CALLBACK_EXCEPTION: a .NET exception unhandled in a window
# procedure or other callback ends as this, with the same 1026.
DOTNET_CODES = frozenset([DOTNET_EXCEPTION, "0xc000041d"])
DWORD = 0xFFFFFFFF
STACK_BUFFER_OVERRUN = "0xc0000409"
DOTNET_WINDOW = dt.timedelta(seconds=60)

# Marks that Windows puts in event data (U+200E before paths) and that a
# comparison must not see.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"))
_SEP = "\x00"
_SERVICE_SUFFIX = re.compile(r"^(.+?\.exe)_(.+)$", re.IGNORECASE)
_LONG_PREFIX = "\\\\?\\"
_FILETIME_EPOCH = dt.date(1601, 1, 1)
_FILETIME_DAY = 864_000_000_000  # 100 ns intervals
_FILETIME_LAST_DAY = (dt.date.max - _FILETIME_EPOCH).days
_DOTNET_TYPE = re.compile(r"\b((?:[A-Za-z_][\w`]*\.)+[A-Za-z_]\w*(?:Exception|Error))\b")
_VERSION = re.compile(r"v?\d+(?:\.\d+){1,3}")
# A stack line of the 1026 text: an indented localised "at" then Namespace.Type.Method(.
_FRAME = re.compile(r"^[ \t]+\S+[ \t]+((?:[\w`<>$|]+\.)+[\w`<>$|]+)\(", re.MULTILINE)
_ATTACHED, _REPORT_ID = 15, 19


# -- values ------------------------------------------------------------------

def clean(value):
    """Event data as compared and reported: text without invisible marks or surrounding blanks.

    An integer becomes ``0x``-prefixed hex, so that the hex fields read it
    right (the decimal fields accept that form too).
    """
    if not isinstance(value, str):  # the common case first: event data is text
        if value is None:
            return ""
        if isinstance(value, int) and not isinstance(value, bool):
            return "0x%x" % value
        value = str(value)
    if not value.isascii():
        value = value.translate(_INVISIBLE)
    return value.strip()


def values(props, count):
    """The event's positional values cleaned, padded with "" to at least ``count``."""
    try:
        # All text (the usual case): clean it in one go, which is most of the cost of parsing.
        joined = _SEP.join(props)
    except TypeError:
        out = [clean(v) for v in props]
    else:
        if not joined.isascii():
            joined = joined.translate(_INVISIBLE)
        out = list(map(str.strip, joined.split(_SEP))) if props else []
        if len(out) != len(props):  # a value held the separator
            out = [clean(v) for v in props]
    if len(out) < count:
        out += [""] * (count - len(out))
    return out


def number(text):
    """Hex event data (``1ab0``, ``0x1AB0``, ``0x0x1AB0``) -> int; None if empty or not hex."""
    if not text or text[0] in "+-":
        return None
    try:
        return int(text, 16)
    except ValueError:
        pass
    try:
        n = parse_hex(text)
    except ValueError:
        return None
    return n if n >= 0 else None  # "0x-1": hex data is never signed


def _decimal(text):
    if text.isdigit():
        return int(text)
    return number(text) if text[:2].lower() == "0x" else None


def hex_text(text, width=0):
    """Event hex data in one form: ``0x`` and lower-case digits, at least ``width`` of them; None if not hex."""
    n = number(text)
    return None if n is None else "0x%0*x" % (width, n)


def offset_text(text):
    """A fault offset as ``0x...``; text that is not hex (``PCH_F1_FROM_ntdll+0x9D0E4``) is kept as it is."""
    n = number(text)
    if n is not None:
        return "0x%x" % n
    return text or None


@functools.lru_cache(maxsize=1024)
def _filetime_day(days):
    return (_FILETIME_EPOCH + dt.timedelta(days=days)).isoformat()


def filetime_iso(text):
    """A FILETIME in hex (``01d...``, ``0x0x1D...``) -> ISO 8601 UTC, None when absent, zero or out of range."""
    n = number(text)
    if not n:
        return None
    # By arithmetic, the date looked up once per day: this runs for every crash.
    days, rest = divmod(n, _FILETIME_DAY)
    if days > _FILETIME_LAST_DAY:
        return None
    seconds, hundreds = divmod(rest, 10_000_000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return "%sT%02d:%02d:%02d.%03dZ" % (_filetime_day(days), hours, minutes, seconds, hundreds // 10_000)


def split_app_name(app_name):
    """``svchost.exe_AppXSvc`` -> (``svchost.exe``, ``AppXSvc``); other names -> (name, None)."""
    m = _SERVICE_SUFFIX.match(app_name)
    return (m.group(1), m.group(2)) if m else (app_name, None)


def image_of(app_name, app_path):
    """The image file name: the app path's file name, else the app name without a service suffix."""
    if app_path:
        name = app_path.replace("/", "\\").rsplit("\\", 1)[-1]
        if name:
            return name
    return split_app_name(app_name)[0] if app_name else None


def dump_file_name(image, pid):
    """The file WER LocalDumps writes for a crash: ``<image>.<decimal pid>.dmp``."""
    if not image or pid is None:
        return None
    return "%s.%d.dmp" % (image, pid)


def long_path(path):
    """Without the ``\\\\?\\`` prefix WER puts on paths."""
    return path[len(_LONG_PREFIX):] if path.startswith(_LONG_PREFIX) else path


def _attached_files(text):
    """AttachedFiles (one path a line, CRLF) -> the paths, each once."""
    if not text:
        return []
    return list(dict.fromkeys(f for f in map(str.strip, text.replace(_LONG_PREFIX, "").split("\n")) if f))


def _time(text):
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


# -- one event -----------------------------------------------------------------

@functools.lru_cache(maxsize=4096)
def _location(app_name, app_version, app_timestamp, module, module_version, module_timestamp, code, offset,
              app_path, module_path, package, praid):
    """Everything a crash record holds that is not about the one process: computed once for its repeats."""
    code = number(code)
    code = None if code is None else "0x%08x" % (code & 0xFFFFFFFF)
    offset = offset_text(offset)
    image = image_of(app_name, app_path)
    name = app_name or image or ""
    return {
        "kind": "crash",
        "app_name": app_name or None,
        "image": image,
        "service": split_app_name(app_name)[1] if app_name else None,
        "app_version": app_version or None,
        "app_timestamp": hex_text(app_timestamp, 8),
        "module": module or None,
        "module_version": module_version or None,
        "module_timestamp": hex_text(module_timestamp, 8),
        "module_unloaded": module.lower().endswith("_unloaded"),
        "exception_code": code,
        "exception_name": None if code is None else exception_name(code),
        "offset": offset,
        "app_path": app_path or None,
        "module_path": module_path or None,
        "package_full_name": package or None,
        "package_relative_app_id": praid or None,
        "signature": crash_signature(name, app_version, module, module_version, code or 0, offset),
        "family": family_key(name, module, code or 0, offset),
        "victim": is_victim_module(module),
        "stack_hash": is_stack_hash(module),
        "subcode": None,
        "fail_fast": None,
        "wer": None,
        "dotnet": None,
        "local_dump": None,
    }


def _pid(text):
    """A process id (a DWORD) from hex text; longer text is a malformed record, not a number to print."""
    pid = number(text)
    if pid is not None and pid > DWORD:
        raise ValueError("process id is not a 32-bit number (%d hex digits)" % len(text))
    return pid


def _crash(event, v, sources):
    """A crash record from Event 1000 values ``v`` (padded to 15)."""
    location = _location(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[10], v[11], v[13], v[14])
    pid = _pid(v[8])
    return {
        **location,
        "time": event["time"],
        "record_id": event["record_id"],
        "machine": event["machine"],
        "sources": sources,
        "pid": pid,
        "process_start": filetime_iso(v[9]),
        "report_id": v[12] or None,
        "dump_file": dump_file_name(location["image"], pid),
    }


def parse_application_error(event):
    """Event 1000 -> a crash record (13 or 15 values, any hex form)."""
    return _crash(event, values(event["properties"] or [], 15), [APPLICATION_ERROR])


def _wer(v, records):
    """What a crash record tells of its WER report, from the report's values."""
    return {
        "event_name": v[2],
        "bucket": v[0] or None,
        "bucket_type": _decimal(v[1]),
        "cab_id": v[4] or None,
        "report_status": _decimal(v[20]),
        "hashed_bucket": v[21] or None,
        "attached_files": _attached_files(v[_ATTACHED]),
        "store_path": long_path(v[16]) or None,
        # CLR20r3: P9 is the .NET exception type.
        "exception_type": (v[13] or None) if v[2].lower() == CLR_REPORT else None,
        "records": records,
    }


def parse_wer_report(event):
    """Event 1001 -> the report's fields, P1..P10 as ``p`` (a list of 10)."""
    v = values(event["properties"] or [], 23)
    report = _wer(v, 1)
    report.update({"time": event["time"], "record_id": event["record_id"], "machine": event["machine"],
                   "response": v[3] or None, "p": v[5:15], "analysis_symbol": v[17] or None,
                   "report_id": v[_REPORT_ID] or None, "cab_guid": v[22] or None})
    return report


def _report_values(logged):
    """The values of one report from the 1001 events logged for it, oldest first.

    Those of the newest event with a bucket (the first is often logged
    before the bucket is known), else of the newest; attached files of all.
    """
    chosen = logged[-1]
    if len(logged) == 1:
        return values(chosen["properties"] or [], 23)
    for event in reversed(logged):
        if (event["properties"] or [""])[0]:
            chosen = event
            break
    v = values(chosen["properties"] or [], 23)
    raw = [(e["properties"] or [])[_ATTACHED:_ATTACHED + 1] for e in logged]
    if raw.count(raw[0]) != len(raw):  # usually each lists the same files
        v[_ATTACHED] = "\n".join([_attached_text(e) for e in logged])
    return v


def _attached_text(event):
    props = event["properties"] or []
    return clean(props[_ATTACHED]) if len(props) > _ATTACHED else ""


def _crash_from_report(event, v, records):
    """A crash known only from its 1001 (``v``, its values): P1..P10 by the report's event name."""
    name = v[2].lower()
    p = v[5:15]
    package = praid = None
    if name == "moappcrash":
        # Store apps: P1 the package, P2 praid:<AppId>, the rest shifted by one.
        package, praid = p[0], p[1].split(":", 1)[-1]
        p = [package.split("_", 1)[0]] + p[2:] + [""]
    # BEX/BEX64: P7 the offset, P8 the code, P9 the subcode.
    bex = name in ("bex", "bex64")
    offset, code = (p[6], p[7]) if bex else (p[7], p[6])
    if name == CLR_REPORT:
        # P4 the assembly, P7 and P8 a method token and IL offset, not a native fault.
        offset, code = "", DOTNET_EXCEPTION
    crash = _crash(event, p[:6] + [code, offset, "", "", "", "", v[_REPORT_ID], package or "", praid or ""],
                   [WER_REPORT])
    if package:
        crash["image"] = None  # the package names no executable
    crash["wer"] = _wer(v, records)
    if bex:
        _subcode(crash, p[8])
    _local_dump(crash, crash["wer"]["attached_files"])
    return crash


def parse_application_hang(event):
    """Event 1002 -> a hang record (7 values on Windows 7, 10 later)."""
    return _hang(event, values(event["properties"] or [], 10), [APPLICATION_HANG])


def _hang_from_report(event, v, records):
    """A hang known only from its report (its 1002 is outside the window): P1 the app, P2 its version, P5 hang type."""
    p = v[5:15]
    hang = _hang(event, [p[0], p[1], "", "", "", "", v[_REPORT_ID], "", "", p[4]], [WER_REPORT])
    hang["wer"] = _wer(v, records)
    return hang


def _hang(event, v, sources):
    app_name, app_path = v[0], v[5]
    return {
        "kind": "hang",
        "time": event["time"],
        "record_id": event["record_id"],
        "machine": event["machine"],
        "app_name": app_name or None,
        "image": image_of(app_name, app_path),
        "service": split_app_name(app_name)[1] if app_name else None,
        "app_version": v[1] or None,
        "pid": _pid(v[2]),
        "process_start": filetime_iso(v[3]),
        "termination_time": _decimal(v[4]),
        "app_path": app_path or None,
        "report_id": v[6] or None,
        "package_full_name": v[7] or None,
        "package_relative_app_id": v[8] or None,
        "hang_type": v[9] or None,
        "sources": sources,
        "module": None, "module_version": None, "module_unloaded": False,
        "exception_code": None, "exception_name": None, "offset": None,
        "victim": False, "stack_hash": False, "dump_file": None, "local_dump": None,
        "subcode": None, "fail_fast": None, "wer": None, "dotnet": None,
        "signature": hang_signature(app_name or image_of(app_name, app_path), v[1]),
        "family": hang_family_key(app_name or image_of(app_name, app_path)),
    }


def parse_dotnet(event):
    """Event 1026 -> application, runtime version, exception type and the text.

    The text is localised ("Application:", "Anwendung:"): the application is
    the value of the first line, the runtime version the first version-like
    value, the exception type the first dotted name ending in Exception or
    Error (type names are never localised).
    """
    text = "\n".join(v for v in values(event["properties"] or [], 0) if v).replace("\r\n", "\n")
    found = [line.split(":", 1)[1].strip() for line in text.split("\n") if ":" in line]
    exc = _DOTNET_TYPE.search(text)
    frame = _FRAME.search(text, exc.end()) if exc else None
    return {
        "time": event["time"],
        "record_id": event["record_id"],
        "application": found[0] if found else None,
        "runtime_version": next((v for v in found if _VERSION.fullmatch(v)), None),
        "exception_type": exc.group(1) if exc else None,
        "top_frame": frame.group(1) if frame else None,
        "text": text,
    }


# -- joining -------------------------------------------------------------------

def _subcode(crash, text):
    """P9 of a BEX report: the fail-fast code of a 0xC0000409, the access type of a 0xC0000005 (8: execute)."""
    crash["subcode"] = number(text)
    if crash["subcode"] is not None and crash["exception_code"] == STACK_BUFFER_OVERRUN:
        crash["fail_fast"] = fast_fail_name(crash["subcode"])


def _attach_report(record, v, records):
    record["wer"] = _wer(v, records)
    record["sources"] = record["sources"] + [WER_REPORT]
    if v[2].lower() in ("bex", "bex64"):
        _subcode(record, v[13])  # P9
    _local_dump(record, record["wer"]["attached_files"])


def _local_dump(crash, files):
    """The LocalDumps file when the report lists it among its attached files."""
    want = (crash["dump_file"] or "").lower()
    image = (crash["image"] or "").lower()
    for path in files:
        base = path.rsplit("\\", 1)[-1].lower()
        if want:
            if base == want:
                crash["local_dump"] = path
                return
        elif image and base.startswith(image + ".") and base.endswith(".dmp") and base[len(image) + 1:-4].isdigit():
            crash["local_dump"] = path
            return


def _attach_dotnet(crashes, dotnet_events):
    """Give each .NET crash (0xE0434352) the nearest unused 1026 of its application within a minute."""
    unused = list(dotnet_events)
    for crash in crashes:
        if crash["exception_code"] not in DOTNET_CODES or not unused or not crash["time"]:
            continue
        names = {(crash["app_name"] or "").lower(), (crash["image"] or "").lower()}
        when = _time(crash["time"])
        best = None
        for candidate in unused:
            if (candidate["application"] or "").lower() not in names or not candidate["time"]:
                continue
            gap = abs(_time(candidate["time"]) - when)
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
            _time(when)
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
                key = (clean(props[_REPORT_ID]) if len(props) > _REPORT_ID else "") or ("record", event["record_id"])
                logged.setdefault(key, []).append(event)
            elif event_id == APPLICATION_HANG:
                records.append(parse_application_hang(event))
            else:
                dotnet.append(parse_dotnet(event))
        except Exception as e:  # noqa: BLE001 - one bad record must not fail the host's triage
            unparsed.append(_unparsed(event, e))

    # Each report joins the (first) record with its id, or stands alone.
    by_report = {r["report_id"]: r for r in reversed(records) if r["report_id"]}
    crashes = records
    for key, group in logged.items():
        try:
            _join(key, group, by_report, crashes)
        except Exception as e:  # noqa: BLE001 - as above, for the report's events
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
    v = _report_values(group)
    record = by_report.pop(key, None)
    if record is not None:
        _attach_report(record, v, len(group))
    elif v[2].lower() in CRASH_REPORTS:
        crashes.append(_crash_from_report(group[0], v, len(group)))
    else:
        crashes.append(_hang_from_report(group[0], v, len(group)))
