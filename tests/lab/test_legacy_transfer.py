"""ansible-core 2.16's own put_file and fetch_file scripts (winrm and psrp)
against the lab's file model (lab/crashdump_lab/wsman/legacy_transfer.py).

The scripts' text is ansible-core's: it is never copied here. With
ansible-core 2.16 the tests take it from the installed connection plugins
(what they send to a served host) and check the digests the lab knows; with
any ansible-core the normaliser and the $fs model of a runspace pool are
tested with stand-in scripts given the digests' places."""

from __future__ import annotations

import base64
import os
from types import SimpleNamespace

import pytest
from ansible.release import __version__ as ansible_version

from crashdump_lab.wsman import legacy_transfer as legacy
from crashdump_lab.wsman.psrp_runner import PipelineRunner
from crashdump_lab.wsman.runner import CANNOT_RUN, POWERSHELL_PREFIX, Runner, decode_command
from tests.lab.test_psrp_endpoint import psrp_connection
from tests.lab.test_winrm_endpoint import winrm_connection

ON_2_16 = pytest.mark.skipif(not ansible_version.startswith("2.16."),
                             reason="the scripts are ansible-core 2.16's (installed: %s)" % ansible_version)
TEMP = "C:\\Windows\\Temp"


def encoded(script):
    return POWERSHELL_PREFIX + base64.b64encode(script.encode("utf-16-le")).decode("ascii")


def command(text, *args, local=True):
    """What psrpcore makes of a pipeline's one script with positional arguments."""
    return SimpleNamespace(command_text=text, is_script=True, use_local_scope=local,
                           parameters=[(None, a) for a in args])


def runners(lab, kinds):
    """The lab's WinRS and PSRP runners of host "win", counting kinds into ``kinds``."""
    runner = Runner(str(lab.state_dir), "win", count=kinds.append)
    return runner, PipelineRunner(runner)


def test_the_quoted_path_is_unescaped_as_powershell_reads_single_quotes():
    assert legacy.unescape("C:\\it''s") == "C:\\it's"
    assert legacy.unescape("a\u2019\u2019b\u2018'c") == "a\u2019b'c"  # of two quotes the second stays
    text, slots = legacy.normalise("x\n$path = 'C:\\it''s'\n$buffer_size = 512\n$offset = 1024\ny")
    assert text == "x\n$path = {path}\n$buffer_size = {buffer_size}\n$offset = {offset}\ny"
    assert slots == {"path": "C:\\it's", "buffer_size": 512, "offset": 1024}
    # A literal a lone quote ends early is no slot: the text stays as it is.
    assert legacy.normalise("$path = 'a'b'") == ("$path = 'a'b'", {})


def test_other_scripts_with_the_slots_are_refused(lab):
    lab.host("win")
    kinds = []
    runner, pipelines = runners(lab, kinds)
    rc, out, err = runner.run(encoded("$path = 'C:\\x'\n$buffer_size = 1\n$offset = 0\nRemove-Item $path"), b"")
    assert (rc, out) == (1, b"") and CANNOT_RUN.encode() in err
    outcome = pipelines.run([command("param([string]$Path)\nRemove-Item $Path", "C:\\x", local=False)], [])
    assert outcome.failure.startswith(CANNOT_RUN)
    outcome = pipelines.run([command("$fs.Close() ")], [])  # not the close of a fetch either
    assert outcome.failure.startswith(CANNOT_RUN)
    assert kinds == ["refused"] * 3


