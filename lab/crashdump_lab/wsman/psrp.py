"""The PowerShell remoting resource
(http://schemas.microsoft.com/powershell/Microsoft.PowerShell) of one lab host.

[MS-PSRP] "PowerShell Remoting Protocol"
(https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/),
3.1.5.3 and 3.2.5.3, carries PSRP over the WinRS operations of [MS-WSMV]:
a runspace pool is a shell created with the client's ShellId and its first
messages in ``creationXml``; a pipeline is a Command whose CommandId is the
pipeline id and whose Arguments hold its first fragment; further client data
(pipeline input, host responses) comes in Send on the "stdin" and "pr"
streams, server data goes out in Receive on "stdout"; Signal
``powershell/signal/crtl_c`` (pypsrp spells it ``ctrl_c``) or terminate ends
a pipeline, Delete closes the pool.

psrpcore's ServerRunspacePool and ServerPipeline make and read the PSRP
fragments and messages; this module only moves them between SOAP and psrpcore
and hands a pipeline, once its input has ended, to psrp_runner.
"""

from __future__ import annotations

import base64
import threading
import uuid
import xml.etree.ElementTree as ET

import psrpcore
from psrpcore.types import (
    ErrorCategory,
    ErrorCategoryInfo,
    ErrorRecord,
    HostMethodIdentifier,
    NETException,
    PipelineState,
    PSInvocationState,
)

from .psrp_runner import PipelineRunner
from .runner import WireFault
from .shell import (
    DEFAULT_OPERATION_TIMEOUT,
    RESPONSE_OVERHEAD,
    SHELL_NS,
    Shell,
    ShellResource,
    timed_out,
)
from .soap import Fault, envelope, q

RESOURCE_URI = "http://schemas.microsoft.com/powershell/Microsoft.PowerShell"
PS_NS = "http://schemas.microsoft.com/powershell"
DONE = SHELL_NS + "/CommandState/Done"
RUNNING = SHELL_NS + "/CommandState/Running"


def _schema_error():
    return Fault("s:Sender", "w:SchemaValidationError",
                 "The SOAP XML in the message does not match the corresponding XML schema definition.", 2150858817)


def _record(message, reason, error_id):
    return dict(exception=NETException(Message=message),
                category_info=ErrorCategoryInfo(Category=ErrorCategory.NotSpecified, Reason=reason),
                fully_qualified_error_id=error_id)


class Pipe:
    """One pipeline (a Command of the pool)."""

    def __init__(self, pool, command_id):
        self.id = command_id.upper()
        self.server = psrpcore.ServerPipeline(pool, uuid.UUID(command_id))
        self.commands = None  # psrpcore Commands, once CreatePipeline is complete
        self.inputs = []
        self.finished = False
        self.fault = None  # [effect, Receives until it strikes] of an armed wire fault (shell.py)


class Pool(Shell):
    """A runspace pool: a shell whose id is the pool id the client chose."""

    input_streams, output_streams = "stdin pr", "stdout"

    def __init__(self, user, shell_id):
        super().__init__(user)
        self.id = shell_id.upper()
        self.pool = psrpcore.ServerRunspacePool()
        self.outbox = {}  # pipeline id (None: the pool) -> PSRP payloads not yet received
        self.variables = {}  # what pipelines leave in the pool's global scope (legacy_transfer.py: $fs)
        self.changed = threading.Condition()


