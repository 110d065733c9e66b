"""``labctl serve``: run the WS-Management endpoints of lab hosts in the foreground."""

from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
import threading

from . import server

DEFAULT_PORT = 5985  # WinRM's HTTP port
INVENTORY = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                         "inventory.yml")

HELP = """\
Serve lab hosts as WinRM (WS-Management over HTTP) endpoints on loopback, for
ansible.builtin.winrm with ansible_winrm_transport=ntlm (message encryption on,
as pywinrm does over HTTP). Each host gets its own port, in the order given:
PORT, PORT+1, ... (--port 0: free ports chosen by the system). One JSON line
per host ({"host", "url", "port"}) is printed when the listeners are ready.

Runs in the foreground until SIGTERM or Ctrl-C (SIGINT), then closes the
listeners and exits 0: stop it with `kill <pid>`.

Credentials: user "Administrator", password "CrashLab-2026!" unless the
host's state has a "winrm" section overriding them, e.g. seeded with
{"winrm": {"user": "ops", "password": "...", "allow_basic": true,
"allow_unencrypted": true, "max_shells_per_user": 30,
"max_envelope_size_kb": 500}} (Windows' defaults: Basic and unencrypted
messages refused, 30 shells per user, 500 KB envelopes).
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
    s = sub.add_parser("serve", help="serve lab hosts as WinRM endpoints (foreground; stop with SIGTERM or Ctrl-C)",
                       description=HELP, formatter_class=__import__("argparse").RawDescriptionHelpFormatter)
    s.add_argument("hosts", nargs="*", help="default: every host of lab/inventory.yml")
    s.add_argument("--bind", default="127.0.0.1", help="loopback address to listen on (default 127.0.0.1)")
    s.add_argument("--port", type=int, default=DEFAULT_PORT, help="first port (default 5985; 0: free ports)")
    return s


def run(args, state_dir):
    hosts = args.hosts or inventory_hosts()
    if not args.bind.startswith("127."):
        raise ValueError("labctl serve listens on loopback only (127.x.x.x), not %s" % args.bind)
    stop_event = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop_event.set())
    with tempfile.TemporaryDirectory(prefix="labctl-serve-") as cred_dir:
        listeners = []
        try:
            for i, host in enumerate(hosts):
                port = 0 if args.port == 0 else args.port + i
                listeners.append(server.listen(state_dir, host, cred_dir, args.bind, port))
        except OSError:
            for lst in listeners:
                lst.server_close()
            raise
        stop = server.serve_all(listeners)
        for host, lst in zip(hosts, listeners):
            bind, port = lst.server_address[:2]
            print(json.dumps({"host": host, "url": "http://%s:%d/wsman" % (bind, port), "port": port}), flush=True)
        stop_event.wait()
        stop()
    print(json.dumps({"stopped": hosts}), file=sys.stderr, flush=True)
    return None
