"""The enable and cleanup playbooks and roles, on seeded lab hosts, as users run them."""

import json
from pathlib import Path

import ansible_runner
import pytest

from tests.conftest import changed_count

REPO = Path(__file__).resolve().parents[2]
ENABLE = REPO / "playbooks" / "enable_crash_dumps.yml"
CLEANUP = REPO / "playbooks" / "cleanup_crash_dumps.yml"
HARVEST = REPO / "playbooks" / "harvest_crash_dumps.yml"
LD = "HKLM\\SOFTWARE\\Microsoft\\Windows\\Windows Error Reporting\\LocalDumps"
IFEO = "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Image File Execution Options"

SEEDS = {
    "clean": None,
    "foreign": {"registry": {
        LD: {"values": {"DumpType": {"type": "REG_DWORD", "data": 1}}},
        LD + "\\netsh.exe": {"values": {"DumpCount": {"type": "REG_DWORD", "data": 3},
                                        "Note": {"type": "REG_MULTI_SZ", "data": ["a", "b"]}}},
        IFEO + "\\netsh.exe": {"values": {"Debugger": {"type": "REG_SZ", "data": "vsjitdebugger.exe"},
                                          "GlobalFlag": {"type": "REG_DWORD", "data": 0x1000},
                                          "PageHeapFlags": {"type": "REG_SZ", "data": "0x2"}}},
        IFEO + "\\netsh.exe\\UseFilter": {"values": {}},
    }},
    "empty-localdumps": {"registry": {LD: {"values": {}}}},
    "wow64-global": {"registry": {
        LD.replace("SOFTWARE\\", "SOFTWARE\\Wow6432Node\\"): {"values": {
            "DumpFolder": {"type": "REG_EXPAND_SZ", "data": "%LOCALAPPDATA%\\CrashDumps"}}}}},
    "ifeo-hand-flags": {"registry": {IFEO + "\\netsh.exe": {"values": {
        "GlobalFlag": {"type": "REG_SZ", "data": "0X00001000"},
        "MitigationOptions": {"type": "REG_QWORD", "data": 256}}}}},
    "dump-folder-exists": {"files": {"C:\\WER": {"type": "directory", "sddl": "O:BAG:SYD:AI(A;OICIID;FA;;;SY)"}}},
}


def canonical(state):
    return json.dumps({"registry": state["registry"], "files": state["files"]}, sort_keys=True)


@pytest.fixture
def hosts(lab):
    for name, seed in SEEDS.items():
        lab.host(name, seed)
    lab.host("x86", arch="x86")
    return list(lab.hosts)


def executions(lab, tmp_path, *args, playbook=ENABLE):
    """Run a playbook; the remote executions of each module task on each host."""
    path = tmp_path / "round_trips.json"
    env = {"ANSIBLE_CALLBACK_PLUGINS": str(REPO / "lab" / "callback_plugins"),
           "ANSIBLE_CALLBACKS_ENABLED": "lab_round_trips", "CRASHDUMP_LAB_ROUND_TRIPS_FILE": str(path)}
    proc = lab.playbook(playbook, *args, env=env)
    tasks = json.loads(path.read_text())
    path.unlink()
    # A skipped task (the service restart when none is asked) executes nothing.
    return proc, {t["action"].rsplit(".", 1)[-1]: t["executions"] for t in tasks
                  if t["action"].startswith("crashdump.windows.") and any(t["executions"].values())}


def test_enable_is_idempotent_and_cleanup_restores_every_host(lab, hosts, tmp_path):
    start = {h: canonical(lab.state(h)) for h in hosts}
    _proc, first = executions(lab, tmp_path, "-e", "exe=netsh.exe")
    assert all(canonical(lab.state(h)) != start[h] for h in hosts)
    again, second = executions(lab, tmp_path, "-e", "exe=netsh.exe")
    assert changed_count(again) == 0
    # One read of each host for everything, then one apply when something must change.
    assert first == {"dump_capture": dict.fromkeys(hosts, 2)}, first
    assert second == {"dump_capture": dict.fromkeys(hosts, 1)}, second

    enabled = {h: canonical(lab.state(h)) for h in hosts}
    lab.playbook(CLEANUP, "-e", "exe=netsh.exe", "--check")
    assert {h: canonical(lab.state(h)) for h in hosts} == enabled

    _proc, undo = executions(lab, tmp_path, "-e", "exe=netsh.exe", playbook=CLEANUP)
    assert undo == {"dump_capture": dict.fromkeys(hosts, 2)}, undo
    assert {h: canonical(lab.state(h)) for h in hosts} == start
    assert changed_count(lab.playbook(CLEANUP, "-e", "exe=netsh.exe")) == 0
    assert {h: canonical(lab.state(h)) for h in hosts} == start


