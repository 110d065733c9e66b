"""The lab's side of a connection: what a Windows host reached over WinRM
would do with a command, its standard input, a file put or a file fetch.

The lab never runs PowerShell. It accepts exactly one command, the
collection's bootstrap (PowerShell -EncodedCommand of
plugins/plugin_utils/bootstrap.ps1), and standard input that starts with
exactly plugins/plugin_utils/agent.ps1, packed as the bootstrap unpacks it
(one line of base64 of its gzip); the batch line after the separator is
executed by the protocol executor. Transfers move in the winrm connection's
sizes and every exchange is counted in the host's ``counters``.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import os
import zlib

from . import agent, errors, faults, redirector, state, winpath

SCRIPTS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                           "plugins", "plugin_utils")
COMMAND_PREFIX = "PowerShell -NoProfile -NonInteractive -ExecutionPolicy Unrestricted -EncodedCommand "
SEPARATOR = "#crashdump.windows:batch#"
STDIN_CHUNK = 200_000  # winrm sends standard input in pieces of this size, one message each
FETCH_CHUNK = 512 * 1024  # winrm fetch_file reads this much per command
# What the bootstrap prints, and exits 1, when an application control policy
# (WDAC, AppLocker) holds PowerShell in another language mode than FullLanguage.
LANGUAGE_MODE_ERROR = ("bootstrap: PowerShell runs in %s mode (an application control policy such as WDAC or "
                       "AppLocker is enforced); the crashdump.windows agent needs FullLanguage and cannot run on "
                       "this host")


# What powershell.exe with redirected streams writes on standard error when a progress record escapes
# (module loading: "Preparing modules for first use."): the #< CLIXML marker and a document holding a
# PROGRESS_RECORD ([MS-PSRP] 2.2.2.25, serialized as <PR>). ansible-core's winrm connection decodes a stderr
# starting with the marker (ansible/plugins/shell/powershell.py _parse_clixml) and keeps only Error strings;
# ssh passes it raw. A host whose state sets os.progress_on_stderr writes it before the agent's reply.
PROGRESS_CLIXML = (
    '#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
    '<Obj S="progress" RefId="0"><TN RefId="0"><T>System.Management.Automation.PSCustomObject</T>'
    '<T>System.Object</T></TN><MS><I64 N="SourceId">1</I64><PR N="Record"><AV>Preparing modules for first use.'
    '</AV><AI>0</AI><Nil /><PI>-1</PI><PC>-1</PC><T>Completed</T><SR>-1</SR><SD> </SD></PR></MS></Obj></Objs>')


class ConnectionDropped(Exception):
    """An armed fault fired: the connection is gone mid-operation."""


class TransferError(Exception):
    """A put or fetch the host refused (missing file, missing folder)."""


def _lines(text):
    lines = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    while lines and lines[-1] == "":
        lines.pop()
    return lines


def _script_lines(name):
    """The script's lines, or None when the collection does not have it."""
    try:
        with open(os.path.join(SCRIPTS_DIR, name), encoding="utf-8-sig") as f:
            return _lines(f.read())
    except FileNotFoundError:
        return None


def is_bootstrap(script):
    """Whether ``script`` (decoded -EncodedCommand text) is plugins/plugin_utils/bootstrap.ps1."""
    expected = _script_lines("bootstrap.ps1")
    return expected is not None and _lines(script) == expected


