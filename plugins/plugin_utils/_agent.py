# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a batch of agent operations on a Windows host over the task's connection.

One batch is one remote execution. The command line is fixed (the bootstrap,
never anything from the user); the agent script (compressed) and the batch
JSON travel on standard input, so operation arguments are data and cannot
become code.
See docs/docsite/rst/agent_protocol.rst.
"""

from __future__ import annotations

import base64
import functools
import gzip
import json
import os
import re
import xml.etree.ElementTree as ET

from ansible.errors import AnsibleError

from ansible_collections.crashdump.windows.plugins.plugin_utils._connection_error import batch_interrupted

PROTOCOL_VERSION = 1
SEPARATOR = "#crashdump.windows:batch#"
POWERSHELL_PREFIX = "PowerShell -NoProfile -NonInteractive -ExecutionPolicy Unrestricted -EncodedCommand"

_HERE = os.path.dirname(os.path.abspath(__file__))


class AgentError(AnsibleError):
    """The batch as a whole failed: nothing parseable came back."""


class OperationError(AnsibleError):
    """One operation of a batch failed on the host."""

    def __init__(self, message, op=None, result=None):
        super().__init__(message)
        self.op = op
        self.result = result


def _read_script(name):
    with open(os.path.join(_HERE, name), encoding="ascii") as f:
        return f.read()


def build_command():
    """The fixed command line: the bootstrap, encoded as PowerShell expects."""
    encoded = base64.b64encode(_read_script("bootstrap.ps1").encode("utf-16-le")).decode("ascii")
    return "%s %s" % (POWERSHELL_PREFIX, encoded)


@functools.lru_cache(maxsize=1)
def packed_agent():
    """The agent script as the bootstrap unpacks it: one line of base64 of its gzip (a quarter of its size)."""
    script = _read_script("agent.ps1").replace("\r\n", "\n").rstrip("\n")
    return base64.b64encode(gzip.compress(script.encode("ascii"), 9, mtime=0)).decode("ascii")


def build_payload(ops, stop_on_error=True):
    """Standard input: the packed agent, the separator line, one line of ASCII JSON."""
    batch = {"version": PROTOCOL_VERSION, "stop_on_error": stop_on_error, "ops": list(ops)}
    # ensure_ascii keeps the payload immune to console code pages.
    line = json.dumps(batch, ensure_ascii=True, separators=(",", ":"))
    return ("%s\n%s\n%s\n" % (packed_agent(), SEPARATOR, line)).encode("ascii")


_CLIXML_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_CLIXML_DOCUMENT = re.compile(r"<Objs\b.*?</Objs>", re.DOTALL)


def decode_clixml(stderr):
    """PowerShell's standard error as plain text: the Error-stream strings of every CLIXML document in it.

    powershell.exe with redirected streams writes ``#< CLIXML`` and one
    ``<Objs>`` document per burst; a host may hold several, with progress
    records (``<Obj S="progress">``, the PROGRESS_RECORD of [MS-PSRP]
    2.2.2.25, such as "Preparing modules for first use.") beside the error
    strings (``<S S="Error">``). Progress is not an error: it is dropped, as
    ansible-core's ``_parse_clixml`` (ansible/plugins/shell/powershell.py,
    used by the winrm connection) drops it. The winrm connection has already
    decoded a stderr that starts with the marker; ssh passes it raw.
    Text outside the documents passes through.
    """
    text = stderr.decode("utf-8", errors="replace") if isinstance(stderr, bytes) else (stderr or "")
    if "#< CLIXML" not in text:
        return text.strip()
    parts = []

    def decode(match):
        try:
            root = ET.fromstring(match.group(0))
        except ET.ParseError:
            return match.group(0)
        strings = [el.text or "" for el in root.iter() if el.tag.endswith("}S") and el.get("S") == "Error"]
        parts.append(_CLIXML_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), "".join(strings)).strip())
        return ""

    rest = _CLIXML_DOCUMENT.sub(decode, text).replace("#< CLIXML", "").strip()
    return "\n".join(p for p in parts + [rest] if p)


def describe_error(op, error):
    """A message naming the operation, what it acted on and the Windows error."""
    # The agent's path already names the value (key\\name); fall back to the op's own.
    target = error.get("path") or op.get("key") or op.get("path") or ""
    if not error.get("path") and op.get("name") is not None and op.get("key"):
        target = "%s (value %r)" % (target, op["name"])
    if op.get("view"):
        target = "%s in the %s-bit registry view" % (target, op["view"])
    detail = error.get("message") or "unknown error"
    extra = [x for x in (error.get("type"), _hresult(error.get("hresult"))) if x]
    return "%s failed on %s: %s%s" % (
        op.get("op", "?"), target or "the host", detail, " [%s]" % ", ".join(extra) if extra else "")


def _hresult(value):
    if isinstance(value, int):
        return "HRESULT 0x%08X" % (value & 0xFFFFFFFF)
    return None


def parse_output(ops, rc, stdout, stderr):
    """Validate the agent's reply: exactly one result per operation, in order."""
    text = stdout.decode("utf-8", errors="replace") if isinstance(stdout, bytes) else (stdout or "")
    reply = None
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                reply = json.loads(line)
            except ValueError:
                continue
            break
    err_text = decode_clixml(stderr)
    if not isinstance(reply, dict):
        raise AgentError("the crashdump.windows agent returned no result (rc=%s): %s" % (
            rc, err_text or text.strip()[:2000] or "no output"))
    if reply.get("error"):
        raise AgentError("the crashdump.windows agent refused the batch: %s%s" % (
            reply["error"], "; " + err_text if err_text else ""))
    results = reply.get("results")
    if not isinstance(results, list) or len(results) != len(ops):
        raise AgentError("the crashdump.windows agent returned %s results for %d operations" % (
            len(results) if isinstance(results, list) else "no", len(ops)))
    return results


def execute_batch(action, ops, stop_on_error=True):
    """Run ``ops`` in one remote execution; returns their results in order."""
    ops = list(ops)
    try:
        res = action._low_level_execute_command(
            build_command(), sudoable=False, in_data=build_payload(ops, stop_on_error))
    except Exception as e:  # pylint: disable=broad-exception-caught  # winrm and psrp let their libraries' errors through
        raise batch_interrupted(ops, e) from e
    return parse_output(ops, res.get("rc"), res.get("stdout", ""), res.get("stderr", ""))


def check_results(ops, results):
    """Raise OperationError for the first failed operation of a batch."""
    for op, result in zip(ops, results):
        if not result.get("ok") and not result.get("skipped"):
            raise OperationError(describe_error(op, result.get("error") or {}), op=op, result=result)
