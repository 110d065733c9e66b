"""The enable playbook says plainly whether a dump will appear, and refuses what cannot work before any change
(issue 18: no silent success)."""

import json
from pathlib import Path

import pytest
from service_seed import service, service_process

REPO = Path(__file__).resolve().parents[2]
ENABLE = REPO / "playbooks" / "enable_crash_dumps.yml"
LD = "HKLM\\SOFTWARE\\Microsoft\\Windows\\Windows Error Reporting\\LocalDumps"
AEDEBUG = "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\AeDebug"
FOREIGN_GLOBAL = {"registry": {LD: {"values": {
    "DumpFolder": {"type": "REG_EXPAND_SZ", "data": "C:\\Team"},
    "DumpCount": {"type": "REG_DWORD", "data": 5},
    "DumpType": {"type": "REG_DWORD", "data": 1}}}}}


def summary(proc, host):
    """The enable role's summary lines for ``host``."""
    (lines,) = [r["msg"] for h, r in proc.results if h == host and isinstance(r.get("msg"), list)]
    return lines


def untouched(lab, before):
    """Nothing was sent to any host, so nothing changed."""
    return all(lab.stats(h)["round_trips"] == n for h, n in before.items())


def round_trips(lab):
    return {h: lab.stats(h)["round_trips"] for h in lab.hosts}


@pytest.mark.parametrize("task", [
    "crashdump.windows.local_dumps:\n    exe: netsh",
    "crashdump.windows.gflags:\n    image: netsh\n    page_heap: full",
    "crashdump.windows.preflight:\n    exe: netsh",
    "crashdump.windows.crash_events:\n    images: [netsh]",
])
def test_every_module_refuses_an_image_without_extension(lab, task):
    lab.host("win")
    before = round_trips(lab)
    proc = lab.play("- " + task, check=False)
    assert proc.returncode != 0
    assert "'netsh' has no extension: WER and IFEO match the image's exact file name, such as netsh.exe" \
        in proc.stdout
    assert untouched(lab, before)


def test_enable_refuses_an_image_without_extension_before_anything_is_sent(lab):
    lab.host("win")
    before = round_trips(lab)
    proc = lab.playbook(ENABLE, "-e", "exe=netsh", check=False)
    assert proc.returncode != 0 and "'netsh' has no extension" in proc.stdout
    assert untouched(lab, before)


@pytest.mark.parametrize("extra, message", [
    ({"exe": ["notepad.exe", "lsass.exe"]}, "lsass.exe is a sensitive system process"),
    ({"exe": ["notepad.exe", "netsh"]}, "'netsh' has no extension"),
    ({"exe": ["notepad.exe", "app.exe"], "restart_service": "a/b"}, "'a/b' is not a service name"),
    ({"exe": ["notepad.exe", "app.exe"], "dump_folder": "WER"}, "dump_folder 'WER' is relative"),
])
def test_a_list_of_images_is_checked_whole_before_the_first_change_on_any_host(lab, extra, message):
    lab.host("a")
    lab.host("b")
    before = round_trips(lab)
    proc = lab.playbook(ENABLE, check=False, extra_vars=extra)
    assert proc.returncode != 0 and message in proc.stdout
    assert untouched(lab, before)
    assert LD not in lab.registry("a") and LD not in lab.registry("b")


@pytest.mark.parametrize("service, message", [
    (None, "There is no service named 'Spoolr' on the host"),
    ({"display_name": "Print Spooler", "status": "Stopped", "start_mode": "Disabled", "account": "LocalSystem",
      "pid": 0}, "The service Spoolr is disabled"),
])
@pytest.mark.parametrize("override", [False, True])
def test_a_service_that_cannot_be_restarted_stops_the_run_before_any_change(lab, service, message, override):
    lab.host("win", {"services": {"Spoolr": service}} if service else None)
    start = lab.state("win")
    proc = lab.playbook(ENABLE, check=False, extra_vars={"exe": "netsh.exe", "restart_service": "Spoolr",
                                                         "preflight_override": override})
    assert proc.returncode != 0 and message in proc.stdout, proc.stdout
    assert "Nothing was changed" in proc.stdout
    assert lab.state("win")["registry"] == start["registry"]
    assert lab.state("win")["files"] == start["files"]


def test_an_image_found_nowhere_is_named_in_the_summary(lab):
    lab.host("win")
    proc = lab.playbook(ENABLE, "-e", json.dumps({"exe": ["nosuchapp.exe", "netsh.exe"]}))
    lines = summary(proc, "win")
    assert "nosuchapp.exe: not found on this host; dumps appear only if an image of exactly this name crashes" \
        in lines
    assert not any(line.startswith("netsh.exe: not found") for line in lines)


@pytest.mark.parametrize("options, dump_type", [({}, 2), ({"dump_type": "mini", "dump_folder": "C:\\Dumps"}, 1)])
def test_the_summary_says_where_the_dump_will_land_and_it_does(lab, options, dump_type):
    lab.host("win")
    folder = options.get("dump_folder", "C:\\WER")
    name = {1: "mini", 2: "full"}[dump_type]
    check = lab.playbook(ENABLE, "--check", extra_vars=dict(options, exe="netsh.exe"))
    assert ("netsh.exe: LocalDumps would change; a crash of netsh.exe would leave a %s dump at "
            "%s\\netsh.exe.<pid>.dmp, the newest 10 kept" % (name, folder)) in summary(check, "win")
    proc = lab.playbook(ENABLE, extra_vars=dict(options, exe="netsh.exe"))
    assert ("netsh.exe: LocalDumps changed; a crash of netsh.exe will leave a %s dump at %s\\netsh.exe.<pid>.dmp, "
            "the newest 10 kept" % (name, folder)) in summary(proc, "win")
    crash = json.loads(lab.labctl("crash", "win", "netsh.exe", "--pid", "4660"))
    assert crash["dump"]["path"] == "%s\\netsh.exe.4660.dmp" % folder and crash["dump"]["dump_type"] == dump_type


