"""crashdump.windows.wait_for_dump through playbooks/wait_for_crash_dump.yml on a lab host: a crash during the
wait ends it with that dump; no crash fails it on time; check mode does not wait."""

import datetime as dt
import json
import subprocess
import sys
import time
from pathlib import Path

from crashdump_lab import load_state
from tests.conftest import task_results

REPO = Path(__file__).resolve().parents[2]
WAIT = REPO / "playbooks" / "wait_for_crash_dump.yml"
LD = "HKLM\\SOFTWARE\\Microsoft\\Windows\\Windows Error Reporting\\LocalDumps"
SEED = {"registry": {LD + "\\netsh.exe": {"values": {
    "DumpType": {"type": "REG_DWORD", "data": 1}, "DumpFolder": {"type": "REG_EXPAND_SZ", "data": "C:\\WER"}}}}}


def round_trips(lab):
    return load_state(str(lab.state_dir), "win")["counters"]["round_trips"]


def test_a_crash_during_the_wait_ends_it_with_the_new_dump(lab):
    lab.host("win", SEED)
    lab.labctl("crash", "win", "netsh.exe", "--pid", "11")
    start = round_trips(lab)
    cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(lab.inventory()), str(WAIT),
           "-e", json.dumps({"exe": "netsh.exe", "wait_timeout": 60, "wait_poll_interval": 1})]
    proc = subprocess.Popen(cmd, env=lab.env, cwd=str(REPO), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    # The first listing and the first poll have run: the dump there at the start is not new.
    deadline = time.monotonic() + 60
    while round_trips(lab) < start + 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    lab.labctl("crash", "win", "netsh.exe", "--pid", "22")
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stdout + stderr
    result = task_results(stdout)[0][1]
    assert result["dump"]["remote_path"] == "C:\\WER\\netsh.exe.22.dmp" and result["dump"]["sha256"]
    assert [d["pid"] for d in result["dumps"]] == [22] and result["baseline"] == 1
    assert result["polls"] >= 3 and not result["changed"]
    # One remote execution per poll.
    assert round_trips(lab) - start == result["polls"]


def test_no_new_dump_fails_at_the_timeout_and_check_mode_does_not_wait(lab):
    lab.host("win", SEED)
    lab.labctl("crash", "win", "netsh.exe", "--pid", "11")
    time.sleep(0.01)
    since = dt.datetime.now(dt.timezone.utc).isoformat()
    lab.labctl("crash", "win", "netsh.exe", "--pid", "12", "--being-written")
    began = time.monotonic()
    proc = lab.playbook(WAIT, check=False, extra_vars={"exe": "netsh.exe", "wait_timeout": 2,
                                                       "wait_poll_interval": 1, "wait_since": since})
    assert proc.returncode == 2
    result = proc.results[0][1]
    assert result["timed_out"] and result["dump"] is None
    # The dump written before the time is old; the one WerFault still writes never ends the wait.
    assert result["dumps"] == [] and result["baseline"] == 0
    assert "timed out after" in result["msg"] and "still being written: C:\\WER\\netsh.exe.12.dmp" in result["msg"]
    assert 2 <= result["elapsed"] < 10

    proc = lab.playbook(WAIT, "--check", extra_vars={"exe": "netsh.exe", "wait_timeout": 3600})
    result = proc.results[0][1]
    assert result["skipped_wait"] and result["dump"] is None and result["polls"] == 2
    assert time.monotonic() - began < 40
