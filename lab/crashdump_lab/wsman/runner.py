"""What a command started in a lab host's shell does: the lab never runs PowerShell.

Four kinds of command are known, recognised by their exact text:

* the collection's bootstrap with the agent and a batch on standard input
  (ansible-core 2.16: the bootstrap's command line inside a script of its
  own): handed to the lab's agent model (transport.Transport.exec_command, which
  checks the bootstrap and the agent byte for byte);
* ansible-core's own file transfer of the winrm connection (ansible-core >=
  2.19): its bootstrap_wrapper.ps1 as -EncodedCommand, and on standard input
  the exec_wrapper manifest naming winrm_put_file.ps1 or winrm_fetch_file.ps1
  with their parameters; handed to the lab's file model;
* ansible-core 2.16's own file transfer of the winrm connection: its inline
  put_file and fetch_file scripts as -EncodedCommand, recognised by the
  SHA-256 of their text with the parameter slots normalised
  (legacy_transfer.py); handed to the lab's file model the same way;
* anything else: exit code 1 and "the lab cannot run this PowerShell" on
  standard error, never a silent success.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import pkgutil

from .. import transport
from . import legacy_transfer

POWERSHELL_PREFIX = transport.COMMAND_PREFIX
# The exec_wrapper input is sections separated by a line of four NUL characters.
MANIFEST_SEPARATOR = b"\n\0\0\0\0\n"
WINRM_TRANSFER = ("winrm_put_file.ps1", "winrm_fetch_file.ps1")
CANNOT_RUN = "the lab cannot run this PowerShell"


@functools.lru_cache(maxsize=None)
def ansible_script(name):
    """The text of ansible-core's executor script ``name`` (None when this
    ansible-core does not ship it)."""
    try:
        data = pkgutil.get_data("ansible.executor.powershell", name)
    except (ImportError, OSError):
        return None
    return None if data is None else data.decode("utf-8")


def _encoded_forms(script):
    """The script as ansible-core's powershell shell plugin encodes it with
    preserve_rc off (blank lines dropped, lines stripped), without and with
    strict_mode (put_file turns it off, fetch_file leaves it on)."""
    forms = []
    for text in (script, "Set-StrictMode -Version Latest\r\n" + script):
        forms.append("\n".join(line.strip() for line in text.splitlines() if line.strip()))
    return forms


def decode_command(command_line):
    """The script of ``PowerShell ... -EncodedCommand <base64>``, or None."""
    if not command_line.startswith(POWERSHELL_PREFIX):
        return None
    try:
        return base64.b64decode(command_line[len(POWERSHELL_PREFIX):].strip(), validate=True).decode("utf-16-le")
    except (binascii.Error, UnicodeDecodeError):
        return None


def cannot_run(why):
    return 1, b"", ("%s: %s\r\n" % (CANNOT_RUN, why)).encode("utf-8")


class CannotRun(Exception):
    """A script the lab does not model; the message says what it was."""


def transfer_action(bootstrap_json, manifest_json, allowed):
    """(name, params) of the one action of an exec_wrapper manifest when it is
    ansible-core's own file transfer script named in ``allowed``, sent as
    ansible-core ships it; raises CannotRun otherwise."""
    try:
        bootstrap = json.loads(bootstrap_json)
        manifest = json.loads(manifest_json)
        actions = manifest["actions"]
        name = actions[0]["name"]
        params = actions[0]["params"]
        sent = base64.b64decode(manifest["scripts"][name]["script"]).decode("utf-8")
    except (ValueError, KeyError, IndexError, TypeError) as e:
        raise CannotRun("unreadable exec_wrapper manifest (%s)" % e) from e
    if bootstrap.get("script") != ansible_script("exec_wrapper.ps1") or len(actions) != 1 \
            or manifest.get("signed_hashlist"):
        raise CannotRun("an exec_wrapper manifest other than ansible-core's own file transfer")
    if name not in allowed or sent != ansible_script(name):
        raise CannotRun("ansible-core's exec_wrapper running %s" % name)
    return name, params


class WireFault(Exception):
    """A command ran, and a fault armed for its reply (faults.py ``receive:``)
    waits for the ``receive``th Receive of its output: ``effect`` and the
    command's ``result``."""

    def __init__(self, effect, result, receive=1):
        super().__init__(effect)
        self.effect = effect
        self.result = result
        self.receive = receive