def test_check_mode_enable_changes_nothing(lab, hosts):
    start = {h: canonical(lab.state(h)) for h in hosts}
    proc = lab.playbook(ENABLE, "-e", "exe=netsh.exe", "--check")
    assert changed_count(proc) > 0
    assert {h: canonical(lab.state(h)) for h in hosts} == start


def test_crash_dumps_full_after_enable_and_none_after_cleanup(lab):
    lab.host("win")
    lab.playbook(ENABLE, "-e", "exe=netsh.exe")
    out = json.loads(lab.labctl("crash", "win", "netsh.exe", "--pid", "4660"))
    assert out["dump"]["path"] == "C:\\WER\\netsh.exe.4660.dmp"
    assert out["dump"]["dump_type"] == 2 and out["page_heap"] is True
    lab.playbook(CLEANUP, "-e", "exe=netsh.exe")
    assert json.loads(lab.labctl("crash", "win", "netsh.exe", "--pid", "4661"))["dump"] is None
    # The dump written before cleanup is kept, and so is the folder holding it.
    assert "C:\\WER\\netsh.exe.4660.dmp" in lab.state("win")["files"]


def test_cleanup_removes_only_harvested_dumps(lab, tmp_path):
    dest = tmp_path / "dumps"
    for host in ("all-harvested", "one-new"):
        lab.host(host)
    start = canonical(lab.state("all-harvested"))
    lab.playbook(ENABLE, "-e", "exe=netsh.exe")
    for host in ("all-harvested", "one-new"):
        lab.labctl("crash", host, "netsh.exe", "--pid", "4660")
    lab.playbook(HARVEST, "-e", "exe=netsh.exe", "-e", "harvest_dest=%s" % dest)
    lab.labctl("crash", "one-new", "netsh.exe", "--pid", "4661")
    cleanup = {"exe": "netsh.exe", "remove_dumps": True, "harvest_dest": str(dest)}

    before = {h: canonical(lab.state(h)) for h in lab.hosts}
    proc = lab.playbook(CLEANUP, "--check", extra_vars=cleanup)
    assert {h: canonical(lab.state(h)) for h in lab.hosts} == before
    assert changed_count(proc) > 0
    summary = [r["msg"] for host, r in proc.results if host == "one-new" and "harvested dump" in str(r.get("msg"))]
    assert summary[0].startswith("1 harvested dump(s) would be removed from the host; 1 dump(s) left on the host: "
                                 "C:\\WER\\netsh.exe.4661.dmp (")

    proc = lab.playbook(CLEANUP, extra_vars=cleanup)
    summary = [r["msg"] for host, r in proc.results if host == "one-new" and "harvested dump" in str(r.get("msg"))]
    assert summary[0].startswith("1 harvested dump(s) removed from the host; 1 dump(s) left on the host: "
                                 "C:\\WER\\netsh.exe.4661.dmp (")
    # Every dump was harvested: the host is as it was before enable, folder and all.
    assert canonical(lab.state("all-harvested")) == start
    files = lab.state("one-new")["files"]
    assert "C:\\WER\\netsh.exe.4660.dmp" not in files and "C:\\WER\\netsh.exe.4661.dmp" in files
    # The controller copies stay, and the manifest says what left the host.
    manifest = json.loads((dest / "one-new" / "manifest.json").read_text())
    assert [(e["file"], e["removed_from_host"]) for e in manifest["dumps"]] == [("netsh.exe.4660.dmp", True)]
    assert (dest / "one-new" / "netsh.exe.4660.dmp").is_file()


def test_cleanup_keeps_a_dump_whose_controller_copy_changed(lab, tmp_path):
    dest = tmp_path / "dumps"
    lab.host("win")
    lab.playbook(ENABLE, "-e", "exe=netsh.exe")
    lab.labctl("crash", "win", "netsh.exe", "--pid", "4660")
    lab.playbook(HARVEST, "-e", "exe=netsh.exe", "-e", "harvest_dest=%s" % dest)
    copy = dest / "win" / "netsh.exe.4660.dmp"
    copy.write_bytes(copy.read_bytes()[:-1] + b"x")
    proc = lab.playbook(CLEANUP, extra_vars={"exe": "netsh.exe", "remove_dumps": True, "harvest_dest": str(dest)})
    assert "no longer matches its hash: the remote copy is kept" in " ".join(proc.stderr.split())
    assert "C:\\WER\\netsh.exe.4660.dmp" in lab.state("win")["files"]


