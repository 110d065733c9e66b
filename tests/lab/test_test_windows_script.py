"""tools/test-windows.sh, the real-host runner, run against lab hosts.

No real Windows host is reachable here, so the script is checked with the lab
connection as its transport: its arguments, one summary line per host and
transport, and its exit status when a run passes or fails.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "tools" / "test-windows.sh"
TARGETS = sorted(p.name for p in (REPO / "tests" / "integration" / "targets").iterdir())


@pytest.fixture
def inventory(lab):
    lab.host("lab-good")
    lab.host("lab-bad")
    lab.labctl("fault", "lab-bad", "exec:1")  # its first command is lost: its first target fails
    inv = lab.root / "real.yml"
    # As a user's inventory would say it: the script forces the transport.
    inv.write_text("windows:\n  hosts:\n    lab-good: {}\n    lab-bad: {}\n  vars:\n    ansible_connection: winrm\n"
                   "others:\n  hosts:\n    lab-bare:\n")
    return inv


def run(lab, *args, env=None):
    environ = {k: v for k, v in lab.env.items() if k != "CRASHDUMP_WINDOWS_INVENTORY"}
    return subprocess.run([str(SCRIPT), *map(str, args)], env=dict(environ, **(env or {})), cwd=str(lab.root),
                          capture_output=True, text=True, timeout=900, check=False)


def test_help(lab):
    proc = run(lab, "--help")
    assert proc.returncode == 0
    assert proc.stdout.startswith("usage: tools/test-windows.sh")
    for option in ("--inventory", "--transports", "--suites", "CRASHDUMP_WINDOWS_INVENTORY", "winrm,psrp,ssh"):
        assert option in proc.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "name at least one HOST"),
        (["-i", "{inv}", "--transports", "telnet", "lab-good"], "unknown transport 'telnet'"),
        (["-i", "{inv}", "--suites", "protocol,unit", "lab-good"], "unknown suite 'unit'"),
        (["-i", "{inv}", "--frobnicate", "lab-good"], "unknown option --frobnicate"),
        (["-i", "{inv}", "lab-bare", "nosuchhost"], "host nosuchhost is not in"),
        (["lab-good"], "no inventory: give -i FILE or set CRASHDUMP_WINDOWS_INVENTORY"),
        (["-i", "/nonexistent/inv.yml", "lab-good"], "inventory /nonexistent/inv.yml does not exist"),
        (["-i"], "-i needs a value"),
    ],
)
def test_bad_arguments_fail_before_running_anything(lab, inventory, args, message):
    proc = run(lab, *[a.format(inv=inventory) for a in args])
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert message in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stdout == ""
    assert lab.stats("lab-good")["round_trips"] == 0


def test_one_line_per_host_and_transport_and_the_exit_status(lab, inventory, tmp_path):
    logs = tmp_path / "logs"
    proc = run(lab, "-i", inventory, "-t", "crashdump_lab", "-s", "integration", "-o", logs, "lab-good", "lab-bad")
    lines = proc.stdout.splitlines()
    assert len(lines) == 2, proc.stdout + proc.stderr
    total = len(TARGETS)
    good = rf"lab-good crashdump_lab: PASS protocol=skipped integration={total}/{total} log: \S+"
    assert re.fullmatch(good, lines[0]), lines[0]
    bad = rf"lab-bad crashdump_lab: FAIL protocol=skipped integration=(\d+)/{total} failed: (\S+) log: (\S+)"
    bad = re.fullmatch(bad, lines[1])
    assert bad, lines[1]
    assert bad.group(2).split(",")[0] == TARGETS[0]
    assert int(bad.group(1)) == total - len(bad.group(2).split(","))
    assert (Path(bad.group(3)) / (TARGETS[0] + ".log")).read_text().count("lab-bad") > 0
    assert proc.returncode == 1


def test_protocol_suite_through_the_inventory_from_the_environment(lab, inventory, tmp_path):
    proc = run(lab, "-t", "crashdump_lab", "-s", "protocol",
               "-o", tmp_path / "logs", "lab-good", env={"CRASHDUMP_WINDOWS_INVENTORY": str(inventory)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.fullmatch(r"lab-good crashdump_lab: PASS protocol=pass log: \S+\n", proc.stdout), proc.stdout
    assert os.path.isfile(tmp_path / "logs" / "lab-good-crashdump_lab" / "protocol.log")