def test_the_fs_stream_lives_in_its_runspace_pool(lab, monkeypatch):
    # Stand-ins for the setup and read scripts, recognised by their own digests.
    monkeypatch.setattr(legacy, "PSRP_FETCH_OPEN", legacy.digest("open"))
    monkeypatch.setattr(legacy, "PSRP_FETCH_READ", legacy.digest("read"))
    lab.host("win")
    kinds = []
    runner, pipelines = runners(lab, kinds)
    data = os.urandom(2500)
    runner.put(TEMP + "\\blob.bin", [base64.b64encode(data)])
    pool, other = {}, {}

    def run(variables, text, *args, local=True):
        return pipelines.run([command(text, *args, local=local)], [], variables)

    # No $fs yet: the read fails; so does a close, as an error record only ("Stop" is not set yet).
    assert run(pool, "read", 0, 1000).failure == legacy.NULL_METHOD
    closed = run(pool, "$fs.Close()")
    assert closed.failure is None and closed.errors == [legacy.NULL_METHOD]
    # Opened in the local scope, $fs is gone with the pipeline.
    assert run(pool, "open", TEMP + "\\blob.bin").outputs == []
    assert run(pool, "read", 0, 1000).failure == legacy.NULL_METHOD
    assert run(pool, "open", TEMP + "\\blob.bin", local=False).outputs == []
    chunks = [run(pool, "read", offset, 1000).outputs for offset in (0, 1000, 2000, 2500)]
    assert [base64.b64decode(c) for c, in chunks[:3]] == [data[:1000], data[1000:2000], data[2000:]]
    assert chunks[3] == []
    assert run(other, "read", 0, 1000).failure == legacy.NULL_METHOD  # another pool has no $fs
    assert run(pool, "$fs.Close()").failure is None
    assert "Cannot access a closed file" in run(pool, "read", 0, 1000).failure
    # A folder: "[DIR]"; nothing there: the Write-Error "Stop" makes terminating.
    assert run(other, "open", TEMP, local=False).outputs == ["[DIR]"]
    missing = run(other, "open", TEMP + "\\missing.bin", local=False)
    assert missing.failure == TEMP + "\\missing.bin does not exist" and missing.exit_code is None
    assert missing.record == legacy.WRITE_ERROR_RECORD
    assert run(other, "$fs.Close()").failure == legacy.NULL_METHOD  # "Stop" left in the pool
    assert set(kinds) == {"fetch_file"}
    assert run(pool, "read", "x", 1000).failure.startswith(CANNOT_RUN)  # offset not a number


def capture(conn, method, sent):
    """Record the first argument of each call of ``conn.method`` (and call it)."""
    original = getattr(conn, method)

    def recording(first, *args, **kwargs):
        sent.append((first, args, kwargs))
        return original(first, *args, **kwargs)

    setattr(conn, method, recording)


def put_and_fetch_back(conn, method, size, remote, tmp_path):
    """Put ``size`` random bytes at ``remote`` and fetch them back through ``conn``; what ``conn.method``
    was called with, and the bytes."""
    sent = []
    capture(conn, method, sent)
    data = os.urandom(size)
    (tmp_path / "blob.bin").write_bytes(data)
    conn.put_file(str(tmp_path / "blob.bin"), remote)
    conn.fetch_file(remote, str(tmp_path / "back.bin"))
    assert (tmp_path / "back.bin").read_bytes() == data
    return sent, data


@ON_2_16
def test_winrm_put_and_fetch_of_ansible_core_2_16(lab, tmp_path):
    from ansible.errors import AnsibleError

    conn = winrm_connection(lab.serve(lab.host("win")), "win")
    remote = TEMP + "\\it's \u2019quoted\u2019.bin"
    sent, data = put_and_fetch_back(conn, "_winrm_exec", 600_000, remote, tmp_path)  # fetched in 2 x 512 KiB
    conn.fetch_file(TEMP, str(tmp_path / "folder"))  # "[DIR]": nothing written
    assert not (tmp_path / "folder").exists()
    with pytest.raises(AnsibleError, match="failed to transfer file"):
        conn.fetch_file(TEMP + "\\missing.bin", str(tmp_path / "missing"))
    conn.close()
    assert lab.state("win")["files"][remote]["size"] == len(data)
    scripts = [legacy.normalise(decode_command(" ".join([cmd, *args[0]]))) for cmd, args, _stdin in sent]
    assert [legacy.digest(text) for text, _slots in scripts] == [legacy.WINRM_PUT] + [legacy.WINRM_FETCH] * 4
    assert [slots.get("offset") for _text, slots in scripts[1:]] == [0, 512 * 1024, 0, 0]
    assert scripts[0][1] == {"path": remote} and scripts[1][1]["path"] == remote


