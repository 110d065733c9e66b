# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Windows events as forwarders send them -> the ``event_query`` records that _events reads.

* Winlogbeat (and Elastic Agent's winlog input) send ECS JSON, one event or a
  batch (a JSON array, as Logstash's http output sends): ``winlog.event_id``
  (text), ``winlog.provider_name``, ``winlog.record_id``,
  ``winlog.computer_name``, ``winlog.channel``, ``winlog.time_created`` or
  ``@timestamp``, ``host.name`` (the shipping host), and ``winlog.event_data``
  with each value under its name or, when the event's data is unnamed, as
  ``param<N>`` for the Nth value. Winlogbeat leaves empty values out.
* Windows Event Forwarding and ``wevtutil qe /f:RenderedXml`` give the event
  XML: one ``<Event>`` (with ``<System>``, ``<EventData>`` and maybe
  ``<RenderingInfo>``), or an element holding several.

Named values are put back at the positions _event_records reads them from.
Anything that is not such an event raises BadEvent naming the event and the
field: nothing of a body that holds one is used.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import xml.etree.ElementTree as ET

from ._event_records import APPLICATION_ERROR, APPLICATION_HANG, WER_REPORT
from ._events import parse_events
from ._image import image_problem, is_sensitive

# The names each event gives its values, in position order (the same order as
# the unnamed values of older Windows; windows-facts.md, "Event log").
FIELD_NAMES = {
    APPLICATION_ERROR: ("AppName", "AppVersion", "AppTimeStamp", "ModuleName", "ModuleVersion", "ModuleTimeStamp",
                        "ExceptionCode", "FaultingOffset", "ProcessId", "ProcessCreationTime", "AppPath", "ModulePath",
                        "IntegratorReportId", "PackageFullName", "PackageRelativeAppId"),
    WER_REPORT: ("Bucket", "BucketType", "EventName", "Response", "CabId", "P1", "P2", "P3", "P4", "P5", "P6", "P7",
                 "P8", "P9", "P10", "AttachedFiles", "StorePath", "AnalysisSymbol", "Rechecking", "ReportId",
                 "ReportStatus", "HashedBucket", "CabGuid"),
    APPLICATION_HANG: ("AppName", "AppVersion", "ProcessId", "StartTime", "TerminationTime", "ExeFileName", "ReportId",
                       "PackageFullName", "PackageRelativeAppId", "HangType"),
}
_POSITIONS = {event_id: {name.casefold(): i for i, name in enumerate(names)}
              for event_id, names in FIELD_NAMES.items()}
_PARAM = re.compile(r"param([1-9][0-9]{0,2})", re.IGNORECASE)
# An ISO 8601 time, its fraction of a second cut to milliseconds (Windows writes 7 digits).
_TIME = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$", re.IGNORECASE)
# What the playbooks get as a host pattern: one plain name, never a wildcard, list or group operator.
_HOST = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,252}")
_IMPLICIT_GROUPS = frozenset(["all", "ungrouped"])


class BadEvent(ValueError):
    """The body holds something that is not a Windows event as forwarders send it."""


def crash_events(pairs):
    """The crashes and hangs in [(host, record)], read as crash_events reads a host's log, one event each.

    Returns ``{"events": [...], "refused": [...]}``: each event is
    ``{"crash": record, "meta": {"hosts": host}}``, the record as crash_events
    returns it plus ``host`` and ``event_id`` (the event it was read from);
    a crash of an image that remediation must not touch (a sensitive system
    process, or no usable image name) is in ``refused`` with the reason.
    An event that cannot be read raises BadEvent.
    """
    by_host = {}
    for host, record in pairs:
        by_host.setdefault(host, []).append(record)
    events, refused = [], []
    for host, records in by_host.items():
        parsed = parse_events(records)
        if parsed["unparsed"]:
            bad = parsed["unparsed"][0]
            raise BadEvent("event %s (record %s) of %s: %s" % (bad["id"], bad["record_id"], host, bad["reason"]))
        for crash in reversed(parsed["crashes"]):  # oldest first, as they happened
            reason = refusal(crash["image"])
            if reason:
                refused.append({"host": host, "image": crash["image"], "reason": reason})
            else:
                events.append({"crash": dict(crash, host=host, event_id=crash["sources"][0]), "meta": {"hosts": host}})
    return {"events": events, "refused": refused}


def refusal(image):
    """Why remediation must not run for ``image``, or None."""
    problem = image_problem(image)
    if problem:
        return problem
    if is_sensitive(image):
        return ("%s is a sensitive system process: no dumps or page heap for it from an event (run the enable "
                "playbook with allow_sensitive_image=true if you really mean it)" % image)
    return None


def read_body(body, content_type=""):
    """[(host, record)] from a request body: ECS JSON (an event or a list of them) or event XML."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise BadEvent("the body is not UTF-8 text: %s" % e) from None
    if "xml" in content_type.lower() or text.lstrip().startswith("<"):
        return _read_xml(text)
    try:
        data = json.loads(text)
    except ValueError as e:
        raise BadEvent("the body is neither JSON nor event XML: %s" % e) from None
    events = data if isinstance(data, list) else [data]
    if not events:
        raise BadEvent("the body is an empty list: no events")
    return [_at("event %d" % i, _from_ecs, event) for i, event in enumerate(events)]


def _at(where, read, item):
    try:
        return read(item)
    except BadEvent as e:
        raise BadEvent("%s: %s" % (where, e)) from None


def _get(obj, *path):
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _from_ecs(event):
    if not isinstance(event, dict):
        raise BadEvent("is %s, not a JSON object" % type(event).__name__)
    winlog = event.get("winlog")
    if not isinstance(winlog, dict):
        raise BadEvent("no winlog object: not an event as Winlogbeat sends it")
    event_id = _integer("winlog.event_id", winlog.get("event_id"), required=True)
    data = winlog.get("event_data") or {}
    if not isinstance(data, dict):
        raise BadEvent("winlog.event_data is %s, not an object" % type(data).__name__)
    record = _record(event_id, winlog.get("channel"), winlog.get("provider_name"),
                     _integer("winlog.record_id", winlog.get("record_id")),
                     winlog.get("time_created") or event.get("@timestamp"), winlog.get("computer_name"),
                     _properties(event_id, data.items()))
    host = _get(event, "host", "name") or winlog.get("computer_name")
    return _host("host.name or winlog.computer_name", host), record


def _integer(field, value, required=False):
    if value is None and not required:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise BadEvent("%s is %s, not a number" % (field, "missing" if value is None else repr(value)[:40]))


def _properties(event_id, pairs):
    """The positional values of an event from its (name, value) pairs: ``paramN`` or the event's own names."""
    positions = _POSITIONS.get(event_id, {})
    values = {}
    for name, value in pairs:
        if not isinstance(value, str):
            raise BadEvent("event data %s is %s, not text" % (name, type(value).__name__))
        param = _PARAM.fullmatch(name)
        index = int(param.group(1)) - 1 if param else positions.get(name.casefold())
        if index is not None:  # a name this event does not have: a newer field no parser reads
            values.setdefault(index, value)
    return [values.get(i, "") for i in range(max(values) + 1)] if values else []


def _record(event_id, log, provider, record_id, time, machine, properties):
    for field, value in (("channel", log), ("provider", provider), ("computer name", machine)):
        if value is not None and not isinstance(value, str):
            raise BadEvent("the %s is %s, not text" % (field, type(value).__name__))
    return {"log": log, "provider": provider, "id": event_id, "level": None, "time": _iso_time(time),
            "record_id": record_id, "machine": machine, "properties": properties}


def _iso_time(text):
    """The event's time as the agent writes it (UTC, milliseconds, ``Z``); None when absent."""
    if text is None:
        return None
    m = _TIME.match(text.strip()) if isinstance(text, str) else None
    if not m:
        raise BadEvent("the time %r is not an ISO 8601 time such as 2026-11-25T10:00:00.000Z" % str(text)[:40])
    zone = "+00:00" if m.group(3) in "Zz" else m.group(3)
    try:
        moment = dt.datetime.fromisoformat(m.group(1) + "." + (m.group(2) or "0")[:6].ljust(6, "0") + zone)
    except ValueError as e:
        raise BadEvent("the time %r: %s" % (text[:40], e)) from None
    moment = moment.astimezone(dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (moment.microsecond // 1000)


def _host(field, name):
    """The host the crash happened on, as a playbook may target it: a plain name."""
    if not name:
        raise BadEvent("no %s: the host is unknown" % field)
    if not isinstance(name, str):
        raise BadEvent("%s is %s, not text" % (field, type(name).__name__))
    if not _HOST.fullmatch(name) or name.casefold() in _IMPLICIT_GROUPS:
        raise BadEvent("the host name %r is not a plain host name" % name[:80])
    return name


class _NoDoctype(ET.TreeBuilder):
    """Event XML never has a DTD: refused before any entity is declared (no entity expansion)."""

    def doctype(self, name, pubid, system):
        raise BadEvent("the XML has a document type declaration, which event XML never has")


def _local(tag):
    return tag.rsplit("}", 1)[-1]


def _read_xml(text):
    parser = ET.XMLParser(target=_NoDoctype())
    try:
        parser.feed(text)
        root = parser.close()
    except ET.ParseError as e:
        raise BadEvent("the XML is not well-formed: %s" % e) from None
    events = [root] if _local(root.tag) == "Event" else [e for e in root if _local(e.tag) == "Event"]
    if not events:
        raise BadEvent("no <Event> element in the XML")
    return [_at("event %d" % i, _from_xml, event) for i, event in enumerate(events)]


def _child(element, name):
    return next((c for c in element if _local(c.tag) == name), None)


def _from_xml(event):
    system = _child(event, "System")
    if system is None:
        raise BadEvent("no <System> element")

    def text(name):
        found = _child(system, name)
        return None if found is None else (found.text or "").strip()

    event_id = _integer("EventID", text("EventID"), required=True)
    provider, created = _child(system, "Provider"), _child(system, "TimeCreated")
    data = _child(event, "EventData")
    items = [c for c in data if _local(c.tag) == "Data"] if data is not None else []
    # Unnamed <Data> is positional, as Winlogbeat numbers it paramN.
    pairs = [(item.get("Name") or "param%d" % (i + 1), item.text or "") for i, item in enumerate(items)]
    record = _record(event_id, text("Channel"), None if provider is None else provider.get("Name"),
                     _integer("EventRecordID", text("EventRecordID")),
                     None if created is None else created.get("SystemTime"), text("Computer"),
                     _properties(event_id, pairs))
    return _host("<Computer>", record["machine"]), record
