"""dump_capture: a host's whole enable or cleanup in one read and at most one apply, for any number of images
(issue 15: one plan per host)."""

import json
from pathlib import Path

import pytest
from service_seed import service

from tests.conftest import changed_count

REPO = Path(__file__).resolve().parents[2]
ENABLE = REPO / "playbooks" / "enable_crash_dumps.yml"
CLEANUP = REPO / "playbooks" / "cleanup_crash_dumps.yml"
IMAGES = ["netsh.exe", "notepad.exe", "spoolsv.exe"]
LD = "HKLM\\SOFTWARE\\Microsoft\\Windows\\Windows Error Reporting\\LocalDumps"
IFEO = "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Image File Execution Options"
AEDEBUG = "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\AeDebug"
CAPTURE = {"exe": ["netsh.exe", "notepad.exe"], "dump_folder": "C:\\WER", "dump_type": "full", "page_heap": "full"}


def capture(**options):
    """A dump_capture task (JSON is YAML) with CAPTURE's options, some replaced (None: left out)."""
    args = {k: v for k, v in dict(CAPTURE, **options).items() if v is not None}
    return "- crashdump.windows.dump_capture: " + json.dumps(args)


def canonical(state):
    return json.dumps({"registry": state["registry"], "files": state["files"]}, sort_keys=True)


def timeless(state):
    """The registry and files without the times the lab stamps them with when written."""
    def strip(node):
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k not in ("mtime", "ctime", "last_write")}
        return node
    return strip({"registry": state["registry"], "files": state["files"]})


def executions(lab, run):
    """The remote executions ``run()`` makes on each lab host, and its result."""
    before = {h: lab.stats(h)["round_trips"] for h in lab.hosts}
    proc = run()
    return {h: lab.stats(h)["round_trips"] - n for h, n in before.items()}, proc


@pytest.mark.parametrize("images", [["netsh.exe"], IMAGES])
def test_enable_is_two_executions_its_rerun_one_and_cleanup_two_for_any_number_of_images(lab, images):
    lab.host("a")
    lab.host("b", arch="x86")
    start = {h: canonical(lab.state(h)) for h in lab.hosts}
    extra = {"exe": images}
    first = executions(lab, lambda: lab.playbook(ENABLE, extra_vars=extra))[0]
    assert first == {"a": 2, "b": 2}
    again, proc = executions(lab, lambda: lab.playbook(ENABLE, extra_vars=extra))
    assert again == {"a": 1, "b": 1} and changed_count(proc) == 0
    for image in images:
        assert LD + "\\" + image in lab.registry("a") and IFEO + "\\" + image in lab.registry("a")
    undo = executions(lab, lambda: lab.playbook(CLEANUP, extra_vars=extra))[0]
    assert undo == {"a": 2, "b": 2}
    assert {h: canonical(lab.state(h)) for h in lab.hosts} == start
    # Nothing left to undo: one read, no apply.
    undo_again, proc = executions(lab, lambda: lab.playbook(CLEANUP, extra_vars=extra))
    assert undo_again == {"a": 1, "b": 1} and changed_count(proc) == 0


def test_check_mode_reads_once_and_predicts_the_change_with_a_diff_per_image_and_setting(lab):
    lab.host("win")
    start = canonical(lab.state("win"))
    trips, proc = executions(lab, lambda: lab.play(capture(), "--check", "--diff"))
    assert trips == {"win": 1} and canonical(lab.state("win")) == start
    ((_host, result),) = proc.results
    assert result["changed"] is True
    assert [i["exe"] for i in result["images"]] == ["netsh.exe", "notepad.exe"]
    assert all(i["local_dumps"]["changed"] and i["gflags"]["changed"] for i in result["images"])
    # The callback prints each diff: LocalDumps and page heap of each image.
    assert proc.stdout.count("registry after") == 4
    assert "LocalDumps\\notepad.exe]" in proc.stdout and "Image File Execution Options\\notepad.exe]" in proc.stdout
    # The verdict is on the state the apply would leave.
    verdict = result["images"][0]["preflight"]["verdict"]
    assert verdict["dump"] is True and verdict["dump_type"] == "full"
    assert verdict["files"] == ["C:\\WER\\netsh.exe.<pid>.dmp"]