def run_counted(count, kind, execute):
    """``execute()``'s result, once ``count(kind)`` has counted it; raises
    WireFault after running it when ``count`` answers with an armed fault."""
    fault = count(kind)
    result = execute()
    if fault is not None:
        raise WireFault(fault["effect"], result, fault.get("receive", 1))
    return result


class Runner:
    """Runs commands for one lab host; ``count(kind)`` is told the kind of
    each (counters.KINDS) before it runs, and answers None or the wire
    fault (faults.py) armed for its reply."""

    def __init__(self, state_dir, host, count=lambda kind: None):
        self.transport = transport.Transport(state_dir, host)
        self.count = count

    def run(self, command_line, stdin):
        """(rc, stdout, stderr) of ``command_line`` fed ``stdin`` (bytes).
        transport.ConnectionDropped passes through: an armed lab fault; so
        does WireFault."""
        return run_counted(self.count, *self._plan(command_line, stdin))

    def _plan(self, command_line, stdin):
        """(kind, function running the command)."""
        script = decode_command(command_line)
        if script is None:
            return "refused", lambda: cannot_run("only PowerShell -EncodedCommand is modelled, not: %.200s"
                                                 % command_line)
        wrapper = ansible_script("bootstrap_wrapper.ps1")
        if wrapper is not None and script in _encoded_forms(wrapper):
            return self._ansible_action(stdin)
        legacy = legacy_transfer.winrm_plan(self, script, stdin)
        if legacy is not None:
            return legacy
        # ansible-core 2.16's winrm connection runs every command line as a
        # PowerShell script of its own (exec_command encodes cmd again): that
        # powershell.exe starts the bootstrap's, which inherits its standard input.
        inner = decode_command(script.strip())
        if inner is not None and transport.is_bootstrap(inner):
            command_line, script = script.strip(), inner
        if not transport.is_bootstrap(script):
            return "refused", lambda: cannot_run("%.300s" % script)
        # The transport checks the agent and the batch on standard input.
        return "agent", lambda: self.transport.exec_command(command_line, stdin)

    def _ansible_action(self, stdin):
        sections = (stdin or b"").split(MANIFEST_SEPARATOR, 2)
        if len(sections) < 2:
            return "refused", lambda: cannot_run("bootstrap_wrapper.ps1 without an exec_wrapper manifest on "
                                                 "standard input")
        try:
            name, params = transfer_action(sections[0], sections[1], WINRM_TRANSFER)
        except CannotRun as e:
            return "refused", lambda why=str(e): cannot_run(why)
        if name == "winrm_put_file.ps1":
            lines = (sections[2] if len(sections) > 2 else b"").split(b"\r\n")
            return "put_file", lambda: self.put_file(params["Path"], lines)
        return "fetch_file", lambda: self.fetch_file(params["Path"], int(params["BufferSize"]),
                                                      int(params["Offset"]))

    def put(self, path, pieces):
        """Write the file of base64 ``pieces`` (text or bytes, empty ones
        skipped) as the put_file scripts do; its SHA-1. Raises TransferError."""
        try:
            data = b"".join(base64.b64decode(p, validate=True) for p in pieces if p)
        except binascii.Error as e:
            raise transport.TransferError('Exception calling "FromBase64String": invalid base64 input') from e
        self.transport.put_file(data, path)
        return hashlib.sha1(data).hexdigest()  # noqa: S324 - the scripts' own checksum

    def put_file(self, path, data_lines):
        """winrm_put_file.ps1 (and 2.16's put_file script): base64 lines in,
        the file written, its SHA-1 out."""
        try:
            sha1 = self.put(path, data_lines)
        except transport.TransferError as e:
            return 1, b"", ("%s\r\n" % e).encode("utf-8")
        return 0, ('{"sha1":"%s"}\r\n' % sha1).encode("ascii"), b""

    def fetch_file(self, path, size, offset):
        """winrm_fetch_file.ps1 (and 2.16's fetch_file script): one chunk as base64, ``[DIR]`` for a folder,
        "<path> does not exist" and exit 1 otherwise."""
        try:
            chunk = self.transport.fetch_chunk(path, offset, size)
        except transport.TransferError:
            return 1, b"", ("%s does not exist\r\n" % path).encode("utf-8")
        if chunk is None:
            return 0, b"[DIR]\r\n", b""
        return 0, (base64.b64encode(chunk) + b"\r\n") if chunk else b"", b""
