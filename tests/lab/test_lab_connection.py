"""The crashdump_lab connection plugin and the transport behind it: what it
accepts, what it counts, how it moves files and how it fails on purpose."""

from __future__ import annotations

import base64
import gzip
import importlib.util
import io
import json
import os

import pytest
from ansible.errors import AnsibleConnectionFailure, AnsibleError
from ansible.playbook.play_context import PlayContext
from ansible.plugins.loader import connection_loader

from crashdump_lab import ConnectionDropped, TransferError, Transport, arm_fault, load_state, open_host, seed_host
from crashdump_lab import transport as lab_transport

HOST = "lab-win2022"
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BOOTSTRAP = "# stand-in bootstrap\r\n$x = 1\r\n"
AGENT = "param([string]$BatchJson)\n# stand-in agent\n"
MIB = 1024 * 1024


@pytest.fixture
def scripts(tmp_path, monkeypatch):
    """Small stand-ins for bootstrap.ps1 and agent.ps1."""
    folder = tmp_path / "plugin_utils"
    folder.mkdir()
    (folder / "bootstrap.ps1").write_text(BOOTSTRAP, newline="")
    (folder / "agent.ps1").write_text(AGENT, newline="")
    monkeypatch.setattr(lab_transport, "SCRIPTS_DIR", str(folder))
    return folder


def command(text=BOOTSTRAP):
    return lab_transport.COMMAND_PREFIX + base64.b64encode(text.encode("utf-16-le")).decode()


def pack(agent):
    """The agent as build_payload packs it: base64 of its gzip."""
    return base64.b64encode(gzip.compress(agent.encode("utf-8"))).decode()


def stdin(batch, agent=AGENT):
    return ("%s\n#crashdump.windows:batch#\n%s\n" % (pack(agent), json.dumps(batch))).encode()


BATCH = {"version": 1, "stop_on_error": True, "ops": [{"op": "os_facts"}]}


@pytest.fixture
def conn(state_dir):
    connection_loader.add_directory(os.path.join(REPO, "lab", "connection_plugins"))
    connection = connection_loader.get("crashdump_lab", PlayContext())
    connection.set_options(direct={"remote_addr": HOST, "state_dir": state_dir})
    return connection


def test_plugin_identity(conn):
    assert conn.transport == "crashdump_lab" and conn.has_pipelining is True and conn.allow_executable is False
    assert conn.module_implementation_preferences == (".ps1", ".exe", "")
    assert conn._shell.SHELL_FAMILY == "powershell"


def test_exec_runs_the_batch_and_counts(conn, scripts, state_dir):
    cmd, data = command(), stdin(BATCH)
    rc, out, err = conn.exec_command(cmd, in_data=data)
    assert rc == 0 and err == b"" and out.endswith(b"\r\n") and out.count(b"\n") == 1 and out.isascii()
    reply = json.loads(out)
    assert reply["results"][0]["data"]["hostname"] == "LAB-WIN2022"
    counters = load_state(state_dir, HOST)["counters"]
    assert counters == {"round_trips": 1, "bytes_sent": len(cmd) + len(data), "bytes_received": len(out),
                        "fetch_round_trips": 0, "fetch_bytes": 0}


def test_line_endings_and_bom_do_not_matter(conn, scripts):
    agent_crlf = "\ufeff" + AGENT.replace("\n", "\r\n")
    rc, out, _err = conn.exec_command(command(BOOTSTRAP.replace("\r\n", "\n")), in_data=stdin(BATCH, agent_crlf))
    assert rc == 0


@pytest.mark.parametrize("cmd", ["whoami", "PowerShell -NoProfile -Command Get-Date",
                                 command("Remove-Item C:\\ -Recurse"), command(BOOTSTRAP)[:-4] + "!!!!"])
def test_refuses_anything_but_the_bootstrap(conn, scripts, cmd):
    rc, out, err = conn.exec_command(cmd, in_data=stdin(BATCH))
    assert rc == 1 and out == b"" and b"refused" in err


@pytest.mark.parametrize("data", [
    None, b"", stdin(BATCH, agent="Invoke-Expression $BatchJson\n"),
    stdin(BATCH)[:-1] + b"\nextra line\n", AGENT.encode() + b"{}\n",
    ("%s\n#crashdump.windows:batch#\n%s\n" % (AGENT.rstrip("\n"), json.dumps(BATCH))).encode(),
    b"not base64!\n#crashdump.windows:batch#\n" + json.dumps(BATCH).encode() + b"\n",
    base64.b64encode(AGENT.encode()) + b"\n#crashdump.windows:batch#\n" + json.dumps(BATCH).encode() + b"\n",
    b"x\n" + stdin(BATCH),
    stdin({"version": 1, "ops": [{"op": "path_stat", "path": "C:\\\u00e9"}]}).replace(b"\\u00e9", "\u00e9".encode())])
def test_refuses_stdin_that_is_not_agent_plus_one_ascii_batch_line(conn, scripts, data):
    rc, out, err = conn.exec_command(command(), in_data=data)
    assert rc == 1 and b"refused" in err


def test_missing_scripts_are_a_refusal(conn, scripts):
    (scripts / "agent.ps1").unlink()
    rc, _out, err = conn.exec_command(command(), in_data=stdin(BATCH))
    assert rc == 1 and b"agent.ps1 is missing" in err


def test_malformed_batch_gets_the_agents_error_line(conn, scripts):
    rc, out, _err = conn.exec_command(command(), in_data=stdin({"version": 9, "ops": []}))
    assert rc == 1 and json.loads(out)["error"].startswith("agent: invalid batch")


