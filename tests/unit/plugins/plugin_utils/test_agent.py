"""The agent transport: fixed command, data-only payload, strict result parsing."""

import base64
import gzip
import json
from pathlib import Path

import pytest

from ansible_collections.crashdump.windows.plugins.plugin_utils import _agent

PLUGIN_UTILS = Path(_agent.__file__).parent
HOSTILE = [
    "a';Remove-Item C:\\ -Recurse;'.exe",
    'x".exe',
    "$(Stop-Computer).exe",
    "`whoami`.exe",
    "a;b.exe",
    "line1\nline2.exe",
    "\u2018smart\u2019.exe",
    "#crashdump.windows:batch#",
]


def test_command_is_the_fixed_bootstrap():
    cmd = _agent.build_command()
    prefix, encoded = cmd.rsplit(" ", 1)
    assert prefix == _agent.POWERSHELL_PREFIX
    script = base64.b64decode(encoded).decode("utf-16-le")
    assert script == (PLUGIN_UTILS / "bootstrap.ps1").read_text(encoding="ascii")


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_travel_only_as_json_data(name):
    ops = [{"op": "reg_read", "key": "HKLM\\SOFTWARE\\" + name, "view": 64},
           {"op": "path_stat", "path": "C:\\" + name}]
    cmd = _agent.build_command()
    payload = _agent.build_payload(ops).decode("ascii")
    lines = payload.split("\n")
    sep = lines.index(_agent.SEPARATOR)
    assert sep == 1
    packed = lines[0]
    script = gzip.decompress(base64.b64decode(packed, validate=True)).decode("ascii")
    agent = (PLUGIN_UTILS / "agent.ps1").read_text(encoding="ascii").replace("\r\n", "\n").rstrip("\n")
    # The script part is the agent, byte for byte, whatever the ops; the command never changes.
    assert script == agent and packed == _agent.packed_agent()
    assert cmd == _agent.build_command()
    # Exactly one data line follows, and it decodes back to the same ops.
    assert lines[sep + 1:] == [lines[sep + 1], ""]
    assert json.loads(lines[sep + 1])["ops"] == ops
    assert lines.count(_agent.SEPARATOR) == 1
    if name == _agent.SEPARATOR:
        return
    # The name is nowhere in the code that runs: not in the command, not in the script.
    assert name not in script and name not in packed
    assert name not in base64.b64decode(cmd.rsplit(" ", 1)[1]).decode("utf-16-le")


def test_the_agent_travels_packed_at_under_a_third_of_its_size():
    agent = (PLUGIN_UTILS / "agent.ps1").read_bytes()
    assert len(_agent.packed_agent()) * 3 < len(agent)
    assert len(_agent.build_payload([{"op": "os_facts"}])) < len(_agent.packed_agent()) + 200


def test_payload_is_ascii_even_for_unicode_data():
    payload = _agent.build_payload([{"op": "path_stat", "path": "C:\\Dumps\\\u00e9t\u00e9"}])
    payload.decode("ascii")
    assert b"\\u00e9" in payload


def _reply(results):
    return json.dumps({"version": 1, "results": results}).encode()


def test_parse_output_takes_the_last_json_line():
    ops = [{"op": "os_facts"}]
    out = b"noise\r\n" + _reply([{"ok": True, "data": {"build": 20348}}]) + b"\r\n"
    assert _agent.parse_output(ops, 0, out, b"") == [{"ok": True, "data": {"build": 20348}}]


def test_parse_output_refuses_a_short_batch():
    ops = [{"op": "os_facts"}, {"op": "os_facts"}]
    with pytest.raises(_agent.AgentError, match="1 results for 2 operations"):
        _agent.parse_output(ops, 0, _reply([{"ok": True, "data": {}}]), b"")


def test_parse_output_without_result_decodes_clixml_stderr():
    stderr = (b'#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
              b'<S S="Error">The term \'x\' is not recognized_x000D__x000A_</S>'
              b'<S S="Error">At line:1 char:1_x000D__x000A_</S></Objs>')
    with pytest.raises(_agent.AgentError) as e:
        _agent.parse_output([{"op": "os_facts"}], 1, b"", stderr)
    assert "The term 'x' is not recognized\r\nAt line:1 char:1" in str(e.value)
    assert "CLIXML" not in str(e.value)


def test_decode_clixml_passes_plain_text():
    assert _agent.decode_clixml(b"plain error\n") == "plain error"


def test_refused_batch_is_reported():
    with pytest.raises(_agent.AgentError, match="refused the batch: bad json"):
        _agent.parse_output([{"op": "os_facts"}], 1, b'{"version":1,"error":"bad json"}', b"")


def test_operation_error_names_op_path_value_view_and_windows_error():
    op = {"op": "reg_set", "key": "HKLM\\SOFTWARE\\X", "view": 32, "name": "DumpType"}
    results = [{"ok": False, "error": {"message": "Access is denied.", "type": "System.UnauthorizedAccessException",
                                       "hresult": -2147024891}}]
    with pytest.raises(_agent.OperationError) as e:
        _agent.check_results([op], results)
    msg = str(e.value)
    assert msg.startswith("reg_set failed on HKLM\\SOFTWARE\\X (value 'DumpType') in the 32-bit registry view")
    assert "Access is denied." in msg and "UnauthorizedAccessException" in msg and "0x80070005" in msg


def test_skipped_operations_are_not_errors():
    _agent.check_results([{"op": "os_facts"}], [{"ok": False, "skipped": True}])
