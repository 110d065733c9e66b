"""A host whose PowerShell writes progress records (#< CLIXML) on standard error: the batch still succeeds."""

from __future__ import annotations

import json

from ansible_collections.crashdump.windows.plugins.plugin_utils import _agent
from crashdump_lab import transport
from crashdump_lab.seed import seed_host


def test_the_lab_writes_progress_clixml_when_the_host_asks(state_dir):
    seed_host(state_dir, "noisy", {"os": {"progress_on_stderr": True}})
    ops = [{"op": "os_facts"}]
    noisy = transport.Transport(state_dir, "noisy")
    rc, out, err = noisy.exec_command(_agent.build_command(), _agent.build_payload(ops))
    assert rc == 0 and err.startswith(b"#< CLIXML\r\n<Objs ") and b'S="progress"' in err
    assert _agent.parse_output(ops, rc, out, err)[0]["ok"] is True
    seed_host(state_dir, "quiet", {})
    assert transport.Transport(state_dir, "quiet").exec_command(_agent.build_command(),
                                                                _agent.build_payload(ops))[2] == b""


def test_modules_succeed_with_progress_on_stderr(lab):
    lab.host("win", {"os": {"progress_on_stderr": True}})
    proc = lab.play("- crashdump.windows.preflight:\n    exe: app.exe\n")
    (result,) = [r for _host, r in proc.results]
    assert not result.get("failed") and result["findings"], json.dumps(result)[:2000]
