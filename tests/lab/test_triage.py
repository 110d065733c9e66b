"""crash_events and the triage playbook on lab hosts, and the HTML report in a real headless browser."""

import datetime as dt
import html as html_text
import json
import os
import re
import subprocess
import types
from pathlib import Path

import pytest

from crashdump_lab import cli

REPO = Path(__file__).resolve().parents[2]
TRIAGE = REPO / "playbooks" / "triage_crashes.yml"
LD = "HKLM\\SOFTWARE\\Microsoft\\Windows\\Windows Error Reporting\\LocalDumps"
CHROMIUM = "/usr/bin/chromium"


def only(results):
    assert len(results) == 1, results
    return results[0][1]


def crash(lab, host, image, *args):
    """``labctl crash``, run in this process (the same entry point, without a Python start per crash)."""
    return cli.run(["--state-dir", str(lab.state_dir), "crash", host, image, *args])


# -- crash_events --------------------------------------------------------------

def test_crash_events_reads_the_lab_crash_in_one_round_trip(lab):
    lab.host("win", {"registry": {LD: {"values": {}}}})  # a bare LocalDumps key: mini dumps for every process
    heap = crash(lab, "win", "netsh.exe", "--code", "0xc0000374", "--pid", "65252")
    plain = crash(lab, "win", "app.exe")
    before = lab.stats("win")["round_trips"]
    res = only(lab.play("- crashdump.windows.crash_events:\n    days: 1\n").results)
    assert lab.stats("win")["round_trips"] - before == 1
    assert res["changed"] is False and res["truncated"] is False
    first, second = res["crashes"]  # newest first
    assert (first["image"], second["image"]) == ("app.exe", "netsh.exe")
    assert second["report_id"] == heap["report_id"]
    assert second["pid"] == 65252 and second["dump_file"] == "netsh.exe.65252.dmp"
    assert second["local_dump"] == heap["dumped"] and heap["dumped"].endswith("\\netsh.exe.65252.dmp")
    assert second["exception_name"] == "STATUS_HEAP_CORRUPTION"
    assert second["module"] == heap["faulting_module"] and second["victim"] is True
    assert second["sources"] == [1000, 1001] and second["wer"]["event_name"] == "APPCRASH"
    assert first["pid"] == plain["pid"]
    assert res["stats"]["crashes"] == 2 and res["stats"]["events"] == 4


def test_crash_events_options_and_refusals(lab):
    lab.host("win")
    for _attempt in range(3):
        crash(lab, "win", "app.exe")
    crash(lab, "win", "other.exe")
    tasks = """
- crashdump.windows.crash_events:
    images: [OTHER.EXE]
- crashdump.windows.crash_events:
    since: "2999-01-01"
- crashdump.windows.crash_events:
    max_events: 2
"""
    refused = [
        ({"days": 0}, "days must be 1 or more"),
        ({"since": "yesterday"}, "since must be an ISO 8601 date"),
        ({"since": "2026-01-01", "days": 3}, "mutually exclusive"),
        ({"images": ["C:\\x\\app.exe"]}, "is a path"),
        ({"max_events": 0}, "max_events must be 1 or more"),
    ]
    tasks += "".join("- crashdump.windows.crash_events: %s\n  ignore_errors: true\n" % json.dumps(args)
                     for args, _message in refused)
    before = lab.stats("win")["round_trips"]
    proc = lab.play(tasks)
    results = [result for _host, result in proc.results]
    by_images, future, limited = results[:3]
    assert [c["image"] for c in by_images["crashes"]] == ["other.exe"]
    assert future["crashes"] == [] and future["since"] == "2999-01-01T00:00:00.000Z"
    assert limited["truncated"] is True and len(limited["crashes"]) == 1
    assert "only the newest 2 events" in " ".join((proc.stdout + proc.stderr).split())
    # Refused before anything is sent: three reads, one round trip each, and no more.
    assert proc.stdout.count("win | FAILED! => ") == len(refused)
    for result, (args, message) in zip(results[3:], refused):
        assert message in result["msg"], (args, result["msg"])
    assert lab.stats("win")["round_trips"] - before == 3


