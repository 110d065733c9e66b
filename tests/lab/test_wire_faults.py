"""Faults at the WinRM endpoint (labctl fault HOST receive:KIND:N:EFFECT[:R]),
one-shot and per host, met through ansible-playbook over
ansible.builtin.winrm and ansible.builtin.psrp (PSRP output also comes in
WSMan Receive): a connection reset during Receive and an HTTP 500 fail the
task clearly, an operation timeout is retried by the client, and a re-run
converges with nothing lost."""

from __future__ import annotations

import hashlib
import json

import pytest

from tests.conftest import changed_count

LOCAL_DUMPS = "HKLM\\SOFTWARE\\Microsoft\\Windows\\Windows Error Reporting\\LocalDumps"
ENABLE = "crashdump.windows.local_dumps: {exe: netsh.exe, dump_type: full}"
# What the modules pass on from each connection: the reply lost (reset), the shell or runspace pool gone
# (HTTP 500, ERROR_WSMAN_UNEXPECTED_SELECTORS).
RESET = "ConnectionError: ('Connection aborted.'"
CLEAR = {"winrm": {"reset": RESET, "http500": "'wsmanfault_code': 2150858843"},
         "psrp": {"reset": RESET, "http500": "WSManFaultError: Received a WSManFault message. (Code: 2150858843"}}
# ansible.builtin.winrm fetches in 512 KiB fetch_file commands (uncompressed): the third one's reply; psrp
# streams the whole file from one pipeline: its third Receive, with part of the file already written.
MIDDLE_OF_FETCH = {"winrm": "receive:fetch_file:3:%s", "psrp": "receive:fetch_file:1:%s:3"}


@pytest.mark.parametrize("connection", ["winrm", "psrp"])
@pytest.mark.parametrize("effect", ["reset", "http500", "timeout"])
def test_a_fault_on_the_apply_batch_reply(lab, effect, connection):
    lab.host("win")
    lab.host("other")
    inventory = lab.inventory(connection=connection)
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
        assert "during a batch of" in msg and "The host may have run the batch" in msg
        assert CLEAR[connection][effect] in msg
    assert lab.state("win")["faults"] == []  # one-shot
    again = lab.playbook(lab_book(lab, ENABLE), inventory=inventory)
    assert changed_count(again) == 0


@pytest.mark.parametrize("connection", ["winrm", "psrp"])
@pytest.mark.parametrize("effect", ["reset", "http500", "timeout"])
def test_a_fault_in_the_middle_of_fetch_file(lab, tmp_path, effect, connection):
    lab.host("win", {"registry": {LOCAL_DUMPS + "\\netsh.exe": {"values": {
        "DumpType": {"type": "REG_DWORD", "data": 2}}}}})
    dump = json.loads(lab.labctl("crash", "win", "netsh.exe", "--dump-size", "3000000"))["dump"]
    inventory = lab.inventory(connection=connection)
    dest = tmp_path / "dumps"
    task = "crashdump.windows.fetch_dumps: %s" % json.dumps({"exe": ["netsh.exe"], "dest": str(dest),
                                                             "compress": "never"})
    lab.labctl("fault", "win", MIDDLE_OF_FETCH[connection] % effect)
    first = lab.playbook(lab_book(lab, task), inventory=inventory, check=False)
    local = dest / "win" / dump["path"].rsplit("\\", 1)[-1]
    if effect == "timeout":
        assert first.returncode == 0
    else:
        (_host, result), = first.results
        assert "win | FAILED! =>" in first.stdout
        assert CLEAR[connection][effect] in result["msg"] and "the remote copy is kept" in result["msg"]
        assert not local.exists()  # nothing half-fetched under the dump's name
        assert not list((dest / "win").glob(".fetch-*"))  # nor the part that had arrived
    assert lab.state("win")["faults"] == []  # it struck, once
    again = lab.playbook(lab_book(lab, task), inventory=inventory)
    assert hashlib.sha256(local.read_bytes()).hexdigest() == dump["sha256"]
    assert again.returncode == 0


def lab_book(lab, task):
    book = lab.root / "fault-play.yml"
    book.write_text("- hosts: windows\n  gather_facts: false\n  tasks:\n    - %s\n" % task)
    return book