def test_the_host_ends_as_the_modules_one_by_one_leave_it(lab):
    lab.host("win")
    lab.play("""
- crashdump.windows.local_dumps: {exe: "{{ item }}", dump_folder: C:\\WER, dump_count: 10, dump_type: full}
  loop: [netsh.exe, notepad.exe]
- crashdump.windows.gflags: {image: "{{ item }}", page_heap: full}
  loop: [netsh.exe, notepad.exe]
""")
    one_by_one = timeless(lab.state("win"))
    lab.host("win")
    lab.play(capture())
    # Same registry, same undo records, same folder: the plans are the modules' own.
    assert timeless(lab.state("win")) == one_by_one


def test_a_blocker_stops_the_host_before_the_apply_unless_overridden(lab):
    debugger = {"Auto": {"type": "REG_SZ", "data": "1"}, "Debugger": {"type": "REG_SZ", "data": "procdump -j C:\\D"}}
    lab.host("win", {"registry": {AEDEBUG: {"values": debugger}}})
    start = canonical(lab.state("win"))
    trips, proc = executions(lab, lambda: lab.play(capture(), check=False))
    assert proc.returncode != 0 and trips == {"win": 1} and canonical(lab.state("win")) == start
    ((_host, result),) = proc.results
    assert result["blocked"] is True and result["changed"] is False
    # Nothing was planned past the blockers, so nothing claims a change.
    assert "was set" not in proc.stdout + proc.stderr
    assert "netsh.exe: " in result["msg"] and "AeDebug" in result["msg"]
    assert result["msg"].endswith("No dump would appear, so nothing was changed. Fix the blockers, or set "
                                  "preflight_override=true to configure anyway.")
    trips, proc = executions(lab, lambda: lab.play(capture(preflight_override=True)))
    assert trips == {"win": 2} and LD + "\\netsh.exe" in lab.registry("win")


def test_a_restart_service_with_a_disabled_running_dependent_stops_the_host_before_any_change(lab):
    lab.host("win", {"services": {
        "NetshSvc": service("Running", 700),
        "Helper": service("Running", 701, start_mode="Disabled", depends_on=["NetshSvc"])}})
    start = canonical(lab.state("win"))
    proc = lab.play(capture(restart_service="NetshSvc"), check=False)
    assert proc.returncode != 0 and canonical(lab.state("win")) == start
    assert "service 'Helper' is disabled" in proc.stdout and "Nothing was changed" in proc.stdout


@pytest.mark.parametrize("options, message", [
    ({"state": "absent"}, "page_heap, dump_folder, dump_type only apply with state=present"),
    ({"exe": ["netsh.exe", "lsass.exe"]}, "lsass.exe is a sensitive system process"),
    ({"remove_dumps": True}, "harvest_dest and remove_dumps only apply with state=absent"),
    ({"exe": []}, "exe must name at least one image"),
    ({"exe": ["netsh.exe", "Netsh.EXE", "notepad"]}, "'notepad' has no extension"),
])
def test_bad_options_fail_before_anything_is_sent(lab, options, message):
    lab.host("win")
    trips, proc = executions(lab, lambda: lab.play(capture(**options), check=False))
    assert proc.returncode != 0 and message in proc.stdout, proc.stdout
    assert trips == {"win": 0}


def test_remove_dumps_without_harvest_dest_is_refused(lab):
    lab.host("win")
    trips, proc = executions(lab, lambda: lab.play(capture(state="absent", remove_dumps=True, page_heap=None,
                                                           dump_folder=None, dump_type=None), check=False))
    assert proc.returncode != 0 and "name the folder the harvest wrote them to in harvest_dest" in proc.stdout
    assert trips == {"win": 0}
