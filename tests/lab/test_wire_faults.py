"""Faults at the WinRM endpoint (labctl fault HOST receive:KIND:N:EFFECT),
one-shot and per host, met through ansible-playbook over
ansible.builtin.winrm: a connection reset during Receive and an HTTP 500
fail the task clearly, an operation timeout is retried by the client, and
a re-run converges with nothing lost."""

from __future__ import annotations

import hashlib
import json

import pytest

from tests.conftest import changed_count

LOCAL_DUMPS = "HKLM\\SOFTWARE\\Microsoft\\Windows\\Windows Error Reporting\\LocalDumps"
ENABLE = "crashdump.windows.local_dumps: {exe: netsh.exe, dump_type: full}"
# What the modules pass on from ansible.builtin.winrm: the reply lost (reset), the shell gone (HTTP 500,
# ERROR_WSMAN_INVALID_SELECTORS).
CLEAR = {"reset": "ConnectionError: ('Connection aborted.'", "http500": "'wsmanfault_code': 2150858843"}


@pytest.mark.parametrize("effect", ["reset", "http500", "timeout"])
def test_a_fault_on_the_apply_batch_reply(lab, effect):
    lab.host("win")
    lab.host("other")
    inventory = lab.inventory(connection="winrm")
    # local_dumps on a clean host: a read batch, then the apply batch (the second agent command).
    lab.labctl("fault", "win", "receive:agent:2:%s" % effect)
    first = lab.playbook(lab_book(lab, ENABLE), inventory=inventory, check=False)
    outcome = dict(first.results)
    assert outcome["other"]["changed"]  # the fault is the one host's alone
    wanted = {"DumpType": {"type": "REG_DWORD", "data": 2}}
    # The batch ran on the host before its reply was lost.
    assert lab.registry("win")[LOCAL_DUMPS + "\\netsh.exe"]["values"]["DumpType"] == wanted["DumpType"]
    if effect == "timeout":
        assert first.returncode == 0 and outcome["win"]["changed"]
    else:
        msg = outcome["win"]["msg"]
        assert outcome["win"]["unreachable"]
        assert "during a batch of" in msg and "The host may have run the batch" in msg and CLEAR[effect] in msg
    assert lab.state("win")["faults"] == []  # one-shot
    again = lab.playbook(lab_book(lab, ENABLE), inventory=inventory)
    assert changed_count(again) == 0


@pytest.mark.parametrize("effect", ["reset", "http500", "timeout"])
def test_a_fault_in_the_middle_of_fetch_file(lab, tmp_path, effect):
    lab.host("win", {"registry": {LOCAL_DUMPS + "\\netsh.exe": {"values": {
        "DumpType": {"type": "REG_DWORD", "data": 2}}}}})
    dump = json.loads(lab.labctl("crash", "win", "netsh.exe", "--dump-size", "3000000"))["dump"]
    inventory = lab.inventory(connection="winrm")
    dest = tmp_path / "dumps"
    # Uncompressed, the dump moves in 512 KiB fetch_file commands: the third one's reply meets the fault.
    task = "crashdump.windows.fetch_dumps: %s" % json.dumps({"exe": ["netsh.exe"], "dest": str(dest),
                                                             "compress": "never"})
    lab.labctl("fault", "win", "receive:fetch_file:3:%s" % effect)
    first = lab.playbook(lab_book(lab, task), inventory=inventory, check=False)
    local = dest / "win" / dump["path"].rsplit("\\", 1)[-1]
    if effect == "timeout":
        assert first.returncode == 0
    else:
        (_host, result), = first.results
        assert "win | FAILED! =>" in first.stdout
        assert CLEAR[effect] in result["msg"] and "the remote copy is kept" in result["msg"]
        assert not local.exists()  # nothing half-fetched under the dump's name
    assert lab.state("win")["faults"] == []  # it struck, once
    again = lab.playbook(lab_book(lab, task), inventory=inventory)
    assert hashlib.sha256(local.read_bytes()).hexdigest() == dump["sha256"]
    assert again.returncode == 0


def lab_book(lab, task):
    book = lab.root / "fault-play.yml"
    book.write_text("- hosts: windows\n  gather_facts: false\n  tasks:\n    - %s\n" % task)
    return book
