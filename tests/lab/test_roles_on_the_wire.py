"""The enable, harvest and cleanup playbooks and the integration targets over
ansible.builtin.winrm and ansible.builtin.psrp against served lab hosts
(labctl serve), with the outcomes of the lab's private connection plugin:
the same host states, byte for byte, after each step. A wrong password
changing nothing is tested in test_winrm_endpoint.py and
test_psrp_endpoint.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Lab, changed_count

REPO = Path(__file__).resolve().parents[2]
ENABLE = REPO / "playbooks" / "enable_crash_dumps.yml"
CLEANUP = REPO / "playbooks" / "cleanup_crash_dumps.yml"
HARVEST = REPO / "playbooks" / "harvest_crash_dumps.yml"
TARGETS = REPO / "tests" / "integration" / "targets"
LD = "HKLM\\SOFTWARE\\Microsoft\\Windows\\Windows Error Reporting\\LocalDumps"
IFEO = "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Image File Execution Options"
# A clean host, one with foreign settings for the image, a 32-bit one.
FOREIGN = {"registry": {
    LD: {"values": {"DumpType": {"type": "REG_DWORD", "data": 1}}},
    LD + "\\netsh.exe": {"values": {"DumpCount": {"type": "REG_DWORD", "data": 3}}},
    IFEO + "\\netsh.exe": {"values": {"Debugger": {"type": "REG_SZ", "data": "vsjitdebugger.exe"},
                                      "GlobalFlag": {"type": "REG_DWORD", "data": 0x1000}}}}}
CONNECTIONS = ["winrm", "psrp"]


def canonical(state):
    return json.dumps({"registry": state["registry"], "files": state["files"]}, sort_keys=True)


def timeless(seen):
    """The states with the files' mtimes left out: a folder the run creates is stamped with the wall clock."""
    def strip(text):
        state = json.loads(text)
        for entry in state["files"].values():
            entry.pop("mtime", None)
        return json.dumps(state, sort_keys=True)
    return {step: {h: strip(s) for h, s in by_host.items()} for step, by_host in seen.items()}


def hosts(lab):
    return [lab.host("clean"), lab.host("foreign", FOREIGN), lab.host("x86", arch="x86")]


def states(lab):
    return {h: canonical(lab.state(h)) for h in lab.hosts}


def journey(lab, connection, dest):
    """enable twice, crash and harvest into ``dest``, cleanup twice; the host states after each step."""
    inventory = lab.inventory(connection=connection)
    seen = {"start": states(lab)}
    lab.playbook(ENABLE, "-e", "exe=netsh.exe", inventory=inventory)
    seen["enabled"] = states(lab)
    assert changed_count(lab.playbook(ENABLE, "-e", "exe=netsh.exe", inventory=inventory)) == 0
    for host in lab.hosts:
        lab.labctl("crash", host, "netsh.exe", "--pid", "4660")
    lab.playbook(HARVEST, "-e", "exe=netsh.exe", "-e", "harvest_dest=%s" % dest, inventory=inventory)
    cleanup = {"exe": "netsh.exe", "remove_dumps": True, "harvest_dest": str(dest)}
    lab.playbook(CLEANUP, extra_vars=cleanup, inventory=inventory)
    seen["cleaned"] = states(lab)
    assert changed_count(lab.playbook(CLEANUP, extra_vars=cleanup, inventory=inventory)) == 0
    return seen


def private_journey(tmp_path, dest):
    """The same on the same hosts, over the lab's private connection plugin."""
    (tmp_path / "private").mkdir()
    private = Lab(tmp_path / "private")
    hosts(private)
    return journey(private, "crashdump_lab", dest)


@pytest.mark.parametrize("connection", CONNECTIONS)
def test_the_playbooks_over_the_wire_end_as_over_the_lab_plugin(lab, tmp_path, connection):
    hosts(lab)
    wire_dest, private_dest = tmp_path / "wire-dumps", tmp_path / "private-dumps"
    wire = journey(lab, connection, wire_dest)
    assert wire["enabled"] != wire["start"] and wire["cleaned"] == wire["start"]
    assert timeless(private_journey(tmp_path, private_dest)) == timeless(wire)
    for host in lab.hosts:  # the harvested copies are the same files
        names = sorted(p.name for p in (wire_dest / host).iterdir())
        assert names == sorted(p.name for p in (private_dest / host).iterdir()) and names


@pytest.mark.parametrize("connection", CONNECTIONS)
def test_the_integration_targets_over_the_wire(lab, connection):
    # Every target leaves the hosts as it found them: one play runs them all, one after another.
    hosts(lab)
    start = states(lab)
    targets = sorted(p.name for p in TARGETS.iterdir())
    book = lab.root / "targets.yml"
    roles = "".join("    - %s\n" % t for t in targets)
    book.write_text("- hosts: windows\n  gather_facts: false\n  roles:\n" + roles)
    proc = lab.playbook(book, inventory=lab.inventory(connection=connection),
                        env={"ANSIBLE_ROLES_PATH": str(TARGETS)})
    asserts = sum((TARGETS / t / "tasks" / "main.yml").read_text().count("ansible.builtin.assert:") for t in targets)
    assert proc.stdout.count('"msg": "All assertions passed"') == asserts * len(lab.hosts) > 0
    assert states(lab) == start