def test_an_unreadable_event_is_reported_and_the_host_still_triaged(lab):
    # A 1000 whose process id is 5,000 hex digits: too long for any DWORD.
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    props = ["app.exe", "1.0.0.0", "5c1b9f3e", "app.exe", "1.0.0.0", "5c1b9f3e", "c0000005", "1234", "f" * 5000,
             "01dd7cc776d06d50", "C:\\app.exe", "C:\\app.exe", "r-bad", "", ""]
    lab.host("win", {"events": [{"log": "Application", "provider": "Application Error", "id": 1000, "level": 2,
                                 "time": now, "machine": "WIN", "properties": props}]})
    crash(lab, "win", "app.exe")
    proc = lab.play("- crashdump.windows.crash_events:\n    days: 1\n")
    res = only(proc.results)
    assert [c["image"] for c in res["crashes"]] == ["app.exe"] and res["stats"]["unparsed"] == 1
    (bad,) = res["unparsed"]
    assert bad["id"] == 1000 and bad["reason"] == "ValueError: process id is not a 32-bit number (5000 hex digits)"
    assert "1 event(s) could not be read" in " ".join((proc.stdout + proc.stderr).split())


# -- the triage playbook ---------------------------------------------------------

# image -> {host: crashes}: alpha on 4 hosts once each, beta (heap corruption in
# ntdll) on 3 hosts twice each, gamma 4 times on one host; h5 only crashes an
# image whose name is markup, which the HTML report must show as text.
HOSTILE = "<img src=x onerror=alert(1)>.exe"
PLAN = {
    "alpha.exe": ({"h1": 1, "h2": 1, "h3": 1, "h4": 1}, ()),
    "beta.exe": ({"h1": 2, "h2": 2, "h3": 2}, ("--code", "0xc0000374")),
    "gamma.exe": ({"h1": 4}, ("--module", "gamma_plugin.dll")),
    HOSTILE: ({"h5": 1}, ()),
}


@pytest.fixture(scope="module")
def triaged(request, tmp_path_factory):
    """Crash the PLAN on five lab hosts, run triage_crashes.yml with triage_enable_top once.

    A sixth host, "down", loses the connection: the report names it and the
    others are still reported.

    Module-scoped, so the ``lab`` fixture's class is taken from tests/conftest.py
    (pytest registers a conftest under its path).
    """
    shared = request.config.pluginmanager.get_plugin(str(REPO / "tests" / "conftest.py"))
    lab = shared.Lab(tmp_path_factory.mktemp("triage"))
    for host in ("h1", "h2", "h3", "h4", "h5", "down"):
        lab.host(host)
    last = {}
    for image, (per_host, args) in PLAN.items():
        for host, count in per_host.items():
            for _attempt in range(count):
                last[(image, host)] = crash(lab, host, image, *args)
    lab.labctl("fault", "down", "exec:1")
    out = lab.root / "reports"
    proc = lab.playbook(TRIAGE, check=False, extra_vars={"triage_report_dir": str(out), "triage_days": 1,
                                                         "triage_enable_top": True})
    assert proc.returncode == 4, proc.stdout + proc.stderr  # 4: a host was unreachable
    report = json.loads((out / "crash_triage.json").read_text())
    return types.SimpleNamespace(lab=lab, proc=proc, report=report, last=last, html=out / "crash_triage.html")


def test_report_ranks_images_by_hosts_then_crashes(triaged):
    report = triaged.report
    images = [(i["image"], i["host_count"], i["count"]) for i in report["images"]]
    assert images == [("alpha.exe", 4, 4), ("beta.exe", 3, 6), ("gamma.exe", 1, 4), (HOSTILE, 1, 1)]
    assert report["top_image"] == {"image": "alpha.exe", "hosts": ["h1", "h2", "h3", "h4"], "host_count": 4,
                                   "count": 4}
    assert report["hosts"] == ["h1", "h2", "h3", "h4", "h5"]
    assert report["hosts_with_crashes"] == ["h1", "h2", "h3", "h4", "h5"]
    assert report["crash_count"] == 15 and report["failed_hosts"] == ["down"]


def test_report_ranks_signatures_by_hosts_then_crashes(triaged):
    report, last = triaged.report, triaged.last
    groups = report["signatures"]
    keys = [(-g["host_count"], -g["count"]) for g in groups]
    assert keys == sorted(keys) and [g["rank"] for g in groups] == list(range(1, len(groups) + 1))
    for image, (per_host, _args) in PLAN.items():
        mine = [g for g in groups if g["image"] == image]
        assert sum(g["count"] for g in mine) == sum(per_host.values())
        seen = {}
        for g in mine:
            for host, n in g["per_host"].items():
                seen[host] = seen.get(host, 0) + n
            for latest in g["latest"]:
                outcome = last[(image, latest["host"])]
                assert latest["dump_file"] == "%s.%d.dmp" % (image, outcome["pid"])
        assert seen == per_host
    beta = next(g for g in groups if g["image"] == "beta.exe")
    assert beta["exception_name"] == "STATUS_HEAP_CORRUPTION" and beta["victim"] is True
    assert "heap corruption blamed on ntdll.dll: enable page heap for beta.exe" in beta["next_step"]
    gamma = next(g for g in groups if g["image"] == "gamma.exe")
    assert gamma["module"] == "gamma_plugin.dll"


