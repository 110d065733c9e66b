"""Fleet aggregation on the controller: ranking, first/last seen, versions, next steps, top image, timeline."""

import pytest

from ansible_collections.crashdump.windows.plugins.plugin_utils import _events, _triage


def crash_event(app, version="1.0.0.0", module=None, code="c0000005", offset="1234", time="2026-11-20T08:00:00.000Z",
                pid=4660, report=None):
    module = module or app
    props = [app, version, "5c1b9f3e", module, "10.0.0.1", "0ff6a53c", code, offset, "%x" % pid,
             "01dd7cc776d06d50", "C:\\Apps\\" + app, "C:\\Apps\\" + module, report or "%s-%s-%d" % (app, time, pid),
             "", ""]
    return {"log": "Application", "provider": "Application Error", "id": 1000, "level": 2, "time": time,
            "record_id": 1, "machine": "M", "properties": props}


def results(spec):
    """{host: [event, ...]} -> {host: crash_events-like result}."""
    out = {}
    for host, events in spec.items():
        parsed = _events.parse_events(events)
        out[host] = {"changed": False, "since": "2026-11-13T00:00:00.000Z", "truncated": False, **parsed}
    return out


def t(day, hour=8):
    return "2026-11-%02dT%02d:00:00.000Z" % (day, hour)


@pytest.fixture
def fleet():
    # a.exe: 3 hosts, 3 crashes; b.exe heap corruption in ntdll: 2 hosts, 5 crashes;
    # c.exe: 1 host, 6 crashes, two versions.
    return results({
        "web1": [crash_event("a.exe", time=t(20)),
                 crash_event("b.exe", module="ntdll.dll", code="c0000374", time=t(18), pid=1),
                 crash_event("b.exe", module="ntdll.dll", code="c0000374", time=t(19), pid=2)],
        "web2": [crash_event("a.exe", time=t(21))]
        + [crash_event("b.exe", module="ntdll.dll", code="c0000374", time=t(20, h), pid=h) for h in (1, 2, 3)],
        "web3": [crash_event("a.exe", version="1.1.0.0", time=t(22))],
        "db1": [crash_event("c.exe", version="2.%d.0.0" % (i % 2 * 8 + 2), time=t(15, i), pid=i) for i in range(6)],
        "idle": [],
    })


def test_ranked_by_hosts_then_count(fleet):
    report = _triage.aggregate(fleet, generated="2026-11-23T00:00:00Z")
    ranked = [(s["image"], s["host_count"], s["count"]) for s in report["signatures"]]
    assert ranked == [("a.exe", 3, 3), ("b.exe", 2, 5), ("c.exe", 1, 6)]
    assert [s["rank"] for s in report["signatures"]] == [1, 2, 3]
    assert [i["image"] for i in report["images"]] == ["a.exe", "b.exe", "c.exe"]
    assert report["crash_count"] == 14 and report["hang_count"] == 0
    assert report["hosts"] == ["db1", "idle", "web1", "web2", "web3"]
    assert report["hosts_with_crashes"] == ["db1", "web1", "web2", "web3"]
    assert report["since"] == "2026-11-13T00:00:00.000Z"


def test_group_details(fleet):
    a, b, c = _triage.aggregate(fleet)["signatures"]
    assert a["hosts"] == ["web1", "web2", "web3"] and a["per_host"] == {"web1": 1, "web2": 1, "web3": 1}
    assert (a["first_seen"], a["last_seen"]) == (t(20), t(22))
    assert a["versions"] == ["1.0.0.0", "1.1.0.0"]
    assert len(a["signatures"]) == 2 and a["family"] == "a.exe!a.exe!0xc0000005+0x1234"
    assert a["exception_name"] == "STATUS_ACCESS_VIOLATION"
    assert c["versions"] == ["2.2.0.0", "2.10.0.0"]  # numeric order, not text order
    assert b["victim"] is True
    assert b["next_step"] == (
        "heap corruption blamed on ntdll.dll: enable page heap for b.exe to stop at the corrupting write; the culprit "
        "is unknown until page heap. Run: ansible-playbook playbooks/enable_crash_dumps.yml -e exe=b.exe "
        "-e crashdump_hosts=web1,web2; after the next crash: ansible-playbook playbooks/harvest_crash_dumps.yml "
        "-e exe=b.exe")
    assert b["suspect"] == "unknown until page heap"
    assert b["command"] == "ansible-playbook playbooks/enable_crash_dumps.yml -e exe=b.exe -e crashdump_hosts=web1,web2"
    assert a["suspect"] == "a.exe"
    assert a["command"].endswith("-e exe=a.exe -e page_heap=false -e crashdump_hosts=web1,web2,web3")
    latest = {entry["host"]: entry for entry in b["latest"]}
    assert latest["web2"]["time"] == t(20, 3) and latest["web2"]["dump_file"] == "b.exe.3.dmp"