def test_the_summary_says_no_dump_will_appear_when_a_blocker_stays(lab):
    debugger = {"Auto": {"type": "REG_SZ", "data": "1"}, "Debugger": {"type": "REG_SZ", "data": "procdump -j C:\\D"}}
    lab.host("win", {"registry": {AEDEBUG: {"values": debugger}}})
    proc = lab.playbook(ENABLE, "-e", "exe=netsh.exe", "-e", "preflight_override=true")
    (line,) = [x for x in summary(proc, "win") if x.startswith("netsh.exe: LocalDumps")]
    assert line.startswith("netsh.exe: LocalDumps changed; no dump of netsh.exe will appear: AeDebug Auto=1")
    assert json.loads(lab.labctl("crash", "win", "netsh.exe"))["dump"] is None


def test_another_teams_global_settings_are_what_every_other_process_gets(lab):
    lab.host("team", FOREIGN_GLOBAL)
    lab.host("clean")
    proc = lab.playbook(ENABLE, "-e", "exe=netsh.exe")
    team = summary(proc, "team")
    assert not any("written for every process" in line for line in team)
    assert ("netsh.exe: LocalDumps changed; a crash of netsh.exe will leave a full dump at "
            "C:\\WER\\netsh.exe.<pid>.dmp, the newest 10 kept") in team
    assert "every other process: up to 5 mini dumps in C:\\Team (the host's global LocalDumps settings)" in team
    assert "every other process: no dump (global DumpCount=0)" in summary(proc, "clean")
    crash = json.loads(lab.labctl("crash", "team", "other.exe", "--pid", "4660"))
    assert crash["dump"]["path"] == "C:\\Team\\other.exe.4660.dmp" and crash["dump"]["dump_type"] == 1
    assert json.loads(lab.labctl("crash", "clean", "other.exe"))["dump"] is None


def test_a_misspelt_variable_gets_one_line(lab):
    lab.host("win")
    before = round_trips(lab)
    proc = lab.playbook(ENABLE, "-e", "exe_name=netsh.exe", check=False)
    assert proc.returncode != 0
    assert "Name the image to collect dumps of: -e exe=NAME.exe" in proc.stdout
    assert "argument_spec" not in proc.stdout + proc.stderr and len(proc.stdout) < 1500
    assert untouched(lab, before)


def test_page_heap_written_but_not_in_effect_is_tracked_until_a_restart(lab):
    lab.host("win")
    lab.labctl("start", "win", "netsh.exe", "--service", "NetshSvc")
    proc = lab.playbook(ENABLE, "-e", "exe=netsh.exe")
    (line,) = [x for x in summary(proc, "win") if "page heap" in x]
    assert line.startswith("netsh.exe: page heap full (changed); written but not in effect until a restart of pid ")
    assert line.endswith(" (service NetshSvc) or the next start of netsh.exe")
    # The lab records the flags a process got at its start: the running service has none.
    (process,) = [p for p in lab.state("win")["processes"] if p["services"] == ["NetshSvc"]]
    assert not process["global_flag"]

    # The flags are unchanged now, yet the running service still lacks them: the restart is done.
    proc = lab.playbook(ENABLE, extra_vars={"exe": "netsh.exe", "restart_service": "NetshSvc"})
    assert "service NetshSvc restarted" in proc.stdout
    assert "netsh.exe: page heap full (unchanged); in effect in every running instance" in summary(proc, "win")
    assert json.loads(lab.labctl("crash", "win", "netsh.exe"))["page_heap"] is True

    # Once in effect, nothing restarts.
    lab.labctl("start", "win", "netsh.exe", "--service", "NetshSvc")
    again = lab.playbook(ENABLE, extra_vars={"exe": "netsh.exe", "restart_service": "NetshSvc"})
    assert "restarted" not in again.stdout
    assert "netsh.exe: page heap full (unchanged); in effect in every running instance" in summary(again, "win")


def test_page_heap_of_an_image_not_running_takes_effect_at_its_next_start(lab):
    lab.host("win")
    proc = lab.playbook(ENABLE, "-e", "exe=netsh.exe")
    assert "netsh.exe: page heap full (changed); takes effect when netsh.exe next starts" in summary(proc, "win")


def test_a_restart_that_keeps_a_shared_process_is_not_reported_as_effective(lab):
    # appsvc.exe hosts two running services: restarting one leaves the process, and its missing page heap, alone.
    lab.host("win", {"services": {name: service("Running", 6100, group="appgroup") for name in ("SharedA", "SharedB")},
                     "processes": [service_process("appsvc.exe", 6100, ["SharedA", "SharedB"])]})
    check = lab.playbook(ENABLE, "--check", extra_vars={"exe": "appsvc.exe", "restart_service": "SharedA"})
    assert ("service SharedA would be restarted (pid 6100); not effective: the process hosts other running "
            "services and would keep running, so new image flags apply only when it restarts") in summary(check, "win")
    proc = lab.playbook(ENABLE, extra_vars={"exe": "appsvc.exe", "restart_service": "SharedA"})
    lines = summary(proc, "win")
    assert ("service SharedA restarted: pid 6100 is now pid 6100; not effective: the process hosts other running "
            "services and kept running, so new image flags apply only when it restarts") in lines
    (line,) = [x for x in lines if "page heap" in x]
    assert line.startswith("appsvc.exe: page heap full (changed); written but not in effect until a restart of "
                           "pid 6100")
