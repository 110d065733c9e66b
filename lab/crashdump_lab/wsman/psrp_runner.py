"""What a PowerShell pipeline started in a lab host's runspace pool does: the
lab never runs PowerShell.

ansible.builtin.psrp (ansible-core 2.19, plugins/connection/psrp.py) does not
start powershell.exe: it runs scripts in the runspace, each line of standard
input one pipeline input object. Four kinds of pipeline are known, by the
exact text of their one script:

* the collection's bootstrap (exec_command decodes the shell plugin's
  -EncodedCommand and runs the script): handed with its input lines to the
  lab's agent model (transport.Transport.exec_command, which checks the
  bootstrap, the agent and the batch byte for byte); its output lines come
  back as output strings and its ``exit`` code through the host's
  SetShouldExit, which is how ``exit`` in a remote runspace reaches the client
  (PSHost.SetShouldExit, https://learn.microsoft.com/en-us/dotnet/api/system.management.automation.host.pshost.setshouldexit;
  [MS-PSRP] 2.2.3.17 Host Method Identifier; what ansible-core reads as the rc);
* ansible-core's put_file and fetch_file: bootstrap_wrapper.ps1, fed the
  exec_wrapper manifest naming psrp_put_file.ps1 or psrp_fetch_file.ps1;
  handed to the lab's file model. exec_wrapper.ps1 runs them with
  $ErrorActionPreference Stop and turns an error into a
  {"failed":true,"msg":"failure during exec_wrapper: ..."} output and
  SetShouldExit(1) (Write-AnsibleErrorJson);
* ansible-core 2.16's put_file (its copy_script with the path as argument)
  and fetch_file (a setup script opening ``$fs``, which stays in the
  runspace pool, a read script per chunk, ``$fs.Close()``): recognised by
  the SHA-256 of their text (legacy_transfer.py), handed to the lab's file
  model, ``$fs`` kept in the pool's variables;
* anything else fails as a terminating error "the lab cannot run this
  PowerShell", never a silent success.
"""

from __future__ import annotations

import base64
import json

from .. import transport
from . import legacy_transfer
from .runner import CANNOT_RUN, CannotRun, ansible_script, run_counted, transfer_action

SEPARATOR = "\0\0\0\0"  # the input line between bootstrap_wrapper.ps1's sections
PSRP_TRANSFER = ("psrp_put_file.ps1", "psrp_fetch_file.ps1")


class Outcome:
    """What a pipeline produced: output strings, error record messages, the
    code given to SetShouldExit (None: no ``exit``), and the message of a
    terminating error that failed the pipeline (None: it completed) with its
    record's (ErrorCategory name, reason, fully qualified error id); None:
    the lab's refusal."""

    def __init__(self, outputs=(), errors=(), exit_code=None, failure=None, record=None):
        self.outputs = list(outputs)
        self.errors = list(errors)
        self.exit_code = exit_code
        self.failure = failure
        self.record = record


def cannot_run(why):
    return Outcome(failure="%s: %s" % (CANNOT_RUN, why))


def _wrapper_failure(message):
    # exec_wrapper.ps1's Write-AnsibleErrorJson: the error as JSON output, then exit 1.
    return Outcome([json.dumps({"failed": True, "msg": "failure during exec_wrapper: %s" % message})], exit_code=1)


class PipelineRunner:
    """Runs pipelines for one lab host, with the WinRS runner's transport."""

    outcome = Outcome

    def __init__(self, runner):
        self.runner = runner
        self.transport = runner.transport

    def run(self, commands, inputs, variables=None):
        """The Outcome of the psrpcore Commands ``commands`` fed ``inputs``
        in a runspace pool whose modelled variables are the dict ``variables``.
        transport.ConnectionDropped passes through: an armed lab fault; so
        does runner.WireFault."""
        return run_counted(self.runner.count, *self._plan(commands, inputs, {} if variables is None else variables))

    def _plan(self, commands, inputs, variables):
        """(kind, function running the pipeline)."""
        lines = [x if isinstance(x, str) else str(x) for x in inputs]
        if len(commands) == 1 and commands[0].is_script:
            legacy = legacy_transfer.psrp_plan(self, commands[0], lines, variables)
            if legacy is not None:
                return legacy
        if len(commands) != 1 or not commands[0].is_script or commands[0].parameters:
            return "refused", lambda: cannot_run("only one script without parameters is modelled, not: %.300s"
                                                 % "; ".join(c.command_text for c in commands))
        script = commands[0].command_text
        if script == ansible_script("bootstrap_wrapper.ps1"):
            return self._ansible_action(lines)
        if not transport.is_bootstrap(script):
            return "refused", lambda: cannot_run("%.300s" % script)
        return "agent", lambda: self._agent(script, lines)

    def _agent(self, script, lines):
        # The transport checks the command as the psrp connection got it from
        # the shell plugin: -EncodedCommand of the script, before decoding it.
        command_line = transport.COMMAND_PREFIX + base64.b64encode(script.encode("utf-16-le")).decode("ascii")
        rc, out, err = self.transport.exec_command(command_line, ("\n".join(lines) + "\n").encode("utf-8"))
        return Outcome(out.decode("utf-8").splitlines(), err.decode("utf-8").splitlines(), rc)

    def _ansible_action(self, lines):
        if lines.count(SEPARATOR) < 1 or lines.index(SEPARATOR) + 1 >= len(lines):
            return "refused", lambda: cannot_run("bootstrap_wrapper.ps1 without an exec_wrapper manifest in its "
                                                 "input")
        at = lines.index(SEPARATOR)
        manifest, _, data = "\n".join(lines[at + 1:]).partition("\n" + SEPARATOR)
        try:
            name, params = transfer_action("\n".join(lines[:at]), manifest, PSRP_TRANSFER)
        except CannotRun as e:
            return "refused", lambda why=str(e): cannot_run(why)
        if name == "psrp_put_file.ps1":
            return "put_file", lambda: self._put_file(params["Path"], data.split("\n"))
        return "fetch_file", lambda: self._fetch_file(params["Path"], int(params["BufferSize"]))

    def _put_file(self, path, lines):
        try:
            sha1 = self.runner.put(path, lines)
        except transport.TransferError as e:
            return _wrapper_failure(e)
        return Outcome(['{"sha1":"%s"}' % sha1])

    def _fetch_file(self, path, size):
        """psrp_fetch_file.ps1: "[FILE]" and the file in base64 pieces of
        ``size`` bytes, "[DIR]" for a folder, Write-Error otherwise."""
        outputs, offset = [], 0
        while True:
            try:
                chunk = self.transport.fetch_chunk(path, offset, size)
            except transport.TransferError:
                return _wrapper_failure("%s does not exist" % path)
            if chunk is None:
                return Outcome(["[DIR]"])
            if offset == 0:
                outputs.append("[FILE]")
            if chunk:
                outputs.append(base64.b64encode(chunk).decode("ascii"))
            if len(chunk) < size:
                return Outcome(outputs)
            offset += len(chunk)