class Transport:
    def __init__(self, state_dir, host):
        self.state_dir = state_dir
        self.host = host

    def _refusal(self, cmd, in_data):
        """Why the host will not run this, or None."""
        if not cmd.startswith(COMMAND_PREFIX):
            return "the lab runs only the crashdump.windows bootstrap (%s<bootstrap.ps1>), not: %.200s" % (
                COMMAND_PREFIX, cmd)
        try:
            script = base64.b64decode(cmd[len(COMMAND_PREFIX):].strip(), validate=True).decode("utf-16-le")
        except (binascii.Error, UnicodeDecodeError):
            return "the -EncodedCommand argument is not base64 of UTF-16LE text"
        for name in ("bootstrap.ps1", "agent.ps1"):
            if _script_lines(name) is None:
                return "%s is missing from %s" % (name, SCRIPTS_DIR)
        if not is_bootstrap(script):
            return "the encoded command is not plugins/plugin_utils/bootstrap.ps1"
        if not in_data:
            return "no standard input: expected the packed agent script, the separator and a batch line"
        try:
            text = in_data.decode("utf-8")
        except UnicodeDecodeError:
            return "standard input is not UTF-8 text"
        lines = _lines(text)
        if SEPARATOR not in lines:
            return "standard input has no separator line %s" % SEPARATOR
        at = lines.index(SEPARATOR)
        if at != 1:
            return "exactly one line, the packed agent script, must come before the separator"
        try:
            script = gzip.decompress(base64.b64decode(lines[0], validate=True)).decode("utf-8-sig")
        except (binascii.Error, EOFError, OSError, UnicodeDecodeError, zlib.error):
            return "the line before the separator is not base64 of a gzip of UTF-8 text"
        if _lines(script) != _script_lines("agent.ps1"):
            return "the script before the separator is not plugins/plugin_utils/agent.ps1"
        if len(lines) != at + 2:
            return "exactly one batch line must follow the separator"
        if not lines[at + 1].isascii():
            return "the batch line is not pure ASCII"
        return None

    def exec_command(self, cmd, in_data):
        """(rc, stdout, stderr) as the bootstrap and agent would produce them."""
        in_data = in_data or b""
        with state.open_host(self.state_dir, self.host) as lab:
            counters = lab.state["counters"]
            counters["round_trips"] += 1
            counters["bytes_sent"] += len(cmd.encode("utf-8")) + len(in_data)
            fault = faults.fire(lab.state, "exec")
            if fault is not None and fault["phase"] == "before":
                rc, out, err = None, b"", b""
            else:
                rc, out, err = self._run(lab, cmd, in_data)
            counters["bytes_received"] += len(out) + len(err)
        if fault is not None:
            raise ConnectionDropped("lab fault: connection to %s dropped %s the command ran" % (
                self.host, fault["phase"]))
        return rc, out, err

    def _run(self, lab, cmd, in_data):
        why = self._refusal(cmd, in_data)
        if why is not None:
            return 1, b"", ("crashdump_lab: refused: %s\r\n" % why).encode("utf-8")
        mode = lab.state["os"].get("language_mode", "FullLanguage")
        if mode != "FullLanguage":
            line = json.dumps({"version": agent.PROTOCOL_VERSION, "error": LANGUAGE_MODE_ERROR % mode},
                              separators=(",", ":"))
            return 1, (line + "\r\n").encode("ascii"), b""
        batch_line = _lines(in_data.decode("utf-8"))[-1]
        try:
            reply = agent.execute_batch(lab, json.loads(batch_line))
            rc = 0
        except (ValueError, agent.BatchError) as e:
            reply, rc = {"version": agent.PROTOCOL_VERSION, "error": "agent: invalid batch: %s" % e}, 1
        out = json.dumps(reply, ensure_ascii=True, separators=(",", ":")) + "\r\n"
        err = PROGRESS_CLIXML.encode("ascii") if lab.state["os"].get("progress_on_stderr") else b""
        return rc, out.encode("ascii"), err

    def put_file(self, data, path):
        failure = None
        with state.open_host(self.state_dir, self.host) as lab:
            counters = lab.state["counters"]
            counters["round_trips"] += max(1, -(-len(data) // STDIN_CHUNK))
            counters["bytes_sent"] += len(data)
            try:
                lab.files.write_file(_host_path(lab, path), data)
            except errors.WinError as e:
                failure = TransferError("put_file %s: %s" % (path, e.message))
        if failure is not None:
            raise failure

    def fetch_file(self, path, out):
        """Copy a lab file into the binary stream ``out``, one round trip per
        512 KiB chunk; like winrm it stops at the first short chunk, so a file
        of an exact multiple of the chunk size costs one more (empty) chunk.
        Returns False when ``path`` is a folder (nothing is written)."""
        offset = 0
        while True:
            chunk = self.fetch_chunk(path, offset)
            if chunk is None:
                return False
            out.write(chunk)
            if len(chunk) < FETCH_CHUNK:
                return True
            offset += len(chunk)

    def probe(self, path):
        """What opening ``path`` for a fetch finds: "file", "directory" or
        None (nothing there, or no valid path); TransferError when the file
        cannot be opened for reading. Counts no round trip: nothing is read."""
        failure = None
        with state.open_host(self.state_dir, self.host) as lab:
            try:
                entry = lab.files.entry(_host_path(lab, path))
            except errors.WinError:
                entry = None
            if entry is not None and entry["type"] != "directory":
                try:
                    lab.files.read_file(_host_path(lab, path), 0, 0)
                except errors.WinError as e:  # its writer shares nothing
                    failure = TransferError("fetch_file %s: %s" % (path, e.message))
        if failure is not None:
            raise failure
        return None if entry is None else "directory" if entry["type"] == "directory" else "file"

    def fetch_chunk(self, path, offset, size=FETCH_CHUNK):
        """One fetch round trip: up to ``size`` bytes at ``offset``, or None for a folder."""
        failure = None
        with state.open_host(self.state_dir, self.host) as lab:
            counters = lab.state["counters"]
            counters["fetch_round_trips"] += 1
            if faults.fire(lab.state, "fetch") is not None:
                failure = ConnectionDropped("lab fault: connection to %s dropped during fetch of %s after %d "
                                            "bytes" % (self.host, path, offset))
            else:
                try:
                    chunk = _chunk(lab, path, offset, size)
                except TransferError as e:
                    failure = e
                else:
                    counters["fetch_bytes"] += len(chunk or b"")
                    if faults.fire(lab.state, "corrupt") is not None and chunk:
                        middle = len(chunk) // 2
                        chunk = chunk[:middle] + bytes([chunk[middle] ^ 0xFF]) + chunk[middle + 1:]
        if failure is not None:
            raise failure
        return chunk


def _host_path(lab, path):
    """The file a transfer opens: the connection's PowerShell is the agent's, redirected when it is 32-bit."""
    path = winpath.norm(path)
    if redirector.wow64_agent(lab.state):
        return redirector.redirect(path, lab.state["env"]["SystemRoot"])
    return path


def _chunk(lab, path, offset, size):
    """The chunk at ``offset``, or None for a folder."""
    files = lab.files
    try:
        entry = files.entry(_host_path(lab, path))
    except errors.WinError as e:
        raise TransferError("fetch_file %s: %s" % (path, e.message)) from e
    if entry is None:
        raise TransferError("fetch_file %s: the file does not exist" % path)
    if entry["type"] == "directory":
        return None
    try:
        return files.read_file(_host_path(lab, path), offset, size)
    except errors.WinError as e:  # a file still being written: its writer shares nothing
        raise TransferError("fetch_file %s: %s" % (path, e.message)) from e
