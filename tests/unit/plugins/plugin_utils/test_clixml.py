"""CLIXML on standard error: progress records are not errors, error records are decoded.

powershell.exe with redirected streams writes ``#< CLIXML`` and one <Objs> document per burst; the first
use of a module writes a progress record ([MS-PSRP] 2.2.2.25 PROGRESS_RECORD, serialized as <PR>) such
as "Preparing modules for first use.". ansible-core's winrm connection decodes a stderr that starts with
the marker (ansible/plugins/shell/powershell.py _parse_clixml); ssh passes it raw, several documents and all.
"""

import json

import pytest

from ansible_collections.crashdump.windows.plugins.plugin_utils import _agent

NS = 'Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04"'
PROGRESS = (
    '#< CLIXML\r\n<Objs %s><Obj S="progress" RefId="0"><TN RefId="0"><T>System.Management.Automation.PSCustomObject'
    '</T><T>System.Object</T></TN><MS><I64 N="SourceId">1</I64><PR N="Record"><AV>Preparing modules for first use.'
    '</AV><AI>0</AI><Nil /><PI>-1</PI><PC>-1</PC><T>Completed</T><SR>-1</SR><SD> </SD></PR></MS></Obj></Objs>'
    % NS).encode()
ERROR = ('#< CLIXML\r\n<Objs %s><S S="Error">bootstrap: cannot read _x0027_C:\\x_x0027__x000D__x000A_</S>'
         '<S S="Error">At line:1 char:1_x000D__x000A_</S></Objs>' % NS).encode()
OPS = [{"op": "os_facts"}]
REPLY = json.dumps({"version": 1, "results": [{"ok": True, "data": {"build": 20348}}]}).encode() + b"\r\n"


def test_progress_alone_is_no_error():
    assert _agent.decode_clixml(PROGRESS) == ""
    assert _agent.decode_clixml(PROGRESS + PROGRESS) == ""


def test_a_reply_with_progress_on_stderr_succeeds():
    assert _agent.parse_output(OPS, 0, REPLY, PROGRESS + PROGRESS) == [{"ok": True, "data": {"build": 20348}}]


def test_an_error_record_after_progress_is_decoded():
    text = _agent.decode_clixml(PROGRESS + b"\r\n" + ERROR)
    assert text == "bootstrap: cannot read 'C:\\x'\r\nAt line:1 char:1"
    with pytest.raises(_agent.AgentError) as e:
        _agent.parse_output(OPS, 1, b"", PROGRESS + ERROR)
    assert "bootstrap: cannot read 'C:\\x'" in str(e.value)
    assert "CLIXML" not in str(e.value) and "<Objs" not in str(e.value) and "Preparing" not in str(e.value)


def test_text_beside_the_documents_passes_through():
    assert _agent.decode_clixml(b"plain line\r\n" + PROGRESS) == "plain line"
