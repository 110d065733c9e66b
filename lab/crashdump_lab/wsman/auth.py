"""HTTP authentication of a WinRM listener, and WinRM message encryption.

Windows' WinRM service, as configured by ``winrm quickconfig`` (defaults in
"Installation and configuration for Windows Remote Management",
https://learn.microsoft.com/en-us/windows/win32/winrm/installation-and-configuration-for-windows-remote-management):
Service/Auth/Negotiate true, Basic false, AllowUnencrypted false. Over HTTP a
Negotiate (NTLM) client must then encrypt every message with its security
context: [MS-WSMV] 2.2.9.1 Encrypted Message Types, 2.2.9.1.1 SPNEGO
(multipart/encrypted, protocol "application/HTTP-SPNEGO-session-encrypted").

NTLM itself is pyspnego's acceptor: this module only feeds it tokens. The
acceptor reads the accepted account from the file named by NTLM_USER_FILE at
the moment it checks the response, so that variable is set per host under a
lock (one lab process serves several hosts with different passwords).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import re
import struct
import threading

import spnego
import spnego.exceptions

# The lab host's WinRM account unless its state says otherwise ("winrm" section).
DEFAULT_USER = "Administrator"
DEFAULT_PASSWORD = "CrashLab-2026!"  # noqa: S105 - a lab default, documented in labctl serve --help
PROTOCOL = b"application/HTTP-SPNEGO-session-encrypted"
BOUNDARY = b"--Encrypted Boundary"
ENCRYPTED_TYPE = ('multipart/encrypted;protocol="application/HTTP-SPNEGO-session-encrypted";'
                  'boundary="Encrypted Boundary"')
NTLM_SIGNATURE = b"NTLMSSP\x00"

_env_lock = threading.Lock()


class Refused(Exception):
    """The request is not authenticated: answer 401 with these challenge headers."""

    def __init__(self, message, challenges):
        super().__init__(message)
        self.challenges = challenges


def settings(state):
    """The host's WinRM account and service switches, with the lab defaults."""
    winrm = state.get("winrm") or {}
    return {
        "user": winrm.get("user", DEFAULT_USER),
        "password": winrm.get("password", DEFAULT_PASSWORD),
        # Service/Auth/Basic and Service/AllowUnencrypted are both false by default.
        "allow_basic": bool(winrm.get("allow_basic", False)),
        "allow_unencrypted": bool(winrm.get("allow_unencrypted", False)),
    }


def challenges(conf):
    """WWW-Authenticate values of a 401: Negotiate always, Basic only when enabled."""
    offered = ["Negotiate"]
    if conf["allow_basic"]:
        offered.append('Basic realm="WSMAN"')
    return offered


@contextlib.contextmanager
def _user_file(cred_dir, host, conf):
    """NTLM_USER_FILE naming the host's one account (domain-less, ``.`` and
    the host's own name, the forms a local account is given in)."""
    path = os.path.join(cred_dir, "%s.ntlm" % host)
    user, password = conf["user"], conf["password"]
    lines = ["%s:%s:%s" % (domain, user, password) for domain in ("", ".", host.upper())]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    with _env_lock:
        before = os.environ.get("NTLM_USER_FILE")
        os.environ["NTLM_USER_FILE"] = path
        try:
            yield
        finally:
            if before is None:
                del os.environ["NTLM_USER_FILE"]
            else:
                os.environ["NTLM_USER_FILE"] = before


class NtlmSession:
    """The NTLM exchange of one TCP connection (NTLM authenticates the
    connection, not a request) and, once complete, its message sealing."""

    def __init__(self, cred_dir, host, channel_bindings=None):
        self.cred_dir = cred_dir
        self.host = host
        self.channel_bindings = channel_bindings  # over HTTPS: the certificate's (tls.channel_bindings)
        self.context = None

    @property
    def complete(self):
        return self.context is not None and self.context.complete

    def step(self, scheme, token, conf):
        """Feed one ``Authorization: Negotiate|NTLM <token>``; returns the
        reply header value, or None. SPNEGO's last reply (its mechListMIC)
        comes with the exchange complete: it goes on the response to the
        request itself. Raises Refused."""
        with _user_file(self.cred_dir, self.host, conf):
            try:
                if self.context is None or self.context.complete:
                    # A raw NTLM token (transport=ntlm), or SPNEGO offering NTLM
                    # (auth=negotiate, ansible.builtin.psrp's default): Negotiate
                    # uses NTLM when Kerberos is not available, as for a workgroup
                    # host ("Authentication for remote connections",
                    # https://learn.microsoft.com/en-us/windows/win32/winrm/authentication-for-remote-connections).
                    # The lab has no Kerberos: SPNEGO settles on NTLM.
                    raw = token[:8] == NTLM_SIGNATURE
                    self.context = spnego.server(protocol="ntlm" if raw else "negotiate",
                                                 options=spnego.NegotiateOptions.use_ntlm if raw else 0,
                                                 channel_bindings=self.channel_bindings)
                reply = self.context.step(token)
            except spnego.exceptions.SpnegoError as e:
                self.context = None
                raise Refused("NTLM authentication failed: %s" % e, challenges(conf)) from e
        if reply is not None:
            return "%s %s" % (scheme, base64.b64encode(reply).decode("ascii"))
        return None

    def unwrap(self, body):
        """The SOAP message sealed in a multipart/encrypted body ([MS-WSMV] 2.2.9.1.1)."""
        parts = [p for p in body.split(BOUNDARY + b"\r\n") if p]
        if len(parts) != 2:
            raise ValueError("expected one encrypted part")
        m = re.search(rb"Length=(\d+)", parts[0])
        payload = parts[1]
        if payload.endswith(BOUNDARY + b"--\r\n"):
            payload = payload[:-len(BOUNDARY + b"--\r\n")]
        prefix = b"\tContent-Type: application/octet-stream\r\n"
        if not m or not payload.startswith(prefix):
            raise ValueError("malformed encrypted part")
        payload = payload[len(prefix):]
        (sig_len,) = struct.unpack("<I", payload[:4])
        signature, sealed = payload[4:4 + sig_len], payload[4 + sig_len:]
        message = self.context.unwrap(signature + sealed).data
        if len(message) != int(m.group(1)):
            raise ValueError("decrypted length differs from OriginalContent Length")
        return message

    def wrap(self, message):
        """``message`` sealed as a multipart/encrypted body."""
        sealed = self.context.wrap(message, encrypt=True).data
        signature, data = sealed[:16], sealed[16:]
        return (BOUNDARY + b"\r\n\tContent-Type: " + PROTOCOL + b"\r\n"
                b"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=" + str(len(message)).encode()
                + b"\r\n" + BOUNDARY + b"\r\n\tContent-Type: application/octet-stream\r\n"
                + struct.pack("<I", len(signature)) + signature + data + BOUNDARY + b"--\r\n")


def check_basic(token, conf):
    """Accept ``Authorization: Basic`` only when the host enables it and the
    account matches; raises Refused otherwise."""
    if not conf["allow_basic"]:
        raise Refused("Basic authentication is disabled on this host (Service/Auth/Basic)", challenges(conf))
    try:
        user, _, password = base64.b64decode(token, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError) as e:
        raise Refused("malformed Basic credentials", challenges(conf)) from e
    if user.rpartition("\\")[2].lower() != conf["user"].lower() or password != conf["password"]:
        raise Refused("wrong user name or password", challenges(conf))
