"""labctl serve --counters: what crossed the wire, counted by the endpoint
(requests, bytes in and out, commands by kind), checked on small known runs
through ansible-playbook over ansible.builtin.winrm and psrp."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.conftest import REPO
from tests.lab.test_winrm_endpoint import winrm_connection

LOCAL_DUMPS = "HKLM\\SOFTWARE\\Microsoft\\Windows\\Windows Error Reporting\\LocalDumps"
LOCAL_DUMPS_TASK = "crashdump.windows.local_dumps: {exe: netsh.exe, dump_type: full}"


def run_counted(lab, connection, tasks, counters):
    """Run ``tasks`` over ``connection`` with lab_round_trips reading the wire counters; its per-task list."""
    trips = lab.root / ("%s-tasks.json" % connection)
    env = {"ANSIBLE_CALLBACK_PLUGINS": str(REPO / "lab" / "callback_plugins"),
           "ANSIBLE_CALLBACKS_ENABLED": "lab_round_trips", "CRASHDUMP_LAB_ROUND_TRIPS_FILE": str(trips),
           "CRASHDUMP_LAB_WIRE_COUNTERS": str(counters)}
    book = lab.root / "play.yml"
    book.write_text("- hosts: windows\n  gather_facts: false\n  tasks:\n%s\n"
                    % "\n".join("    - " + t for t in tasks))
    lab.playbook(book, inventory=lab.inventory(connection=connection), env=env)
    return json.loads(trips.read_text())


@pytest.mark.parametrize("connection", ["winrm", "psrp"])
def test_one_module_task_is_its_commands_on_the_wire(lab, tmp_path, connection):
    lab.host("win")
    counters = tmp_path / "wire.json"
    lab.serve("win", options=("--port", "0", "--counters", str(counters)))
    idle = json.loads(counters.read_text())["hosts"]["win"]
    assert idle == {"requests": 0, "bytes_in": 0, "bytes_out": 0,
                    "commands": {"agent": 0, "put_file": 0, "fetch_file": 0, "refused": 0}}
    stats = lab.stats("win")

    tasks = run_counted(lab, connection, [LOCAL_DUMPS_TASK, LOCAL_DUMPS_TASK], counters)
    # On a clean host local_dumps reads then writes: two batches; then only the read.
    first, second = (t["wire"]["win"] for t in tasks)
    assert first["commands"] == {"agent": 2, "put_file": 0, "fetch_file": 0, "refused": 0}
    assert second["commands"] == {"agent": 1, "put_file": 0, "fetch_file": 0, "refused": 0}
    assert [t["executions"]["win"] for t in tasks] == [2, 1]

    total = json.loads(counters.read_text())["hosts"]["win"]
    for key in ("requests", "bytes_in", "bytes_out"):
        assert total[key] == first[key] + second[key]
    after = lab.stats("win")
    # The host model ran what the wire carried, and the wire carried more: envelopes, base64, NTLM sealing.
    assert after["round_trips"] - stats["round_trips"] == total["commands"]["agent"] == 3
    assert total["bytes_in"] > after["bytes_sent"] - stats["bytes_sent"] > 0
    assert total["bytes_out"] > after["bytes_received"] - stats["bytes_received"] > 0
    # Every command costs requests of its own (Command or pipeline, Send, Receive), beside the handshake.
    for task in (first, second):
        assert task["requests"] >= 3 * task["commands"]["agent"] + 2
        assert task["bytes_in"] > 0 and task["bytes_out"] > 0


def test_fetch_file_and_refused_commands_are_counted(lab, tmp_path):
    lab.host("win", {"registry": {LOCAL_DUMPS + "\\netsh.exe": {"values": {
        "DumpType": {"type": "REG_DWORD", "data": 2}}}}})
    counters = tmp_path / "wire.json"
    served = lab.serve("win", options=("--port", "0", "--counters", str(counters)))
    dump = json.loads(lab.labctl("crash", "win", "netsh.exe", "--dump-size", "3000000"))["dump"]
    # What ansible.builtin.fetch does after its remote stat: the connection's fetch_file, 512 KiB per command.
    conn = winrm_connection(served, "win")
    conn.fetch_file(dump["path"], str(tmp_path / "copy.dmp"))
    conn.close()
    assert (tmp_path / "copy.dmp").stat().st_size == dump["size"]
    fetched = json.loads(counters.read_text())["hosts"]["win"]
    assert fetched["commands"] == {"agent": 0, "put_file": 0, "fetch_file": dump["size"] // (512 * 1024) + 1,
                                   "refused": 0}
    assert fetched["bytes_out"] > dump["size"] * 4 // 3  # base64 in the Receive responses

    tasks = run_counted(lab, "winrm", ["ansible.builtin.raw: whoami\n      ignore_errors: true"], counters)
    assert tasks[0]["wire"]["win"]["commands"] == {"agent": 0, "put_file": 0, "fetch_file": 0, "refused": 1}


def test_counters_option_is_in_the_help():
    out = subprocess.run([str(REPO / "lab" / "labctl"), "serve", "--help"], capture_output=True, text=True,
                         check=True).stdout
    assert "--counters FILE" in out and '"bytes_in"' in out
