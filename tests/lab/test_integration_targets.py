"""The ansible-test integration targets for real Windows hosts (tests/integration/targets), run on lab hosts.

Each target checks a module through its own results and must leave the host
as it found it: here that is checked byte for byte, on a clean host, one with
foreign settings for the same image, and a 32-bit one.
"""

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TARGETS = REPO / "tests" / "integration" / "targets"
LD = "HKLM\\SOFTWARE\\Microsoft\\Windows\\Windows Error Reporting\\LocalDumps"
IFEO = "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Image File Execution Options"
IMAGE = "crashdump-integration-test.exe"
FOREIGN = {"registry": {
    LD: {"values": {"DumpType": {"type": "REG_DWORD", "data": 1}}},
    LD + "\\" + IMAGE: {"values": {"DumpCount": {"type": "REG_SZ", "data": "7"}}},
    IFEO + "\\" + IMAGE: {"values": {"GlobalFlag": {"type": "REG_DWORD", "data": 0x100},
                                     "Debugger": {"type": "REG_SZ", "data": "vsjitdebugger.exe"}}},
}}


def canonical(state):
    return json.dumps({"registry": state["registry"], "files": state["files"]}, sort_keys=True)


@pytest.mark.parametrize("target", sorted(p.name for p in TARGETS.iterdir()))
def test_target_passes_and_leaves_the_host_as_it_was(lab, target):
    hosts = [lab.host("clean"), lab.host("foreign", FOREIGN), lab.host("x86", arch="x86")]
    start = {h: canonical(lab.state(h)) for h in hosts}
    book = lab.root / "target.yml"
    book.write_text("- hosts: windows\n  gather_facts: false\n  roles:\n    - %s\n" % target)
    proc = lab.playbook(book, env={"ANSIBLE_ROLES_PATH": str(TARGETS)})  # fails the test unless rc is 0
    asserts = (TARGETS / target / "tasks" / "main.yml").read_text().count("ansible.builtin.assert:")
    assert proc.stdout.count('"msg": "All assertions passed"') == asserts * len(hosts) > 0
    assert {h: canonical(lab.state(h)) for h in hosts} == start