class PowerShellResource(ShellResource):
    """The runspace pools of one host; ``runner`` is the WinRS resource's.

    Not modelled: the plugin's own quotas (Windows gives the Microsoft.PowerShell
    plugin its own; here a user's pools are only held to the host's
    max_shells_per_user, counted apart from its WinRS shells)."""

    resource_uri = RESOURCE_URI

    def __init__(self, runner, machine, limits):
        super().__init__(PipelineRunner(runner), machine, limits)

    def _new_shell(self, request, user):
        shell = request.body.find(q("rsp", "Shell"))
        creation = None if shell is None else shell.find("{%s}creationXml" % PS_NS)
        if creation is None or not shell.get("ShellId"):
            raise _schema_error()
        try:
            pool = Pool(user, str(uuid.UUID(shell.get("ShellId"))))
        except ValueError as e:
            raise _schema_error() from e
        with pool.changed:
            self._feed(pool, base64.b64decode(creation.text or ""))
        return pool

    def _feed(self, pool, data):
        """Give client PSRP data to psrpcore and act on the events it makes
        (caller holds pool.changed)."""
        pool.pool.receive_data(psrpcore.PSRPPayload(data, psrpcore.StreamType.default, None))
        while True:
            event = pool.pool.next_event()
            if event is None:
                break
            pipe = pool.commands.get(str(event.pipeline_id).upper()) if event.pipeline_id else None
            if isinstance(event, psrpcore.CreatePipelineEvent) and pipe is not None:
                pipe.commands = event.pipeline.commands
                if event.pipeline.no_input:
                    self._run_pipeline(pool, pipe)
            elif isinstance(event, psrpcore.PipelineInputEvent) and pipe is not None:
                pipe.inputs.append(event.data)
            elif isinstance(event, psrpcore.EndOfPipelineInputEvent) and pipe is not None:
                self._run_pipeline(pool, pipe)
            elif isinstance(event, (psrpcore.SetMaxRunspacesEvent, psrpcore.SetMinRunspacesEvent,
                                    psrpcore.ResetRunspaceStateEvent)):
                pool.pool.runspace_availability_response(event.ci, True)
            elif isinstance(event, psrpcore.GetAvailableRunspacesEvent):
                pool.pool.runspace_availability_response(event.ci, pool.pool.max_runspaces)
        pool.changed.notify_all()

    def _run_pipeline(self, pool, pipe):
        """Run the pipeline with its whole input and queue what it produced."""
        if pipe.finished or pipe.commands is None:
            return
        try:
            outcome = self.runner.run(pipe.commands, pipe.inputs, pool.variables)
        except WireFault as armed:
            outcome, pipe.fault = armed.result, [armed.effect, armed.receive]
        server = pipe.server
        server.start()
        for line in outcome.outputs:
            server.write_output(line)
        for line in outcome.errors:
            server.write_error(**_record(line, "LabError", "CrashdumpLab.Error"))
        if outcome.exit_code is not None:
            server.host_call(HostMethodIdentifier.SetShouldExit, [outcome.exit_code])
        if outcome.failure is None:
            server.complete()
        else:
            # A terminating error: the pipeline fails with it ([MS-PSRP] 2.2.2.21 PIPELINE_STATE).
            category, reason, error_id = outcome.record or ("NotImplemented", "NotSupportedException",
                                                            "CrashdumpLab.CannotRun")
            record = ErrorRecord(Exception=NETException(Message=outcome.failure),
                                 CategoryInfo=ErrorCategoryInfo(Category=getattr(ErrorCategory, category),
                                                                Reason=reason),
                                 FullyQualifiedErrorId=error_id)
            server.prepare_message(PipelineState(PipelineState=int(PSInvocationState.Failed),
                                                 ExceptionAsErrorRecord=record))
            server.state = PSInvocationState.Failed
        pipe.finished = True

    def _command(self, request, shell):
        line = request.body.find(q("rsp", "CommandLine"))
        argument = None if line is None else line.findtext(q("rsp", "Arguments"))
        if argument is None:
            raise _schema_error()
        try:
            command_id = str(uuid.UUID(line.get("CommandId") or str(uuid.uuid4())))
        except ValueError as e:
            raise _schema_error() from e
        with shell.changed:
            pipe = Pipe(shell.pool, command_id)
            shell.commands[pipe.id] = pipe
            self._feed(shell, base64.b64decode(argument))
        body = ET.Element(q("rsp", "CommandResponse"))
        ET.SubElement(body, q("rsp", "CommandId")).text = pipe.id
        return envelope(SHELL_NS + "/CommandResponse", request.message_id, [body])

    def _send(self, request, shell):
        streams = request.body.findall(q("rsp", "Send") + "/" + q("rsp", "Stream"))
        if not streams:
            raise _schema_error()
        with shell.changed:
            for stream in streams:
                if stream.get("CommandId"):
                    self._find(shell, stream.get("CommandId"))
                self._feed(shell, base64.b64decode(stream.text or ""))
        return envelope(SHELL_NS + "/SendResponse", request.message_id, [ET.Element(q("rsp", "SendResponse"))])

    def _receive(self, request, shell):
        desired = request.body.find(q("rsp", "Receive") + "/" + q("rsp", "DesiredStream"))
        pipe = None
        if desired is not None and desired.get("CommandId"):
            pipe = self._find(shell, desired.get("CommandId"))
        target = None if pipe is None else pipe.server.pipeline_id
        budget = max(22, (self._max_response(request) - RESPONSE_OVERHEAD) // 4 * 3)
        timeout = request.operation_timeout or DEFAULT_OPERATION_TIMEOUT
        with shell.changed:
            if not shell.changed.wait_for(lambda: self._pending(shell, target, budget), timeout):
                raise timed_out()
            queue = shell.outbox[target]
            blobs = [queue.pop(0)]
            while queue and sum(map(len, blobs)) + len(queue[0]) <= budget:
                blobs.append(queue.pop(0))
            finished = pipe is not None and pipe.finished and not queue
        body = ET.Element(q("rsp", "ReceiveResponse"))
        for blob in blobs:
            node = ET.SubElement(body, q("rsp", "Stream"), {"Name": "stdout"})
            if pipe is not None:
                node.set("CommandId", pipe.id)
            node.text = base64.b64encode(blob).decode("ascii")
        if pipe is not None:
            ET.SubElement(body, q("rsp", "CommandState"),
                          {"CommandId": pipe.id, "State": DONE if finished else RUNNING})
        return envelope(SHELL_NS + "/ReceiveResponse", request.message_id, [body])

    @staticmethod
    def _pending(shell, target, budget):
        """Whether ``target`` has data to receive; psrpcore's queue is sorted
        into one queue per target first (it packs one target per payload)."""
        while True:
            payload = shell.pool.data_to_send(budget)
            if payload is None:
                break
            shell.outbox.setdefault(payload.pipeline_id, []).append(payload.data)
        return bool(shell.outbox.get(target))

    def _signal(self, request, shell):
        signal = request.body.find(q("rsp", "Signal"))
        pipe = self._find(shell, None if signal is None else signal.get("CommandId"))
        with shell.changed:
            # Stop (ctrl_c) or terminate: the pipeline is gone, with whatever it had not delivered.
            if pipe.server.state == PSInvocationState.Running:
                pipe.server.stop()
            pipe.server.close()
            shell.commands.pop(pipe.id, None)
            shell.outbox.pop(pipe.server.pipeline_id, None)
            shell.changed.notify_all()
        return envelope(SHELL_NS + "/SignalResponse", request.message_id, [ET.Element(q("rsp", "SignalResponse"))])
