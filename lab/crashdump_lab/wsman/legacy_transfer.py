"""ansible-core 2.16's own file transfer, as its winrm and psrp connection
plugins send it, run against the lab's file model: the lab never runs PowerShell.

ansible-core 2.16 sends inline scripts of its own instead of 2.19's
exec_wrapper actions (runner.py, psrp_runner.py):

* winrm put_file: a begin/process/end script, the escaped target path in a
  single-quoted ``$path = '...'`` line, encoded with strict mode off; each
  standard input line is a base64 piece; ``{"sha1":"<hex>"}`` out;
* winrm fetch_file: a script per chunk, the path, ``$buffer_size`` and
  ``$offset`` in lines of their own, encoded with strict mode on: the chunk in
  base64, ``[DIR]`` for a folder, "<path> does not exist" and exit 1;
* psrp put_file: a begin/process/end script with the path as its one
  argument and the base64 pieces as input objects;
* psrp fetch_file: a setup script run outside the local scope that opens the
  stream ``$fs`` for its ``param([string]$Path)`` (or outputs ``[DIR]``),
  then a read script per chunk with the arguments offset and buffer size,
  then ``$fs.Close()``; ``$fs`` lives in the runspace pool between pipelines.

They are recognised exactly: the parameter slots (the quoted path, buffer
size, offset) are replaced by placeholders and the SHA-256 of the normalised
text must be one of the digests below; anything else stays refused.

Checked against ansible-core 2.16.19; 2.17 and 2.18 are unverified (a
changed script is refused, never run loosely).

To recompute a digest: run tests/lab/test_legacy_transfer.py with ansible-core
2.16's python (.venv-oldest-core/bin/python -m pytest ..., the venv tools/test.sh makes); it
captures what the real connection plugins send and fails with the digest of
the installed script when it differs from the constant.

Not modelled: Test-Path -Path (wildcards) in the psrp setup's folder test
(the lab takes the path literally); the global $ErrorActionPreference "Stop"
the psrp setup script leaves in the runspace for later pipelines.
"""

from __future__ import annotations

import base64
import hashlib
import re

from .. import transport

# The five characters PowerShell takes as a single quote (what the powershell
# shell plugin's _escape doubles).
QUOTES = "'\u2018\u2019\u201a\u201b"
# A single-quoted literal on one line: two quote characters stand for the second one.
_LITERAL = "'((?:[^%s\\n]|[%s]{2})*)'" % (QUOTES, QUOTES)
PATH_SLOT = re.compile(r"^(\$path = )%s$" % _LITERAL, re.M)
NUMBER_SLOTS = {"buffer_size": re.compile(r"^(\$buffer_size = )(\d+)$", re.M),
                "offset": re.compile(r"^(\$offset = )(\d+)$", re.M)}

# SHA-256 of the UTF-8 text of ansible-core 2.16's scripts, after normalise():
# winrm put_file's script as its -EncodedCommand decodes, its quoted path replaced by {path};
WINRM_PUT = "7a8c9ebbcd678479ada748d22079c21f3088f0a02180617f5abe51d65b0365f0"
# winrm fetch_file's script as its -EncodedCommand decodes, its quoted path,
# buffer size and offset replaced by {path}, {buffer_size} and {offset};
WINRM_FETCH = "b8efaa1509433a9e74961527d33fb7bd4caeab6652726facc455535251c0c8d0"
# the psrp connection's copy_script (put_file), the setup_script and the
# read_script of fetch_file, run with their arguments: no slot in the text.
PSRP_PUT = "a8cb7b504d19da236d94a4dd9b40c6a4cd3615c8f9aa9c2a4abc4e2af7833c18"
PSRP_FETCH_OPEN = "0914aff41f00e2bd82098c7c4529a3313f8bb48b19120ff7b2a5aa6dd299fe28"
PSRP_FETCH_READ = "8212457183decac74cda990067e5654edb2254986feb5096d7ee534469c7ed6e"
PSRP_FETCH_CLOSE = "$fs.Close()"  # the last fetch_file pipeline, short enough to compare as it is

NULL_METHOD = "You cannot call a method on a null-valued expression."
# (ErrorCategory, reason, fully qualified error id) of the terminating errors' records.
NULL_RECORD = ("InvalidOperation", "RuntimeException", "InvokeMethodOnNull")
WRITE_ERROR_RECORD = ("NotSpecified", "WriteErrorException", "Microsoft.PowerShell.Commands.WriteErrorException")
IO_RECORD = ("NotSpecified", "MethodInvocationException", "IOException")
CLOSED_RECORD = ("NotSpecified", "MethodInvocationException", "ObjectDisposedException")


def unescape(literal):
    """The value of the inside of a PowerShell single-quoted string: of two
    quote characters in a row the second stays ('' becomes ')."""
    return re.sub("([%s])([%s])" % (QUOTES, QUOTES), r"\2", literal)


