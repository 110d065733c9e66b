"""The HTTP listener of a lab host's WS-Management endpoint (POST /wsman).

Each lab host gets its own listener on loopback; requests are authenticated
(auth.py), unsealed, dispatched by resource URI (shell.py) and sealed again.
HTTP status codes follow [MS-WSMV] 3.1.5.1 (authentication) and DSP0226:
401 for authentication, 500 with a SOAP fault for a WS-Management error.
"""

from __future__ import annotations

import base64
import binascii
import http.server
import socket
import threading

from .. import faults, state, transport
from . import auth, soap, tls
from .counters import CountedStream, WireCounters
from .psrp import PowerShellResource
from .runner import Runner
from .shell import DEFAULT_MAX_ENVELOPE_KB, ShellResource

SOAP_TYPE = "application/soap+xml;charset=UTF-8"


def _envelope_too_large(limit):
    # The request is bigger than the service's MaxEnvelopeSizekb ([MS-WSMV]
    # 2.2.4.10: the setting also limits the size of client request packets).
    return soap.Fault("s:Sender", "w:EncodingLimit",
                      "The WS-Management service cannot process the request because the request size exceeded "
                      "the configured MaxEnvelopeSize quota of %d bytes." % limit, 2150858790,
                      "http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/MaxEnvelopeSize")


class HostEndpoint:
    """What every connection to one host's listener shares."""

    def __init__(self, state_dir, host, cred_dir, channel_bindings=None, resources=None, counters=None):
        self.state_dir = state_dir
        self.host = host
        self.cred_dir = cred_dir
        self.channel_bindings = channel_bindings  # set for an HTTPS listener
        self.counters = counters or WireCounters([host])
        # The HTTP and HTTPS listeners of a host share its shells (and their
        # quota): WinRS shells and PowerShell runspace pools, by resource URI.
        if resources is None:
            runner = Runner(state_dir, host, self._command_starts)
            resources = {r.resource_uri: r for r in (
                ShellResource(runner, host.upper(), self.settings),
                PowerShellResource(runner, host.upper(), self.settings))}
        self.resources = resources

    def _command_starts(self, kind):
        """Count a command of ``kind``; the wire fault armed for its reply, or None."""
        self.counters.add(self.host, command=kind)
        on = "receive:" + kind
        if not any(f.get("on") == on for f in state.load_state(self.state_dir, self.host).get("faults", [])):
            return None  # the usual case, without taking the host's lock
        with state.open_host(self.state_dir, self.host) as lab:
            fault = faults.fire(lab.state, on)
        return fault

    def resource(self, uri):
        """The resource ``uri`` names."""
        found = self.resources.get(uri)
        if found is None:
            raise soap.Fault("s:Sender", "w:DestinationUnreachable",
                             "The WS-Management service cannot process the request because the resource URI %s is "
                             "not served by this lab host." % uri, 2150858770)
        return found

    def settings(self):
        """The host's current winrm settings (its state can change while serving)."""
        conf = dict(state.load_state(self.state_dir, self.host).get("winrm") or {})
        conf.update(auth.settings({"winrm": conf}))
        return conf


