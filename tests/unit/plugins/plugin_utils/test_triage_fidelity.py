"""Joining and grouping of crash records made here (crash_records.py): every report joined, every family one bug."""

import datetime as dt

import pytest
from crash_records import START, app_error, app_hang, app_hang_report, clr20r3, dotnet_runtime, wer_report
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.crashdump.windows.plugins.plugin_utils import _events, _triage

T = "2026-11-20T08:%02d:00.000Z"
DOTNET, HEAP, AV = 0xE0434352, 0xC0000374, 0xC0000005


def parse(*events):
    return _events.parse_events(list(events))


def fleet(**hosts):
    """{host: [event, ...]} -> the triage report."""
    return _triage.aggregate({h: {"since": "2026-11-19T00:00:00.000Z", **_events.parse_events(e)}
                              for h, e in hosts.items()}, generated="2026-11-21T00:00:00Z")


@pytest.mark.parametrize("layout", ["win7", "win10", "win11"])
def test_every_layout_reads_the_same_crash(layout):
    crash = parse(app_error(layout, "app.exe", "app.exe", AV, 0x1234, T % 0, "r1"))["crashes"][0]
    assert (crash["pid"], crash["dump_file"], crash["offset"]) == (0x1AB0, "app.exe.6832.dmp", "0x1234")
    start = dt.datetime(1601, 1, 1) + dt.timedelta(microseconds=START // 10)
    assert crash["process_start"] == start.isoformat(timespec="milliseconds") + "Z" and crash["report_id"] == "r1"


def test_clr20r3_report_joins_its_1000_and_keeps_bucket_hash_and_type():
    bucket = "d0d3b1e8e0ff1b2ad9fd8f3c1c1e8a39"
    events = [
        clr20r3("app.exe", "System.OverflowException", T % 1, "r1", bucket=bucket, bucket_type="5", hashed="9a8b"),
        clr20r3("app.exe", "System.OverflowException", T % 1, "r1"),
        app_error("win10", "app.exe", "KERNELBASE.dll", DOTNET, 0x3E49C, T % 0, "r1"),
    ]
    result = parse(*events)
    (crash,) = result["crashes"]
    assert crash["sources"] == [1000, 1001] and result["stats"]["other_reports"] == 0
    assert (crash["wer"]["bucket"], crash["wer"]["hashed_bucket"]) == (bucket, "9a8b")
    assert crash["wer"]["exception_type"] == "System.OverflowException" and crash["wer"]["records"] == 2
    # No 1026: the type from P9 keys the family.
    assert crash["family"] == "app.exe!.net!System.OverflowException!?"


def test_clr20r3_with_1026_keys_type_and_top_frame():
    events = [
        app_error("win10", "app.exe", "KERNELBASE.dll", DOTNET, 0x3E49C, T % 0, "r1"),
        clr20r3("app.exe", "System.OverflowException", T % 1, "r1", bucket="b1"),
        dotnet_runtime("app.exe", "System.OverflowException", ["Contoso.Pricing.Round", "Contoso.Main"], T % 0),
    ]
    (crash,) = parse(*events)["crashes"]
    assert crash["sources"] == [1000, 1001, 1026]
    assert crash["dotnet"]["top_frame"] == "Contoso.Pricing.Round"
    assert crash["family"] == "app.exe!.net!System.OverflowException!Contoso.Pricing.Round"


def test_a_lone_clr20r3_report_is_a_dotnet_crash():
    (crash,) = parse(clr20r3("app.exe", "System.IO.IOException", T % 1, "r9"))["crashes"]
    assert crash["exception_code"] == "0xe0434352" and crash["module"] == "Contoso.Core"
    assert crash["family"] == "app.exe!.net!System.IO.IOException!?"


def test_a_lone_apphangb1_report_is_kept_like_a_lone_crash_report():
    result = parse(app_hang_report("ui.exe", T % 5, "h1"), app_hang_report("ui.exe", T % 5, "h1"))
    (hang,) = result["crashes"]
    assert hang["kind"] == "hang" and hang["image"] == "ui.exe" and hang["sources"] == [1001]
    assert hang["app_version"] == "3.1.0.0" and hang["report_id"] == "h1" and hang["wer"]["records"] == 2
    assert result["stats"]["hangs"] == 1
    # With its 1002, one hang from both.
    (joined,) = parse(app_hang("ui.exe", T % 4, "h2"), app_hang_report("ui.exe", T % 5, "h2"))["crashes"]
    assert joined["sources"] == [1002, 1001]


def _dotnet_crash(minute, exception_type, frame, report, machine="WEB01", code=DOTNET):
    return [app_error("win10", "app.exe", "KERNELBASE.dll", code, 0x3E49C, T % minute, report, machine=machine),
            dotnet_runtime("app.exe", exception_type, [frame, "Contoso.Main"], T % minute, machine=machine)]


def test_two_dotnet_exception_types_in_one_application_are_two_families():
    report = fleet(
        web1=_dotnet_crash(0, "System.ComponentModel.Win32Exception", "Contoso.Launcher.Start", "a")
        + _dotnet_crash(10, "System.OverflowException", "Contoso.Pricing.Round", "b"),
        web2=_dotnet_crash(20, "System.OverflowException", "Contoso.Pricing.Round", "c", machine="WEB02"),
    )
    families = {g["family"]: g for g in report["signatures"]}
    assert set(families) == {"app.exe!.net!System.ComponentModel.Win32Exception!Contoso.Launcher.Start",
                             "app.exe!.net!System.OverflowException!Contoso.Pricing.Round"}
    overflow = families["app.exe!.net!System.OverflowException!Contoso.Pricing.Round"]
    assert overflow["hosts"] == ["web1", "web2"] and overflow["dotnet_exceptions"] == ["System.OverflowException"]


def test_clr_fail_fast_code_is_keyed_on_the_dotnet_exception_too():
    (crash,) = parse(*_dotnet_crash(0, "System.NullReferenceException", "Contoso.Form.OnPaint", "a",
                                    code=0xC000041D))["crashes"]
    assert crash["exception_name"] == "STATUS_FATAL_USER_CALLBACK_EXCEPTION"
    assert crash["family"] == "app.exe!.net!System.NullReferenceException!Contoso.Form.OnPaint"


def test_unknown_module_at_two_addresses_is_one_family_without_the_address():
    report = fleet(web1=[app_error("win10", "app.exe", "unknown", AV, 0x7FFC990DF312, T % 0, "a")],
                   web2=[app_error("win10", "app.exe", "unknown", AV, 0x7FF8123CF312, T % 1, "b", machine="W2")])
    (group,) = report["signatures"]
    assert group["family"] == "app.exe!unknown!0xc0000005" and group["host_count"] == 2
    assert "7ffc990df312" not in group["family"]


def test_heap_corruption_on_two_ntdll_builds_is_one_family_with_an_unknown_suspect():
    ntdll = "C:\\Windows\\SYSTEM32\\ntdll.dll"
    report = fleet(
        web1=[app_error("win10", "svc.exe", "ntdll.dll", HEAP, 0xFC0F9, T % 0, "a", module_version="10.0.19041.3636",
                        module_path=ntdll)],
        web2=[app_error("win11", "svc.exe", "ntdll.dll", HEAP, 0x10C7A9, T % 1, "b", module_version="10.0.22621.2506",
                        module_path=ntdll, machine="W2")])
    (group,) = report["signatures"]
    assert group["family"] == "svc.exe!ntdll.dll!0xc0000374" and group["host_count"] == 2
    assert group["module_versions"] == ["10.0.19041.3636", "10.0.22621.2506"]
    assert group["suspect"] == "unknown until page heap"
    assert group["command"] == "ansible-playbook playbooks/enable_crash_dumps.yml -e exe=svc.exe " \
                               "-e crashdump_hosts=web1,web2"
    assert group["command"] in group["next_step"]


def test_fail_fast_57_is_named_from_winnt_h():
    p = ["app.exe", "1.2.0.0", "5c1b9f3e", "gdi32.dll", "10.0.22621.1", "0ff6a53c", "0000000000004b17", "c0000409",
         "0000000000000039"]
    (crash,) = parse(wer_report("BEX64", p, T % 0, "r1"))["crashes"]
    assert crash["fail_fast"] == "FAST_FAIL_CONTROL_INVALID_RETURN_ADDRESS"


def test_a_pid_of_thousands_of_hex_digits_is_unparsed_and_the_rest_is_read():
    bad = app_error("win10", "app.exe", "app.exe", AV, 0x1234, T % 0, "r1")
    bad["properties"][8] = "f" * 5000
    good = app_error("win10", "app.exe", "app.exe", AV, 0x1234, T % 1, "r2")
    result = parse(bad, good)
    assert [c["report_id"] for c in result["crashes"]] == ["r2"]
    (unparsed,) = result["unparsed"]
    assert unparsed["record_id"] == bad["record_id"] and unparsed["id"] == 1000
    assert unparsed["reason"] == "ValueError: process id is not a 32-bit number (5000 hex digits)"
    assert result["stats"]["unparsed"] == 1


ODD = st.one_of(st.just(""), st.just("f" * 4000), st.just("0x0x"), st.just("-1"), st.just("\u200e"), st.none(),
                st.integers(min_value=-(2 ** 70), max_value=2 ** 70), st.text(max_size=8), st.just(["x"]),
                st.just(True), st.floats(allow_nan=True))


def _shapes():
    crash = app_error("win10", "app.exe", "KERNELBASE.dll", DOTNET, 0x3E49C, T % 0, "r1")
    return [crash, app_error("win7", "b.exe", "unknown", AV, 0x7FFC990DF312, T % 1, "r2"),
            clr20r3("app.exe", "System.OverflowException", T % 1, "r1"),
            dotnet_runtime("app.exe", "System.OverflowException", ["A.B"], T % 0),
            app_hang("ui.exe", T % 2, "h1"), app_hang_report("ui.exe", T % 3, "h1"),
            wer_report("BEX64", ["c.exe", "1", "2", "m.dll", "1", "2", "10", "c0000409", "39"], T % 4, "r3", count=21)]


@st.composite
def mutated(draw):
    """The record shapes with some values emptied, cut short or swapped for odd ones, in fields and envelope.

    Returns the events and whether any value was swapped for an odd one.
    """
    events, odd = [], False
    for record in _shapes():
        record = {**record, "properties": list(record["properties"])}
        props = record["properties"]
        for _change in range(draw(st.integers(0, 3))):
            how = draw(st.sampled_from(["empty", "cut", "odd", "envelope"]))
            i = draw(st.integers(0, len(props) - 1)) if props else 0
            if how == "empty" and props:
                props[i] = ""
            elif how == "cut":
                del props[draw(st.integers(0, len(props))):]
            elif how == "odd" and props:
                props[i], odd = draw(ODD), True
            elif how == "envelope":
                record[draw(st.sampled_from(["time", "record_id", "properties", "provider", "id"]))] = draw(ODD)
                odd = True
        events.append(record)
    return events, odd


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_records_never_fail_the_host(mutation):
    events, odd = mutation
    result = _events.parse_events(events)
    if not odd:  # emptied or cut values are what old Windows writes: read, never unparsed
        assert result["unparsed"] == []
    stats = result["stats"]
    assert stats["unparsed"] == len(result["unparsed"])
    assert all(u["reason"] and len(u["reason"]) <= 200 and "\n" not in u["reason"] for u in result["unparsed"])
    # Every crash is one the report can print and rank.
    report = _triage.aggregate({"h": result}, generated="2026-11-21T00:00:00Z")
    for group in report["signatures"]:
        assert group["next_step"]
        for latest in group["latest"]:
            assert latest["pid"] is None or 0 <= latest["pid"] <= 0xFFFFFFFF


def test_unparsed_events_are_counted_per_host_in_the_report():
    bad = app_error("win10", "app.exe", "app.exe", AV, 0x1234, T % 0, "r1")
    bad["time"] = "yesterday"
    report = fleet(web1=[bad], web2=[])
    assert report["unparsed"] == {"web1": 1}


@pytest.mark.parametrize("hours", [1, 5, 24, 25, 47, 59, 24 * 6, 24 * 40])
def test_timeline_ticks_are_few_and_apart(hours):
    start = dt.datetime(2026, 12, 3, 21, tzinfo=dt.timezone.utc)
    times = [(start + dt.timedelta(hours=h)).strftime("%Y-%m-%dT%H:%M:%S.000Z") for h in (0, hours)]
    crashes = [app_error("win10", "a.exe", "a.exe", AV, 1, when, when) for when in times]
    result = {"since": times[0], **_events.parse_events(crashes)}
    timeline = _triage.aggregate({"web1": result}, generated=times[1])["timeline"]
    ticks = timeline["ticks"]
    assert 1 <= len(ticks) <= _triage.MAX_TICKS and ticks[0]["index"] == 0
    gaps = {b["index"] - a["index"] for a, b in zip(ticks, ticks[1:])}
    assert len(gaps) <= 1 and all(gap * _triage.MAX_TICKS >= len(timeline["bins"]) for gap in gaps)
    assert ticks[0]["text"] in ("3 Dec 20:00", "3 Dec 21:00", "3 Dec 2026")  # bins start at whole multiples