def normalise(script):
    """(normalised text, slots): the script with its parameter slots replaced
    by {path}, {buffer_size} and {offset}; slots holds the values found (the
    path unescaped, the numbers as int)."""
    slots = {}

    def path(m):
        slots.setdefault("path", unescape(m.group(2)))
        return m.group(1) + "{path}"

    text = PATH_SLOT.sub(path, script)
    for name, pattern in NUMBER_SLOTS.items():
        def number(m, name=name):
            slots.setdefault(name, int(m.group(2)))
            return m.group(1) + "{%s}" % name
        text = pattern.sub(number, text)
    return text, slots


def digest(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def winrm_plan(runner, script, stdin):
    """(kind, function) for a decoded winrm script that is ansible-core
    2.16's put_file or fetch_file, run by ``runner`` (runner.Runner) as the
    2.19 scripts are; None for any other script."""
    text, slots = normalise(script)
    known = digest(text)
    if known == WINRM_PUT and "path" in slots:
        return "put_file", lambda: runner.put_file(slots["path"], (stdin or b"").splitlines())
    if known == WINRM_FETCH and len(slots) == 3:
        return "fetch_file", lambda: runner.fetch_file(slots["path"], slots["buffer_size"], slots["offset"])
    return None


class Stream:
    """The $fs of a runspace pool: the file the psrp setup script opened."""

    def __init__(self, path):
        self.path = path
        self.closed = False


def _arguments(command, count):
    """The ``count`` positional arguments of ``command``, or None."""
    if len(command.parameters) != count or any(name is not None for name, _ in command.parameters):
        return None
    return [value for _, value in command.parameters]


def psrp_plan(pipelines, command, inputs, variables):
    """(kind, function) for a psrpcore Command that is one of ansible-core
    2.16's psrp transfer scripts, run by ``pipelines``
    (psrp_runner.PipelineRunner); ``variables`` is the runspace pool's (its
    ``$fs``, whether its $ErrorActionPreference is "Stop"). None for any other."""
    script = command.command_text
    if script == PSRP_FETCH_CLOSE and not command.parameters:
        return "fetch_file", lambda: _close(pipelines, variables)
    known = digest(script)
    if known == PSRP_PUT or known == PSRP_FETCH_OPEN:
        args = _arguments(command, 1)
        if args is None or not isinstance(args[0], str):
            return None
        if known == PSRP_PUT:
            return "put_file", lambda: _put(pipelines, args[0], inputs)
        return "fetch_file", lambda: _open(pipelines, args[0], command.use_local_scope is False, variables)
    if known == PSRP_FETCH_READ:
        args = _arguments(command, 2)
        try:
            offset, size = (int(a) for a in args or ())
        except (TypeError, ValueError):
            return None
        if offset < 0 or size < 0:
            return None
        return "fetch_file", lambda: _read(pipelines, offset, size, variables)
    return None


def _put(pipelines, path, lines):
    """copy_script: the file written from the base64 input objects, its SHA-1
    out; $ErrorActionPreference "Stop" makes a failure a terminating error."""
    try:
        sha1 = pipelines.runner.put(path, lines)
    except transport.TransferError as e:
        return pipelines.outcome(failure=str(e), record=IO_RECORD)
    return pipelines.outcome(['{"sha1":"%s"}' % sha1])


def _open(pipelines, path, global_scope, variables):
    """The setup script: $ErrorActionPreference "Stop" (in the pool's global
    scope when run outside the local scope, like $fs), then $fs opened for a
    file, "[DIR]" for a folder, and Write-Error, which "Stop" makes a
    terminating error before its SetShouldExit(1), otherwise."""
    outcome = pipelines.outcome
    if global_scope:
        variables["stop"] = True
    try:
        kind = pipelines.transport.probe(path)
    except transport.TransferError as e:  # New-Object failing: a file its writer shares with nobody
        return outcome(failure=str(e), record=IO_RECORD)
    if kind == "directory":
        return outcome(["[DIR]"])
    if kind is None:
        return outcome(failure="%s does not exist" % path, record=WRITE_ERROR_RECORD)
    if global_scope:
        variables["fs"] = Stream(path)
    return outcome()


def _read(pipelines, offset, size, variables):
    """The read script: the chunk at ``offset`` of $fs in base64 (nothing at the end)."""
    outcome = pipelines.outcome
    stream = variables.get("fs")
    if stream is None:
        return outcome(failure=NULL_METHOD, record=NULL_RECORD)
    if stream.closed:
        return outcome(failure='Exception calling "Seek" with "2" argument(s): "Cannot access a closed file."',
                       record=CLOSED_RECORD)
    try:
        chunk = pipelines.transport.fetch_chunk(stream.path, offset, size)
    except transport.TransferError as e:
        return outcome(failure=str(e), record=IO_RECORD)
    if chunk is None:
        return outcome(failure="fetch_file %s: a folder now" % stream.path, record=IO_RECORD)
    return outcome([base64.b64encode(chunk).decode("ascii")] if chunk else [])


def _close(pipelines, variables):
    """$fs.Close(): closes $fs; without one, the error of a method called on
    null, terminating when the setup script left "Stop" in the pool."""
    stream = variables.get("fs")
    if stream is None:
        if variables.get("stop"):
            return pipelines.outcome(failure=NULL_METHOD, record=NULL_RECORD)
        return pipelines.outcome(errors=[NULL_METHOD])
    stream.closed = True
    return pipelines.outcome()