@ON_2_16
def test_psrp_put_and_fetch_of_ansible_core_2_16(lab, tmp_path):
    from ansible.errors import AnsibleError

    conn = psrp_connection(lab.serve(lab.host("win")), "win")
    remote = TEMP + "\\it's.bin"
    sent, data = put_and_fetch_back(conn, "_exec_psrp_script", 300_000, remote, tmp_path)  # several reads
    # A folder: the setup's "[DIR]" is missed (2.16 compares its bytes stdout with a str); the read meets the
    # $fs the fetch before closed.
    with pytest.raises(AnsibleError, match="failed to transfer file.*Cannot access a closed file"):
        conn.fetch_file(TEMP, str(tmp_path / "folder"))
    with pytest.raises(AnsibleError, match="failed to setup file stream.*missing.bin does not exist"):
        conn.fetch_file(TEMP + "\\missing.bin", str(tmp_path / "missing"))
    conn.close()
    digests = [legacy.digest(script) if script != legacy.PSRP_FETCH_CLOSE else "close"
               for script, _args, _kwargs in sent]
    reads = digests.count(legacy.PSRP_FETCH_READ) - 1  # of the file; one more of the folder
    assert reads >= 2 and digests == [legacy.PSRP_PUT, legacy.PSRP_FETCH_OPEN] + [legacy.PSRP_FETCH_READ] * reads \
        + ["close", legacy.PSRP_FETCH_OPEN, legacy.PSRP_FETCH_READ, legacy.PSRP_FETCH_OPEN]
    assert sent[1][2] == {"use_local_scope": False, "arguments": [remote]}


@ON_2_16
def test_changed_scripts_of_ansible_core_2_16_are_refused(lab, tmp_path):
    """The real scripts, each changed by one character: refused, never run."""
    lab.host("win")
    served = lab.serve("win")
    winrm, psrp = winrm_connection(served, "win"), psrp_connection(served, "win")
    winrm_sent, psrp_sent = [], []
    capture(winrm, "_winrm_exec", winrm_sent)
    capture(psrp, "_exec_psrp_script", psrp_sent)
    (tmp_path / "small.txt").write_bytes(b"small\r\n")
    for conn in (winrm, psrp):
        conn.put_file(str(tmp_path / "small.txt"), TEMP + "\\small.txt")
        conn.fetch_file(TEMP + "\\small.txt", str(tmp_path / "back.txt"))
        conn.close()
    kinds = []
    runner, pipelines = runners(lab, kinds)
    for cmd, args, _stdin in winrm_sent[:2]:  # put_file, fetch_file
        script = decode_command(" ".join([cmd, *args[0]]))
        assert runner.run(encoded(script), b"")[0] in (0, 1)  # recognised as sent
        rc, out, err = runner.run(encoded(script.replace("Exit 1", "Exit 0").replace("Close()", "Close( )")),
                                  base64.b64encode(b"x") + b"\r\n")
        assert (rc, out) == (1, b"") and CANNOT_RUN.encode() in err
    for script, _args, kwargs in psrp_sent[:3]:  # put_file, the setup and the read of fetch_file
        changed = script.replace("$ErrorActionPreference = \"Stop\"", "$ErrorActionPreference = \"Continue\"")
        assert changed != script
        args = kwargs.get("arguments") or [TEMP + "\\small.txt"]
        outcome = pipelines.run([command(changed, *args, local=kwargs.get("use_local_scope", True))], [], {})
        assert outcome.failure.startswith(CANNOT_RUN)
    assert kinds == ["put_file", "refused", "fetch_file", "refused", "refused", "refused", "refused"]
