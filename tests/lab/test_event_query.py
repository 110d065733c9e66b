"""event_query: the limit after the filter, truncation reported (crash_events, fetch_dumps warn), and
providers that are not registered on the host (issue 13, defect 4)."""

from __future__ import annotations

import datetime as dt
import json

from crashdump_lab import execute_batch, open_host, seed_host
from crashdump_lab.events import DEFAULT_PROVIDERS

HOST = "lab-win2022"


def event(n, provider="Application Error", event_id=1000, when=None):
    when = when or (dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=n + 1))
    return {"log": "Application", "provider": provider, "id": event_id, "level": 2, "machine": HOST,
            "time": when.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "properties": ["app.exe", "1.0.0.0", "00000000", "app.exe", "1.0.0.0", "00000000", "c0000005",
                           "0000000000001000", "%x" % (4000 + n), "01db000000000000", "C:\\App\\app.exe",
                           "C:\\App\\app.exe", "%08d-0000-0000-0000-000000000000" % n, "", ""]}


def query(state_dir, **fields):
    with open_host(state_dir, HOST) as host:
        (result,) = execute_batch(host, {"version": 1, "ops": [dict({"op": "event_query"}, **fields)]})["results"]
    return result


# -- the lab's rules ------------------------------------------------------------


def test_the_limit_applies_after_the_filter_and_truncation_is_reported(state_dir):
    seed_host(state_dir, HOST, {"events": [event(n) for n in range(3)]})
    three = query(state_dir, ids=[1000], max_events=3)["data"]
    assert len(three["events"]) == 3 and three["truncated"] is False
    two = query(state_dir, ids=[1000], max_events=2)["data"]
    assert len(two["events"]) == 2 and two["truncated"] is True
    # The default host's older records of other ids do not count against the limit.
    assert query(state_dir, ids=[1000], max_events=3, since="2000-01-01T00:00:00Z")["data"]["truncated"] is False


def test_a_provider_that_is_not_registered_is_reported_and_its_records_still_read(state_dir):
    # An uninstalled program's records stay in the log; its provider is no longer registered.
    seed_host(state_dir, HOST, {"events": [event(0, provider="Contoso Updater", event_id=0)]})
    data = query(state_dir, providers=["Contoso Updater", "Application Error"])["data"]
    assert data["unregistered_providers"] == ["Contoso Updater"]
    assert [e["provider"] for e in data["events"]] == ["Contoso Updater"]
    assert "Application Error" in DEFAULT_PROVIDERS


def test_the_hosts_own_provider_list(state_dir):
    seed_host(state_dir, HOST, {"event_providers": ["Application Error"]})
    assert query(state_dir, providers=["Windows Error Reporting"])["data"]["unregistered_providers"] == [
        "Windows Error Reporting"]


def test_a_provider_name_no_xpath_literal_can_hold(state_dir):
    result = query(state_dir, providers=["a'b\"c"])
    assert result["ok"] is False and result["error"]["type"] == "System.ArgumentException"


# -- where users meet it ----------------------------------------------------------


def test_crash_events_exactly_max_events_is_not_truncated(lab):
    lab.host("win", {"events": [event(n) for n in range(4)]})
    # The minimal callback prints warnings instead of returning them: one play per case.
    exact = lab.play("- crashdump.windows.crash_events: {days: 1, max_events: 4}\n")
    assert exact.results[0][1]["truncated"] is False and "WARNING" not in exact.stdout + exact.stderr
    short = lab.play("- crashdump.windows.crash_events: {days: 1, max_events: 3}\n")
    assert short.results[0][1]["truncated"] is True
    assert "only the newest 3 events" in " ".join((short.stdout + short.stderr).split())


def test_fetch_dumps_warns_when_the_events_are_truncated(lab, tmp_path):
    lab.host("win", {"events": [event(n) for n in range(1001)]})
    proc = lab.play("- crashdump.windows.fetch_dumps: " + json.dumps({"exe": "app.exe", "dest": str(tmp_path / "d")}))
    assert "more than 1000 Event 1000 records" in " ".join((proc.stdout + proc.stderr).split()), proc.stdout