class Handler(http.server.BaseHTTPRequestHandler):
    """One TCP connection: NTLM authenticates it once, then seals each message."""

    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-HTTPAPI/2.0"
    sys_version = ""
    endpoint: HostEndpoint  # set on the subclass made for each host

    def setup(self):
        super().setup()
        self.ntlm = auth.NtlmSession(self.endpoint.cred_dir, self.endpoint.host, self.endpoint.channel_bindings)
        self.final_token = None  # SPNEGO's last token, sent with the next response
        counters, host = self.endpoint.counters, self.endpoint.host
        self.rfile = CountedStream(self.rfile, lambda size: counters.received(host, size))
        self.wfile = CountedStream(self.wfile, lambda size: counters.add(host, bytes_out=size))

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.endpoint.counters.add(self.endpoint.host, requests=1)
        if self.path.split("?")[0].lower() != "/wsman":
            self._reply(404, b"", {"Content-Type": "text/plain"})
            return
        conf = self.endpoint.settings()
        try:
            scheme = self._authenticate(conf)
        except auth.Refused as refused:
            self._reply(401, b"", {"WWW-Authenticate": refused.challenges})
            return
        if scheme is None:
            return  # an NTLM round trip was answered
        if scheme == "ntlm" and not body:
            self._reply(200, b"", {})   # pywinrm's empty message that sets up the context
            return
        sealed = scheme == "ntlm" and self.headers.get("Content-Type", "").startswith("multipart/encrypted")
        if sealed:
            try:
                body = self.ntlm.unwrap(body)
            except Exception as e:  # noqa: BLE001 - whatever fails unsealing, the request is bad
                self.log_error("cannot unseal: %s", e)
                self._reply(400, b"", {})
                return
        elif not conf["allow_unencrypted"] and self.endpoint.channel_bindings is None:
            # AllowUnencrypted false: over HTTP an unsealed message is refused (HTTPS encrypts them all).
            self._reply(401, b"", {"WWW-Authenticate": auth.challenges(conf)})
            return
        try:
            status, reply = 200, self._dispatch(body, conf)
        except transport.ConnectionDropped:
            self.close_connection = True  # an armed lab fault: the connection resets
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        except soap.Fault as fault:
            status, reply = 500, soap.fault_envelope(fault, fault.relates_to, self.endpoint.host)
        if sealed:
            self._reply(status, self.ntlm.wrap(reply), {"Content-Type": auth.ENCRYPTED_TYPE})
        else:
            self._reply(status, reply, {"Content-Type": SOAP_TYPE})

    def _authenticate(self, conf):
        """"ntlm" for an authenticated NTLM connection, "basic" for a Basic
        request, None when an NTLM challenge was sent. Raises auth.Refused."""
        header = self.headers.get("Authorization")
        if header:
            scheme, _, token = header.partition(" ")
            if scheme.lower() == "basic":
                auth.check_basic(token.strip(), conf)
                self.ntlm.context = None
                return "basic"
            if scheme.lower() in ("negotiate", "ntlm"):
                try:
                    raw = base64.b64decode(token.strip(), validate=True)
                except binascii.Error as e:
                    raise auth.Refused("malformed %s token" % scheme, auth.challenges(conf)) from e
                reply = self.ntlm.step(scheme, raw, conf)
                if reply is not None and not self.ntlm.complete:
                    self._reply(401, b"", {"WWW-Authenticate": [reply]})
                    return None
                self.final_token = reply
                return "ntlm"
            raise auth.Refused("unsupported authentication scheme %s" % scheme, auth.challenges(conf))
        if self.ntlm.complete:
            return "ntlm"
        raise auth.Refused("no credentials", auth.challenges(conf))

    def _dispatch(self, body, conf):
        limit = int(conf.get("max_envelope_size_kb", DEFAULT_MAX_ENVELOPE_KB)) * 1024
        if len(body) > limit:
            raise _envelope_too_large(limit)
        request = soap.parse(body)
        try:
            user = conf["user"]
            scheme = "http" if self.endpoint.channel_bindings is None else "https"
            endpoint = "%s://%s:%d/wsman" % ((scheme,) + self.server.server_address[:2])
            return self.endpoint.resource(request.resource_uri).handle(request, user, endpoint)
        except soap.Fault as fault:
            fault.relates_to = request.message_id
            raise

    def _reply(self, status, body, headers):
        self.send_response(status)
        if self.final_token is not None:
            self.send_header("WWW-Authenticate", self.final_token)
            self.final_token = None
        for name, value in headers.items():
            for one in value if isinstance(value, list) else [value]:
                self.send_header(name, one)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Listener(http.server.ThreadingHTTPServer):
    daemon_threads = True
    # Closing must not wait for keep-alive connections whose clients are still idle.
    block_on_close = False
    allow_reuse_address = True
    ssl_context = None

    def get_request(self):
        sock, address = super().get_request()
        if self.ssl_context is not None:
            # The handshake runs in the connection's own thread, at its first read.
            sock = self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address


def listen(state_dir, host, cred_dir, bind="127.0.0.1", port=0, certificate=None, beside=None, counters=None):
    """A Listener for ``host`` on ``bind:port`` (0: any free port), not yet
    serving; HTTPS with ``certificate`` (cert_path, key_path from
    tls.certificate); sharing the shells and counters of the Listener
    ``beside``; counting into ``counters`` (WireCounters, else its own)."""
    bindings = None if certificate is None else tls.channel_bindings(certificate[0])
    resources = None
    if beside is not None:
        resources = beside.RequestHandlerClass.endpoint.resources
        counters = beside.RequestHandlerClass.endpoint.counters
    endpoint = HostEndpoint(state_dir, host, cred_dir, bindings, resources, counters)
    handler = type("Handler_%s" % host.replace("-", "_"), (Handler,), {"endpoint": endpoint})
    listener = Listener((bind, port), handler)
    if certificate is not None:
        listener.ssl_context = tls.server_context(*certificate)
    return listener


def serve_all(listeners):
    """Serve every listener in its own thread; returns the function that stops them."""
    threads = [threading.Thread(target=lst.serve_forever, name="wsman-%d" % i, daemon=True)
               for i, lst in enumerate(listeners)]
    for t in threads:
        t.start()

    def stop(timeout=5.0):
        # shutdown() waits up to a poll interval for its loop: ask every loop at once.
        closers = [threading.Thread(target=lst.shutdown, daemon=True) for lst in listeners]
        for closer in closers:
            closer.start()
        for closer in closers:
            closer.join(timeout)
        for lst in listeners:
            lst.server_close()
    return stop
