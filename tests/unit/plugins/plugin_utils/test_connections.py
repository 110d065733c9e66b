"""The batch reaches PowerShell intact through ansible-core's own Windows connections.

No Windows host is needed: each connection plugin is driven up to the point
where it hands the command and standard input to its transport library,
which is replaced by a recorder.
"""

import base64

from ansible.playbook.play_context import PlayContext
from ansible.plugins.loader import connection_loader, shell_loader

from ansible_collections.crashdump.windows.plugins.plugin_utils import _agent

OPS = [{"op": "reg_read", "key": "HKLM\\SOFTWARE\\a';$(x)`\"b", "view": 64}]


def connection(name):
    play_context = PlayContext()
    play_context.remote_addr = "win.example.com"
    conn = connection_loader.get(name, play_context, None)
    conn.set_options(direct={"remote_user": "admin", "password": "secret"})
    assert conn._shell.SHELL_FAMILY == "powershell"
    # Connected already, as far as exec_command can tell: no network here.
    conn._connected = True
    conn._connect = lambda: conn
    return conn


def test_winrm_runs_the_bootstrap_once_and_streams_the_payload(monkeypatch):
    conn = connection("winrm")
    seen = {}

    def fake_exec(command, args, from_exec=False, stdin_iterator=None):
        seen["argv"] = [command, *args]
        seen["stdin"] = b"".join(chunk for chunk, _last in stdin_iterator)
        return 0, b'{"version":1,"results":[{"ok":true,"data":{}}]}\r\n', b""

    monkeypatch.setattr(conn, "_winrm_exec", fake_exec)
    payload = _agent.build_payload(OPS)
    rc, stdout, _stderr = conn.exec_command(_agent.build_command(), in_data=payload)
    # Not wrapped in a second PowerShell: the argv is the bootstrap command itself.
    assert " ".join(seen["argv"]) == _agent.build_command()
    assert seen["stdin"] == payload
    assert _agent.parse_output(OPS, rc, stdout, b"")[0]["ok"]


def test_psrp_runs_the_bootstrap_in_its_runspace_with_the_payload_as_input(monkeypatch):
    conn = connection("psrp")
    conn._psrp_host = "win.example.com"  # set by _connect, which is skipped
    seen = {}

    def fake_exec(script, input_data=None, use_local_scope=True, arguments=None):
        seen["script"], seen["input"] = script, input_data
        return 0, b'{"version":1,"results":[{"ok":true,"data":{}}]}', b""

    monkeypatch.setattr(conn, "_exec_psrp_script", fake_exec)
    payload = _agent.build_payload(OPS)
    conn.exec_command(_agent.build_command(), in_data=payload)
    bootstrap = base64.b64decode(_agent.build_command().rsplit(" ", 1)[1]).decode("utf-16-le")
    assert seen["script"] == bootstrap
    # psrp feeds input line by line; the bootstrap reads lines, so nothing is lost.
    assert seen["input"] == payload.decode("ascii").splitlines()


def test_ssh_with_the_powershell_shell_wraps_the_bootstrap_and_pipes_the_payload(monkeypatch):
    play_context = PlayContext()
    play_context.remote_addr = "win.example.com"
    conn = connection_loader.get("ssh", play_context, None, shell=shell_loader.get("powershell"))
    conn.set_options(direct={"remote_user": "admin"})
    seen = {}

    def fake_run(cmd, in_data, sudoable=True, checkrc=True):
        seen["cmd"], seen["in_data"] = cmd, in_data
        return 0, b"", b""

    monkeypatch.setattr(conn, "_run", fake_run)
    payload = _agent.build_payload(OPS)
    conn.exec_command(_agent.build_command(), in_data=payload)
    remote = seen["cmd"][-1].decode() if isinstance(seen["cmd"][-1], bytes) else seen["cmd"][-1]
    # ssh runs `chcp 65001 && PowerShell ... -EncodedCommand X`, where X is the bootstrap (ansible-core 2.19)
    # or a script running the bootstrap command (older cores).
    script = base64.b64decode(remote.rsplit(" ", 1)[1]).decode("utf-16-le")
    bootstrap = base64.b64decode(_agent.build_command().rsplit(" ", 1)[1]).decode("utf-16-le")
    assert script in (bootstrap, _agent.build_command())
    assert seen["in_data"] == payload