def test_top_image_is_enabled_where_it_crashed(triaged):
    lab, proc = triaged.lab, triaged.proc
    for host in ("h1", "h2", "h3", "h4"):
        assert LD + "\\alpha.exe" in lab.registry(host), host
    assert not any(k.startswith(LD) for k in lab.registry("h5"))
    assert "Top image: alpha.exe on h1, h2, h3, h4" in proc.stdout


def chromium(*args, tmp):
    """Debian's chromium, headless, offline, with a fresh profile; returns (stdout, stderr)."""
    profile = tmp / ("profile-%d" % len(list(tmp.glob("profile-*"))))
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--no-first-run", "--disable-sync", "--user-data-dir=%s" % profile,
           "--host-resolver-rules=MAP * ~NOTFOUND", "--enable-logging=stderr", "--v=0", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout, proc.stderr


def test_html_report_in_a_headless_browser(triaged, tmp_path):
    report, html = triaged.report, triaged.html
    if not os.access(CHROMIUM, os.X_OK):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("%s is missing: tools/test.sh installs Debian's chromium" % CHROMIUM)
        pytest.skip("%s is not installed (tools/test.sh installs it)" % CHROMIUM)
    text = html.read_text()
    # Self-contained: nothing to fetch, whatever the network.
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", text, re.I)
    assert not re.search(r"url\(|@import|<link\b", text, re.I)
    assert "default-src 'none'" in text
    assert "<img" not in text and "&lt;img src=x onerror=alert(1)&gt;.exe" in text

    url = html.as_uri()
    dom, log = chromium("--dump-dom", url, tmp=tmp_path)
    console = [line for line in log.splitlines() if ":CONSOLE" in line or "Uncaught" in line]
    assert console == [], console
    rows = [html_text.unescape(f) for f in re.findall(r'<tr data-family="([^"]+)"', dom)]
    assert rows == [g["family"] for g in report["signatures"]]
    assert re.search(r'<rect class="bar s0"', dom)
    assert '<b id="crash-count">15</b>' in dom
    assert "Not read (unreachable or failed): down" in dom

    # Each family's next step is the exact command, for the image on the hosts it crashed on.
    beta = next(g for g in report["signatures"] if g["image"] == "beta.exe")
    assert beta["suspect"] == "unknown until page heap"
    command = "ansible-playbook playbooks/enable_crash_dumps.yml -e exe=beta.exe -e crashdump_hosts=h1,h2,h3"
    assert beta["command"] == command and '<code class="cmd">%s</code>' % command in dom
    # Times as a person reads them: no raw ISO time in the visible text.
    visible = re.sub(r"<(script|style)\b.*?</\1>|<[^>]+>", " ", dom, flags=re.S)
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", visible), visible
    assert "%s UTC" % report["generated"][11:16] in visible

    # Timeline labels measured by the browser: a probe added to a copy of the page
    # writes how many labels there are and how many pairs of them overlap.
    probe = tmp_path / "probe.html"
    probe.write_text(text.replace("</body>", """<script>
var boxes = Array.prototype.map.call(document.querySelectorAll("#timeline text.tick"),
                                     function (t) { return t.getBoundingClientRect(); });
var overlaps = 0;
boxes.forEach(function (a, i) { boxes.slice(i + 1).forEach(function (b) {
  if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom) { overlaps += 1; } }); });
document.body.setAttribute("data-ticks", boxes.length + "/" + overlaps);
</script></body>"""))
    for width in (1280, 800):
        dom, _log = chromium("--window-size=%d,900" % width, "--dump-dom", probe.as_uri(), tmp=tmp_path)
        ticks = re.search(r'data-ticks="(\d+)/(\d+)"', dom)
        assert ticks and int(ticks.group(1)) >= 2 and ticks.group(2) == "0", (width, ticks and ticks.group())

    shot = tmp_path / "report.png"
    chromium("--window-size=1280,900", "--screenshot=%s" % shot, url, tmp=tmp_path)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
