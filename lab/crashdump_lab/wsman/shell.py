"""The WinRS shell resource (http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd)
of one lab host: [MS-WSMV] 3.1.4.5 Create (Shell), 3.1.4.11 Command, 3.1.4.13
Send, 3.1.4.14 Receive, 3.1.4.12 Signal, 3.1.4.6 Delete.

A command runs when its standard input ends (a Send with End="true"), or at
its first Receive when no input was ever sent; a Receive that finds nothing
to return waits up to the request's OperationTimeout and then faults
w:TimedOut, which clients answer with another Receive ([MS-WSMV] 3.1.4.14).
Output is split over Receive responses so each stays under the client's
MaxEnvelopeSize ([MS-WSMV] 3.1.4.1.7).

A wire fault armed for a command (faults.py ``receive:``) strikes the Nth
(by default the first) Receive of its output, after the command ran: ``reset`` drops the
connection, ``timeout`` is the w:TimedOut fault (the output stays, for the
client's next Receive), ``http500`` is the shell's host process gone
(host_process_gone).
"""

from __future__ import annotations

import base64
import threading
import uuid
import xml.etree.ElementTree as ET

from .. import transport
from .runner import WireFault
from .soap import MIN_ENVELOPE_SIZE, Fault, envelope, q

RESOURCE_URI = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd"
SHELL_NS = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
TRANSFER = "http://schemas.xmlsoap.org/ws/2004/09/transfer"
DONE = SHELL_NS + "/CommandState/Done"
RUNNING = SHELL_NS + "/CommandState/Running"
TERMINATE = SHELL_NS + "/signal/terminate"
# Windows Server 2012 and later: Shell/MaxShellsPerUser 30, MaxEnvelopeSizekb 500
# ("Installation and configuration for Windows Remote Management"; [MS-WSMV] 2.2.4.10).
DEFAULT_MAX_SHELLS = 30
# Service/MaxConcurrentOperationsPerUser, 1500 on Windows Server 2012 and later.
DEFAULT_MAX_OPERATIONS = 1500
DEFAULT_MAX_ENVELOPE_KB = 500
DEFAULT_OPERATION_TIMEOUT = 60.0  # MaxTimeoutms 60000 ([MS-WSMV] 2.2.4.10)
# What a Receive response needs beside the base64 of its streams.
RESPONSE_OVERHEAD = 2048


def timed_out():
    # ERROR_WSMAN_OPERATION_TIMEDOUT, the fault pywinrm retries a Receive on.
    return Fault("s:Receiver", "w:TimedOut",
                 "The WS-Management service cannot complete the operation within the time specified in "
                 "OperationTimeout.", 2150858793)


def shell_not_found(shell_id):
    # ERROR_WSMAN_UNEXPECTED_SELECTORS (see host_process_gone) as WinRS reports an unknown ShellId.
    return Fault("s:Sender", "w:InvalidSelectors",
                 "The request for the Windows Remote Shell with ShellId %s failed because the shell was not "
                 "found on the server. Possible causes are: the specified ShellId is incorrect or the shell no "
                 "longer exists on the server. Provide the correct ShellId or create a new shell and retry the "
                 "operation." % shell_id, 2150858843)


def host_process_gone():
    # When the process behind a shell (wsmprovhost.exe, or the winrshost.exe of
    # a WinRS shell) has died, WinRM answers the shell's next request with a
    # SOAP fault in an HTTP 500 whose WSManFault Code is the Windows error
    # ([MS-WSMV] 2.2.4.43, https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-wsmv/2b6ab0b1-4d5c-4c13-9f28-0f04716e5fa4):
    # ERROR_WSMAN_UNEXPECTED_SELECTORS, 2150858843 = 0x8033805B
    # (https://microsoft.github.io/windows-docs-rs/doc/windows/Win32/System/RemoteManagement/constant.ERROR_WSMAN_UNEXPECTED_SELECTORS.html),
    # whose winerror.h text is the reason below. That a dead host process
    # gives it is not in Microsoft's pages: pywinrm users see it after a
    # process "dies a terrible death" (diyan/pywinrm issue 259).
    return Fault("s:Sender", "w:InvalidSelectors",
                 "The WS-Management service cannot process the request because the request contained invalid "
                 "selectors for the resource.", 2150858843)


class Command:
    def __init__(self, command_line):
        self.id = str(uuid.uuid4()).upper()
        self.command_line = command_line
        self.stdin = []
        self.sent_input = False
        self.result = None          # (rc, stdout, stderr) once run
        self.positions = [0, 0]     # bytes of stdout, stderr already received
        self.fault = None           # [effect, Receives until it strikes] of an armed wire fault
        self.changed = threading.Condition()


class Shell:
    input_streams, output_streams = "stdin", "stdout stderr"

    def __init__(self, user):
        self.id = str(uuid.uuid4()).upper()
        self.user = user
        self.commands = {}
        # Commands started: a Signal terminate does not give the operation
        # back for a text shell ([MS-WSMV] 3.1.4.12, product behavior note
        # <118>), so only a new shell starts the count again.
        self.operations = 0


