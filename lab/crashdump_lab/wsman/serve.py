"""``labctl serve``: run the WS-Management endpoints of lab hosts in the foreground."""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import signal
import sys
import tempfile
import threading

from . import server, tls
from .counters import WireCounters

DEFAULT_PORT = 5985  # WinRM's HTTP port
DEFAULT_HTTPS_PORT = 5986  # and its HTTPS port
INVENTORY = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                         "inventory.yml")

HELP = """\
Serve lab hosts as WinRM (WS-Management) endpoints on loopback, for
ansible.builtin.winrm with ansible_winrm_transport=ntlm and for
ansible.builtin.psrp (ansible_psrp_auth negotiate or ntlm; the PowerShell
remoting resource Microsoft.PowerShell): HTTP with message encryption (what
pywinrm and pypsrp do over HTTP) and HTTPS with a certificate the lab makes
(STATE_DIR/wsman-https.pem; trust it with ansible_winrm_ca_trust_path or
ansible_psrp_ca_cert, or turn validation off). lab/inventory.yml
reaches them; add -e ansible_connection=psrp for psrp.

Like real hosts, each host has its own loopback address, in the order given:
127.0.0.1, 127.0.0.2, ... (from --bind), each with --port (5985) and
--https-port (5986). With --port 0 every listener is on the --bind address at
a free port instead. One JSON line per host ({"host", "address", "port",
"https_port", "url", "https_url", "certificate"}) is printed when ready.

Counters: with --counters FILE, FILE holds what crossed the wire to each
host since the start, as {"hosts": {HOST: {"requests", "bytes_in",
"bytes_out", "commands": {"agent", "put_file", "fetch_file", "refused"}}}}:
HTTP requests (NTLM handshakes included), the HTTP bytes read and written
(after TLS for HTTPS), and the commands (WinRS commands and PSRP pipelines)
by kind: the collection's agent batches, ansible-core's put_file and
fetch_file scripts, and refused PowerShell. It is rewritten (atomically)
before each response leaves, so a client holding a reply reads counters
that include its request; lab/callback_plugins/lab_round_trips.py reads it
between tasks to give them per task.

Runs in the foreground until SIGTERM or Ctrl-C (SIGINT), then closes the
listeners and exits 0: stop it with `kill <pid>`.

Credentials: user "Administrator", password "CrashLab-2026!" unless the
host's state has a "winrm" section overriding them, e.g. seeded with
{"winrm": {"user": "ops", "password": "...", "allow_basic": true,
"allow_unencrypted": true, "max_shells_per_user": 30,
"max_concurrent_operations_per_user": 1500, "max_envelope_size_kb": 500}}
(Windows' defaults: Basic and unencrypted messages refused, 30 shells and
1500 operations per user, 500 KB envelopes).
"""


def inventory_hosts(path=INVENTORY):
    """The lab inventory's hosts, in file order."""
    import yaml
    with open(path, encoding="utf-8") as f:
        data = yaml.safe_load(f) or {}
    hosts = []

    def walk(group):
        for name in (group.get("hosts") or {}):
            if name not in hosts:
                hosts.append(name)
        for child in (group.get("children") or {}).values():
            walk(child or {})
    for group in data.values():
        walk(group or {})
    return hosts


def add_parser(sub):
    s = sub.add_parser("serve",
                       help="serve lab hosts as WinRM and PSRP endpoints (foreground; stop with SIGTERM or Ctrl-C)",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("hosts", nargs="*", help="default: every host of lab/inventory.yml")
    s.add_argument("--bind", default="127.0.0.1", help="first loopback address (default 127.0.0.1)")
    s.add_argument("--port", type=int, default=DEFAULT_PORT, help="HTTP port (default 5985; 0: free ports)")
    s.add_argument("--https-port", type=int, default=DEFAULT_HTTPS_PORT, help="HTTPS port (default 5986)")
    s.add_argument("--counters", metavar="FILE", default=None,
                   help="keep the wire counters of every host in FILE (JSON, see above)")
    return s


def _addresses(args, count):
    first = ipaddress.ip_address(args.bind)
    if not first.is_loopback:
        raise ValueError("labctl serve listens on loopback only, not %s" % args.bind)
    if args.port == 0:
        return [(str(first), 0, 0)] * count
    addresses = [first + i for i in range(count)]
    if not addresses[-1].is_loopback:
        raise ValueError("%d hosts do not fit in loopback addresses from %s" % (count, first))
    return [(str(a), args.port, args.https_port) for a in addresses]


def run(args, state_dir):
    hosts = args.hosts or inventory_hosts()
    places = _addresses(args, len(hosts))
    stop_event = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop_event.set())
    certificate = tls.certificate(state_dir, ["localhost", *hosts], sorted({a for a, _, _ in places}))
    counters = WireCounters(hosts, args.counters)
    with tempfile.TemporaryDirectory(prefix="labctl-serve-") as cred_dir:
        listeners = []
        try:
            for host, (address, port, https_port) in zip(hosts, places):
                http = server.listen(state_dir, host, cred_dir, address, port, counters=counters)
                listeners.append(http)
                listeners.append(server.listen(state_dir, host, cred_dir, address, https_port, certificate, http))
        except OSError:
            for lst in listeners:
                lst.server_close()
            raise
        stop = server.serve_all(listeners)
        for i, host in enumerate(hosts):
            address, port = listeners[2 * i].server_address[:2]
            https_port = listeners[2 * i + 1].server_address[1]
            print(json.dumps({"host": host, "address": address, "port": port, "https_port": https_port,
                              "url": "http://%s:%d/wsman" % (address, port),
                              "https_url": "https://%s:%d/wsman" % (address, https_port),
                              "certificate": certificate[0]}), flush=True)
        stop_event.wait()
        stop()
    print(json.dumps({"stopped": hosts}), file=sys.stderr, flush=True)