def test_the_real_bootstrap_and_agent(conn):
    path = os.path.join(REPO, "plugins", "plugin_utils", "_agent.py")
    if not all(os.path.exists(os.path.join(REPO, "plugins", "plugin_utils", n))
               for n in ("_agent.py", "agent.ps1", "bootstrap.ps1")):
        pytest.skip("the collection's agent files are not there yet")
    spec = importlib.util.spec_from_file_location("crashdump_agent_transport", path)
    agent = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(agent)
    ops = [{"op": "service_state", "name": "WerSvc"}]
    rc, out, err = conn.exec_command(agent.build_command(), in_data=agent.build_payload(ops))
    assert (rc, err) == (0, b"") and json.loads(out)["results"][0]["data"]["exists"] is True


def test_put_file_counts_stdin_chunks(conn, state_dir, tmp_path):
    local = tmp_path / "payload.bin"
    local.write_bytes(b"x" * 450_000)
    conn.put_file(str(local), "C:\\ProgramData\\payload.bin")
    state = load_state(state_dir, HOST)
    assert state["files"]["C:\\ProgramData\\payload.bin"]["size"] == 450_000
    assert state["counters"]["round_trips"] == 3 and state["counters"]["bytes_sent"] == 450_000
    with pytest.raises(AnsibleError):
        conn.put_file(str(local), "C:\\NoFolder\\payload.bin")


def _seed_file(state_dir, size):
    seed_host(state_dir, HOST, {"files": {"C:\\WER\\big.dmp": {"size": size}}})


@pytest.mark.parametrize("size, trips", [(0, 1), (1000, 1), (MIB // 2, 2), (MIB + 7, 3)])
def test_fetch_file_one_round_trip_per_512k_chunk(conn, state_dir, tmp_path, size, trips):
    _seed_file(state_dir, size)
    out = tmp_path / "big.dmp"
    conn.fetch_file("C:\\WER\\big.dmp", str(out))
    with open_host(state_dir, HOST) as lab:
        assert out.read_bytes() == lab.files.read_file("C:\\WER\\big.dmp")
    counters = load_state(state_dir, HOST)["counters"]
    assert counters["fetch_round_trips"] == trips and counters["fetch_bytes"] == size
    assert counters["round_trips"] == 0


def test_fetch_missing_file_and_folder(conn, state_dir, tmp_path):
    with pytest.raises(AnsibleError, match="failed to transfer"):
        conn.fetch_file("C:\\nope.dmp", str(tmp_path / "nope"))
    assert not (tmp_path / "nope").exists()
    conn.fetch_file("C:\\Windows", str(tmp_path / "dir"))
    assert not (tmp_path / "dir").exists()
    assert load_state(state_dir, HOST)["counters"]["fetch_round_trips"] == 2


def test_fault_drops_fetch_mid_transfer(conn, state_dir, tmp_path):
    _seed_file(state_dir, 2 * MIB)
    with open_host(state_dir, HOST) as lab:
        arm_fault(lab.state, "fetch:2")
    out = tmp_path / "partial.dmp"
    with pytest.raises(AnsibleConnectionFailure):
        conn.fetch_file("C:\\WER\\big.dmp", str(out))
    assert out.stat().st_size == MIB  # two chunks arrived
    state = load_state(state_dir, HOST)
    assert state["faults"] == [] and state["counters"]["fetch_round_trips"] == 3
    conn.fetch_file("C:\\WER\\big.dmp", str(out))  # consumed: the retry works
    assert out.stat().st_size == 2 * MIB


def test_fault_drops_the_nth_exec_before_it_runs(conn, scripts, state_dir):
    with open_host(state_dir, HOST) as lab:
        arm_fault(lab.state, "exec:2")
    create = {"version": 1, "ops": [{"op": "reg_create_key", "key": "HKLM\\SOFTWARE\\Lab", "view": 64}]}
    assert conn.exec_command(command(), in_data=stdin(BATCH))[0] == 0
    with pytest.raises(AnsibleConnectionFailure):
        conn.exec_command(command(), in_data=stdin(create))
    state = load_state(state_dir, HOST)
    assert "HKLM\\SOFTWARE\\Lab" not in state["registry"] and state["counters"]["round_trips"] == 2
    assert conn.exec_command(command(), in_data=stdin(create))[0] == 0


def test_fault_after_runs_the_batch_but_loses_the_reply(state_dir, scripts):
    transport = Transport(state_dir, HOST)
    with open_host(state_dir, HOST) as lab:
        arm_fault(lab.state, "exec:1:after")
    create = {"version": 1, "ops": [{"op": "reg_create_key", "key": "HKLM\\SOFTWARE\\Lab", "view": 64}]}
    with pytest.raises(ConnectionDropped):
        transport.exec_command(command(), stdin(create))
    assert "HKLM\\SOFTWARE\\Lab" in load_state(state_dir, HOST)["registry"]


def test_fault_specs(state_dir):
    with open_host(state_dir, HOST) as lab:
        assert arm_fault(lab.state, "exec:3") == [{"on": "exec", "remaining": 2, "phase": "before"}]
        assert len(arm_fault(lab.state, "fetch:0")) == 2
        assert arm_fault(lab.state, "clear") == []
        assert arm_fault(lab.state, "receive:fetch_file:1:reset:3") == [
            {"on": "receive:fetch_file", "remaining": 0, "effect": "reset", "receive": 3}]
        assert arm_fault(lab.state, "receive:agent:2:timeout")[-1]["receive"] == 1
        assert arm_fault(lab.state, "clear") == []
        for bad in ("exec:0", "drop", "fetch:-1", "receive:agent:0:reset", "receive:agent:1:reset:0"):
            with pytest.raises(ValueError):
                arm_fault(lab.state, bad)


def test_transport_errors_are_typed(state_dir):
    transport = Transport(state_dir, HOST)
    with pytest.raises(TransferError):
        transport.fetch_file("relative\\path", io.BytesIO())