def test_several_images_and_a_host_pattern(lab):
    lab.host("a")
    lab.host("b")
    lab.playbook(ENABLE, "-e", json.dumps({"exe": ["one.exe", "two.exe"], "crashdump_hosts": "a"}))
    reg_a, reg_b = lab.registry("a"), lab.registry("b")
    assert LD + "\\one.exe" in reg_a and LD + "\\two.exe" in reg_a
    assert LD not in reg_b


def test_playbook_by_fqcn(lab):
    lab.host("win")
    lab.playbook("crashdump.windows.enable_crash_dumps", "-e", "exe=netsh.exe")
    assert LD + "\\netsh.exe" in lab.registry("win")


@pytest.mark.parametrize("extra, message", [
    ({}, "Name the image to collect dumps of: -e exe=NAME.exe"),
    ({"exe": "netsh.exe", "dump_type": "huge"}, "dump_type must be one of"),
    ({"exe": "netsh.exe", "dump_count": "many"}, "dump_count"),
    ({"exe": "C:\\Windows\\netsh.exe"}, "is a path"),
    ({"exe": "netsh.exe", "registry_views": [16]}, "value of registry_views must be one or more of: 64, 32"),
])
def test_bad_vars_are_rejected_before_any_host_is_touched(lab, extra, message):
    lab.host("win")
    before = lab.stats("win")["round_trips"]
    proc = lab.playbook(ENABLE, check=False, extra_vars=extra)
    assert proc.returncode != 0
    assert message in proc.stdout + proc.stderr
    assert lab.stats("win")["round_trips"] == before


def test_runner_with_survey_extra_vars(lab, tmp_path):
    """AWX runs playbooks through ansible-runner, with the survey's answers as typed extra vars."""
    lab.host("win")
    survey = next(t for t in json.loads((REPO / "awx" / "crashdump_windows.json").read_text())["job_templates"]
                  if t["playbook"] == "playbooks/enable_crash_dumps.yml")["related"]["survey_spec"]
    answers = {q["variable"]: q["default"] for q in survey["spec"]}
    answers.update(exe="netsh.exe", dump_folder="C:\\Dumps", dump_count=5, dump_type="mini", page_heap="false",
                   crashdump_hosts="win")
    (tmp_path / "runner").mkdir()
    result = ansible_runner.run(private_data_dir=str(tmp_path / "runner"), playbook=str(ENABLE),
                                inventory=str(lab.inventory()), extravars=answers, envvars=lab.env, quiet=True)
    assert result.status == "successful", result.stdout.read()
    values = lab.registry("win")[LD + "\\netsh.exe"]["values"]
    assert values["DumpFolder"]["data"] == "C:\\Dumps" and values["DumpCount"]["data"] == 5
    assert values["DumpType"]["data"] == 1
    assert not any(k.startswith(IFEO + "\\netsh.exe") for k in lab.registry("win"))


def test_restart_service_makes_page_heap_take_effect(lab):
    lab.host("win")
    lab.labctl("start", "win", "netsh.exe", "--service", "NetshSvc")
    proc = lab.playbook(ENABLE, extra_vars={"exe": "netsh.exe", "restart_service": "NetshSvc"})
    assert "service NetshSvc restarted" in proc.stdout
    crash = json.loads(lab.labctl("crash", "win", "netsh.exe"))
    assert crash["page_heap"] is True
    # A second run changes no flag, so nothing restarts.
    again = lab.playbook(ENABLE, extra_vars={"exe": "netsh.exe", "restart_service": "NetshSvc"})
    assert "restarted" not in again.stdout


def test_without_restart_the_running_service_keeps_its_old_flags(lab):
    lab.host("win")
    lab.labctl("start", "win", "netsh.exe", "--service", "NetshSvc")
    proc = lab.playbook(ENABLE, "-e", "exe=netsh.exe")
    assert "written but not in effect until a restart of pid" in proc.stdout and "(service NetshSvc)" in proc.stdout
    assert json.loads(lab.labctl("crash", "win", "netsh.exe"))["page_heap"] is False


def test_restarting_an_unknown_service_fails_clearly(lab):
    lab.host("win")
    proc = lab.playbook(ENABLE, check=False, extra_vars={"exe": "netsh.exe", "restart_service": "NoSuchSvc"})
    assert proc.returncode != 0 and "There is no service named 'NoSuchSvc' on the host" in proc.stdout