class ShellResource:
    """The shells of one host. ``runner.run(command_line, stdin)`` executes a command."""

    resource_uri = RESOURCE_URI

    def __init__(self, runner, machine, limits):
        self.runner = runner
        self.machine = machine
        self.limits = limits    # callable: the host's current winrm settings
        self.lock = threading.Lock()
        self.shells = {}

    def handle(self, request, user, endpoint):
        """The response envelope (bytes) for a shell request; raises Fault."""
        action = request.action or ""
        verb = action.rsplit("/", 1)[-1]
        if verb == "Create" and action.startswith(TRANSFER):
            return self._create(request, user, endpoint)
        shell = self._shell(request)
        handler = {"Command": self._command, "Send": self._send, "Receive": self._receive,
                   "Signal": self._signal}.get(verb)
        if verb == "Receive":
            self._strike(request, shell)
        if verb == "Delete" and action.startswith(TRANSFER):
            with self.lock:
                del self.shells[shell.id]
            return envelope(TRANSFER + "/DeleteResponse", request.message_id)
        if handler is None:
            raise Fault("s:Sender", "a:ActionNotSupported",
                        "The action %s is not supported by the service." % action, 2150858771)
        return handler(request, shell)

    def _strike(self, request, shell):
        """Raise the wire fault armed for the command this Receive asks about, once, at its Receive."""
        desired = request.body.find(q("rsp", "Receive") + "/" + q("rsp", "DesiredStream"))
        command = shell.commands.get(((desired is not None and desired.get("CommandId")) or "").upper())
        fault = getattr(command, "fault", None)
        if fault is None:
            return
        fault[1] -= 1
        if fault[1] > 0:
            return
        effect, command.fault = fault[0], None
        if effect == "reset":
            raise transport.ConnectionDropped("lab fault: connection reset during Receive")
        if effect == "timeout":
            raise timed_out()
        with self.lock:
            self.shells.pop(shell.id, None)
        raise host_process_gone()

    def _shell(self, request):
        shell_id = request.selectors.get("ShellId", "")
        with self.lock:
            shell = self.shells.get(shell_id.upper())
        if shell is None:
            raise shell_not_found(shell_id)
        return shell

    def _create(self, request, user, endpoint):
        limit = self.limits().get("max_shells_per_user", DEFAULT_MAX_SHELLS)
        with self.lock:
            if sum(1 for s in self.shells.values() if s.user == user) >= limit:
                # ERROR_WSMAN_QUOTA_MAX_SHELLS (0x803381A5), seen by users as this message.
                raise Fault("s:Receiver", "w:InternalError",
                            "The WS-Management service cannot process the request. This user is allowed a maximum "
                            "number of %d concurrent shells, which has been exceeded. Close existing shells or "
                            "raise the quota for this user." % limit, 2150859173)
            shell = self._new_shell(request, user)
            self.shells[shell.id] = shell
        created = ET.Element(q("x", "ResourceCreated"))
        ET.SubElement(created, q("a", "Address")).text = endpoint
        ref = ET.SubElement(created, q("a", "ReferenceParameters"))
        ET.SubElement(ref, q("w", "ResourceURI")).text = self.resource_uri
        selectors = ET.SubElement(ref, q("w", "SelectorSet"))
        ET.SubElement(selectors, q("w", "Selector"), {"Name": "ShellId"}).text = shell.id
        body = ET.Element(q("rsp", "Shell"))
        ET.SubElement(body, q("rsp", "ShellId")).text = shell.id
        ET.SubElement(body, q("rsp", "ResourceUri")).text = self.resource_uri
        ET.SubElement(body, q("rsp", "Owner")).text = user
        ET.SubElement(body, q("rsp", "InputStreams")).text = shell.input_streams
        ET.SubElement(body, q("rsp", "OutputStreams")).text = shell.output_streams
        return envelope(TRANSFER + "/CreateResponse", request.message_id, [created, body])

    def _new_shell(self, request, user):
        return Shell(user)

    def _command(self, request, shell):
        line = request.body.find(q("rsp", "CommandLine"))
        if line is None or line.find(q("rsp", "Command")) is None:
            raise Fault("s:Sender", "w:SchemaValidationError",
                        "The SOAP XML in the message does not match the corresponding XML schema definition.",
                        2150858817)
        text = (line.findtext(q("rsp", "Command")) or "").strip()
        args = line.findtext(q("rsp", "Arguments"))
        command = Command(text + (" " + args if args else ""))
        limit = self.limits().get("max_concurrent_operations_per_user", DEFAULT_MAX_OPERATIONS)
        with self.lock:
            if shell.operations >= limit:
                # ERROR_WSMAN_QUOTA_MAX_OPERATIONS (0x803381A6); ansible.builtin.winrm re-creates its shell on it.
                raise Fault("s:Receiver", "w:InternalError",
                            "The WS-Management service cannot process the request. This user is allowed a maximum "
                            "number of %d concurrent operations, which has been exceeded. Close existing operations "
                            "for this user, or raise the quota for this user." % limit, 2150859174, wmi_error=True)
            shell.operations += 1
            shell.commands[command.id] = command
        body = ET.Element(q("rsp", "CommandResponse"))
        ET.SubElement(body, q("rsp", "CommandId")).text = command.id
        return envelope(SHELL_NS + "/CommandResponse", request.message_id, [body])

    def _find(self, shell, command_id):
        command = shell.commands.get((command_id or "").upper())
        if command is None:
            raise Fault("s:Sender", "w:InvalidParameter",
                        "The WS-Management service cannot process the request because the CommandId %s is not "
                        "valid for this shell." % command_id, 2150858840)
        return command

    def _send(self, request, shell):
        stream = request.body.find(q("rsp", "Send") + "/" + q("rsp", "Stream"))
        if stream is None:
            raise Fault("s:Sender", "w:SchemaValidationError",
                        "The SOAP XML in the message does not match the corresponding XML schema definition.",
                        2150858817)
        command = self._find(shell, stream.get("CommandId"))
        with command.changed:
            command.sent_input = True
            command.stdin.append(base64.b64decode(stream.text or ""))
            if stream.get("End", "").lower() == "true":
                self._run(command)
        return envelope(SHELL_NS + "/SendResponse", request.message_id, [ET.Element(q("rsp", "SendResponse"))])

    def _run(self, command):
        """Run the command with its whole input (caller holds command.changed)."""
        if command.result is None:
            try:
                command.result = self.runner.run(command.command_line, b"".join(command.stdin))
            except WireFault as armed:
                command.result, command.fault = armed.result, [armed.effect, armed.receive]
            command.changed.notify_all()

    def _receive(self, request, shell):
        desired = request.body.find(q("rsp", "Receive") + "/" + q("rsp", "DesiredStream"))
        command = self._find(shell, None if desired is None else desired.get("CommandId"))
        timeout = request.operation_timeout or DEFAULT_OPERATION_TIMEOUT
        with command.changed:
            if command.result is None and not command.sent_input:
                self._run(command)
            if not command.changed.wait_for(lambda: command.result is not None, timeout):
                raise timed_out()
            return self._receive_response(request, command)

    def _receive_response(self, request, command):
        rc, out, err = command.result
        room = self._max_response(request) - RESPONSE_OVERHEAD
        budget = max(3, room // 4 * 3)  # raw bytes whose base64 fits in the room left
        body = ET.Element(q("rsp", "ReceiveResponse"))
        for index, (name, data) in enumerate((("stdout", out), ("stderr", err))):
            start = command.positions[index]
            piece = data[start:start + budget]
            budget -= len(piece)
            command.positions[index] = start + len(piece)
            if piece:
                node = ET.SubElement(body, q("rsp", "Stream"), {"Name": name, "CommandId": command.id})
                node.text = base64.b64encode(piece).decode("ascii")
        finished = command.positions == [len(out), len(err)]
        if finished:
            for name in ("stdout", "stderr"):
                ET.SubElement(body, q("rsp", "Stream"), {"Name": name, "CommandId": command.id, "End": "true"})
        state = ET.SubElement(body, q("rsp", "CommandState"),
                              {"CommandId": command.id, "State": DONE if finished else RUNNING})
        if finished:
            ET.SubElement(state, q("rsp", "ExitCode")).text = str(rc)
        return envelope(SHELL_NS + "/ReceiveResponse", request.message_id, [body])

    def _max_response(self, request):
        """The response size limit: the client's MaxEnvelopeSize, capped by the
        service's MaxEnvelopeSizekb ([MS-WSMV] 3.1.4.1.7)."""
        service = self.limits().get("max_envelope_size_kb", DEFAULT_MAX_ENVELOPE_KB) * 1024
        wanted = request.max_envelope_size or service
        if wanted < MIN_ENVELOPE_SIZE:
            raise Fault("s:Sender", "w:EncodingLimit",
                        "The WS-Management service cannot process the request because the MaxEnvelopeSize %d is "
                        "less than %d octets." % (wanted, MIN_ENVELOPE_SIZE), 2150858823,
                        "http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/MaxEnvelopeSize")
        return min(wanted, service)

    def _signal(self, request, shell):
        signal = request.body.find(q("rsp", "Signal"))
        command = self._find(shell, None if signal is None else signal.get("CommandId"))
        code = (signal.findtext(q("rsp", "Code")) or "").strip()
        if code == TERMINATE:
            with self.lock:
                shell.commands.pop(command.id, None)
        body = ET.Element(q("rsp", "SignalResponse"))
        return envelope(SHELL_NS + "/SignalResponse", request.message_id, [body])
