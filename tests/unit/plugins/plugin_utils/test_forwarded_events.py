"""Forwarded events (Winlogbeat ECS JSON, event XML) -> the crash records crash_events returns, plus host and event."""

import json

import pytest
from forwarded_samples import (
    REPORT,
    VALUES_1000,
    ecs_1000_named,
    ecs_1000_positional,
    ecs_1001_positional,
    wef_1000,
)

from ansible_collections.crashdump.windows.plugins.plugin_utils import _events, _forwarded_events, _image
from ansible_collections.crashdump.windows.plugins.plugin_utils._forwarded_events import BadEvent


def crashes(body, content_type="application/json"):
    if not isinstance(body, (str, bytes)):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    return _forwarded_events.crash_events(_forwarded_events.read_body(body, content_type))


def the_crash(body, **kw):
    found = crashes(body, **kw)
    assert found["refused"] == [] and len(found["events"]) == 1, found
    event = found["events"][0]
    assert event["meta"] == {"hosts": event["crash"]["host"]}
    return event["crash"]


def check_netsh(crash, host="web01", time="2026-11-25T10:00:00.123Z"):
    assert crash["kind"] == "crash" and crash["image"] == "netsh.exe" and crash["host"] == host
    assert crash["module"] == "ntdll.dll" and crash["exception_code"] == "0xc0000374"
    assert crash["exception_name"] == "STATUS_HEAP_CORRUPTION"
    assert crash["pid"] == 0x1AB0 and crash["report_id"] == REPORT and crash["record_id"] == 52133
    assert crash["offset"] == "0xfef59" and crash["time"] == time and crash["event_id"] == 1000
    assert crash["app_path"] == "C:\\Windows\\System32\\netsh.exe"


@pytest.mark.parametrize("make", [ecs_1000_positional, ecs_1000_named], ids=["param_n", "named"])
def test_winlogbeat_event_1000(make):
    check_netsh(the_crash(make()))


def test_positional_and_named_data_read_alike():
    positional, named = the_crash(ecs_1000_positional()), the_crash(ecs_1000_named())
    assert positional == named


def test_the_record_is_the_one_crash_events_reads_from_the_host():
    """Same parser: the agent's record of the event gives the same crash."""
    record = {"log": "Application", "provider": "Application Error", "id": 1000, "level": 2,
              "time": "2026-11-25T10:00:00.123Z", "record_id": 52133, "machine": "WEB01.corp.example",
              "properties": VALUES_1000}
    local = _events.parse_events([record])["crashes"][0]
    assert the_crash(ecs_1000_positional()) == dict(local, host="web01", event_id=1000)


@pytest.mark.parametrize("named", [False, True], ids=["unnamed", "named"])
def test_event_xml(named):
    check_netsh(the_crash(wef_1000(named), content_type="application/xml"))


def test_event_xml_without_a_content_type_and_several_in_one_element():
    xml = "<Events>%s%s</Events>" % (wef_1000(), wef_1000(True).replace("52133", "52140"))
    found = crashes(xml, content_type="")
    assert [e["crash"]["record_id"] for e in found["events"]] == [52133, 52140]


def test_a_batch_joins_the_report_to_its_crash():
    crash = the_crash([ecs_1000_positional(), ecs_1001_positional()])
    check_netsh(crash)
    assert crash["sources"] == [1000, 1001] and crash["wer"]["event_name"] == "APPCRASH"


def test_a_report_alone_is_a_crash_read_from_it():
    crash = the_crash(ecs_1001_positional())
    assert crash["image"] == "netsh.exe" and crash["event_id"] == 1001 and crash["report_id"] == REPORT


def test_host_name_else_computer_name():
    event = ecs_1000_positional()
    del event["host"]
    assert the_crash(event)["host"] == "WEB01.corp.example"


def test_other_events_emit_nothing():
    event = ecs_1000_positional()
    event["winlog"].update(event_id="4624", provider_name="Microsoft-Windows-Security-Auditing")
    other = ecs_1000_positional()
    other["winlog"]["provider_name"] = "MsiInstaller"  # another provider's 1000
    assert crashes([event, other]) == {"events": [], "refused": []}


@pytest.mark.parametrize("image", sorted(_image.SENSITIVE_IMAGES) + ["LSASS.EXE"])
def test_sensitive_images_are_refused(image):
    event = ecs_1000_positional()
    event["winlog"]["event_data"]["param1"] = image
    event["winlog"]["event_data"]["param11"] = "C:\\Windows\\System32\\" + image
    found = crashes([event, ecs_1000_positional(host="web02")])
    assert [e["crash"]["host"] for e in found["events"]] == ["web02"]
    (refused,) = found["refused"]
    assert refused["host"] == "web01" and refused["image"] == image
    assert "sensitive system process" in refused["reason"]


def edit(change):
    event = ecs_1000_positional()
    change(event)
    return event


BAD = [
    (b"\xff\xfe{", "not UTF-8"),
    (b"{not json", "neither JSON nor event XML"),
    (b"[]", "empty list"),
    (b'"text"', "event 0: is str, not a JSON object"),
    ({"message": "x"}, "event 0: no winlog object"),
    (edit(lambda e: e["winlog"].pop("event_id")), "event 0: winlog.event_id is missing"),
    (edit(lambda e: e["winlog"].update(event_id="ten")), "event 0: winlog.event_id is 'ten', not a number"),
    (edit(lambda e: e["winlog"].update(record_id=[1])), "event 0: winlog.record_id is [1], not a number"),
    (edit(lambda e: e["winlog"].update(event_data=["netsh.exe"])), "event 0: winlog.event_data is list"),
    (edit(lambda e: e["winlog"]["event_data"].update(param2=10)), "event 0: event data param2 is int, not text"),
    (edit(lambda e: e.update({"@timestamp": "yesterday"})), "event 0: the time 'yesterday' is not an ISO 8601"),
    (edit(lambda e: (e.pop("host"), e["winlog"].pop("computer_name"))),
     "event 0: no host.name or winlog.computer_name"),
    (edit(lambda e: e["host"].update(name="web*")), "event 0: the host name 'web*' is not a plain host name"),
    (edit(lambda e: e["host"].update(name="all")), "event 0: the host name 'all' is not a plain host name"),
    (edit(lambda e: e["winlog"]["event_data"].update(param9="123456789abc")),
     "event 1000 (record 52133) of web01: ValueError: process id is not a 32-bit number"),
    ("<Event><System>", "the XML is not well-formed"),
    ('<!DOCTYPE Event [<!ENTITY a "aaaa">]><Event>&a;</Event>', "document type declaration"),
    ("<Events><Other/></Events>", "no <Event> element"),
    ("<Event><EventData/></Event>", "event 0: no <System> element"),
    (wef_1000().replace(">1000<", ">x<"), "event 0: EventID is 'x', not a number"),
    (wef_1000().replace("<Computer>web01</Computer>", ""), "event 0: no <Computer>"),
]


@pytest.mark.parametrize("body, message", BAD, ids=[m for _b, m in BAD])
def test_bad_bodies_name_the_field(body, message):
    with pytest.raises(BadEvent) as raised:
        crashes(body, content_type="")
    assert message in str(raised.value)


def test_one_bad_event_fails_the_whole_batch():
    bad = edit(lambda e: e["winlog"].update(event_id="ten"))
    with pytest.raises(BadEvent, match="^event 1: winlog.event_id"):
        crashes([ecs_1000_positional(), bad])