def test_equal_hosts_and_counts_newest_first():
    report = _triage.aggregate(results({"h": [crash_event("old.exe", time=t(1)), crash_event("new.exe", time=t(2))]}))
    assert [s["image"] for s in report["signatures"]] == ["new.exe", "old.exe"]


def test_top_image_skips_sensitive_images():
    fleet = results({h: [crash_event("lsass.exe", module="ntdll.dll")] for h in ("a", "b")})
    fleet["c"] = results({"c": [crash_event("app.exe")]})["c"]
    report = _triage.aggregate(fleet)
    assert report["images"][0]["image"] == "lsass.exe"
    assert report["top_image"] == {"image": "app.exe", "hosts": ["c"], "host_count": 1, "count": 1}


def test_no_crashes():
    report = _triage.aggregate(results({"a": [], "b": []}))
    assert report["signatures"] == [] and report["top_image"] is None
    assert report["timeline"]["max"] == 0


def test_failed_skipped_and_truncated_hosts(fleet):
    fleet["down"] = {"failed": True, "msg": "unreachable"}
    fleet["web1"]["truncated"] = True
    report = _triage.aggregate(fleet, failed_hosts=["gone"])
    assert report["failed_hosts"] == ["down", "gone"]
    assert report["truncated_hosts"] == ["web1"]
    assert "down" not in report["hosts"]


def test_a_list_of_crashes_per_host_is_accepted(fleet):
    report = _triage.aggregate({h: r["crashes"] for h, r in fleet.items()})
    assert [s["image"] for s in report["signatures"]] == ["a.exe", "b.exe", "c.exe"]


def test_timeline_bins_cover_the_window_and_every_crash(fleet):
    report = _triage.aggregate(fleet, generated="2026-11-23T00:00:00Z")
    tl = report["timeline"]
    assert tl["bin_seconds"] == 6 * 3600  # ten days in at most 60 bins
    assert tl["bins"][0]["start"] <= "2026-11-13T00:00:00Z" and tl["bins"][-1]["start"] <= "2026-11-23T00:00:00Z"
    assert len(tl["bins"]) <= _triage.MAX_BINS
    assert sum(b["total"] for b in tl["bins"]) == report["crash_count"]
    assert [s["rank"] for s in tl["series"]] == [1, 2, 3]
    assert tl["max"] == max(b["total"] for b in tl["bins"])
    # the series of a bin add up to its total
    assert all(sum(b["counts"]) == b["total"] for b in tl["bins"])


def test_more_than_five_groups_have_an_other_series():
    report = _triage.aggregate(results({"h": [crash_event("app%d.exe" % i) for i in range(7)]}))
    assert [s["family"] for s in report["timeline"]["series"]][-1] == "other"
    assert [b["counts"] for b in report["timeline"]["bins"] if b["total"]] == [[1, 1, 1, 1, 1, 2]]


@pytest.mark.parametrize("kw, expected", [
    (dict(module="StackHash_1b5e"), "no loaded module (StackHash)"),
    (dict(module="hook.dll_unloaded"), "hook.dll was called after it was unloaded"),
    (dict(code="c0000409"), "stack buffer overrun or fail-fast"),
    (dict(code="e0434352", module="KERNELBASE.dll"), "unhandled .NET exception"),
    (dict(code="e06d7363", module="KERNELBASE.dll"), "unhandled C++ exception"),
    (dict(code="c0000135", module="ntdll.dll"), "a DLL that x.exe needs is missing"),
    (dict(code="c00000fd"), "stack overflow"),
    (dict(module="kernel32.dll"), "usually the victim of corruption done elsewhere: enable page heap for x.exe"),
    (dict(module="plugin.dll"), "access violation in plugin.dll at 0x1234"),
    (dict(code="80000003"), "STATUS_BREAKPOINT in x.exe"),
])
def test_next_steps(kw, expected):
    group = _triage.aggregate(results({"h": [crash_event("x.exe", **kw)]}))["signatures"][0]
    assert expected in group["next_step"]


def test_hangs_are_ranked_but_never_the_top_image():
    hang = {"log": "Application", "provider": "Application Hang", "id": 1002, "level": 2,
            "time": t(20), "record_id": 1, "machine": "M",
            "properties": ["ui.exe", "1.0.0.0", "10", "01dd7cc776d06d50", "0", "C:\\ui.exe", "r", "", "", "idle"]}
    report = _triage.aggregate(results({"a": [hang], "b": [hang]}))
    assert report["signatures"][0]["kind"] == "hang"
    assert "stopped responding" in report["signatures"][0]["next_step"]
    assert report["hang_count"] == 2 and report["top_image"] is None
