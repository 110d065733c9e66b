"""Shared pytest setup: make the collection and the lab importable with plain pytest.

* ``import ansible_collections.crashdump.windows...`` resolves through
  ``.ansible/collections/ansible_collections/crashdump/windows``, the symlink to
  this checkout that tools/setup.sh makes; ``ansible_collections`` is a
  namespace package, so no ``__init__.py`` is needed.
* ``import crashdump_lab`` comes from ``lab/``.
* ``ANSIBLE_COLLECTIONS_PATH`` names the same folder, so that ansible-core's
  own collection finder, once something installs it (the plugin loader, or an
  ``ansible-*`` subprocess), finds the collection at the same place.
"""

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
COLLECTIONS = REPO / ".ansible" / "collections"
LINK = COLLECTIONS / "ansible_collections" / "crashdump" / "windows"

if not (LINK / "galaxy.yml").is_file():
    pytest.exit(f"{LINK} is missing: run tools/setup.sh first", returncode=4)

for path in (REPO / "lab", REPO, COLLECTIONS):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

_paths = os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(os.pathsep)
if str(COLLECTIONS) not in _paths:
    os.environ["ANSIBLE_COLLECTIONS_PATH"] = os.pathsep.join([str(COLLECTIONS), *filter(None, _paths)])


# -- Running the collection through real ansible-playbook on seeded lab hosts --

# By default Lab.inventory() reaches its hosts through the lab's private
# connection plugin (lab/connection_plugins, named by ./ansible.cfg): the same
# agent batches against the same model, without the HTTP, NTLM and message
# encryption of each request and the NTLM handshake of each connection, which
# is what lets the suite's hundreds of playbook runs fit its time budget. The
# wire has tests of its own (test_roles_on_the_wire.py, test_wire_*.py, the
# endpoint tests); CRASHDUMP_LAB_CONNECTION=winrm or psrp runs every lab test
# that way: Lab.inventory() then serves its hosts with `labctl serve` and
# reaches them with ansible.builtin.winrm or ansible.builtin.psrp.
LAB_CONNECTION = os.environ.get("CRASHDUMP_LAB_CONNECTION", "crashdump_lab")
WINRM_USER, WINRM_PASSWORD = "Administrator", "CrashLab-2026!"  # the lab hosts' default account


_RUNNING = []  # every Served still running, stopped at the end of the session at the latest


class Served:
    """A running ``labctl serve`` for some lab hosts (free loopback ports), stopped by pid."""

    def __init__(self, env, hosts, options=("--port", "0")):
        self.proc = subprocess.Popen([str(REPO / "lab" / "labctl"), "serve", *options, *hosts],
                                     env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _RUNNING.append(self)
        self.ports, self.https_ports = {}, {}
        for _host in hosts:
            line = self.proc.stdout.readline()
            if not line:
                self.proc.wait()
                raise AssertionError("labctl serve did not start: %s" % self.proc.stderr.read())
            info = json.loads(line)
            self.ports[info["host"]] = info["port"]
            self.https_ports[info["host"]] = info["https_port"]
            self.certificate = info["certificate"]

    def url(self, host):
        return "http://127.0.0.1:%d/wsman" % self.ports[host]

    def stop(self):
        """SIGTERM by pid; the exit code."""
        if self in _RUNNING:
            _RUNNING.remove(self)
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
        try:
            return self.proc.wait(timeout=15)
        finally:
            self.proc.stdout.close()
            self.proc.stderr.close()


def pytest_sessionfinish(session, exitstatus):
    """Stop servers of labs made outside the ``lab`` fixture (module-scoped fixtures)."""
    for served in list(_RUNNING):
        served.stop()


# How ansible.builtin.winrm and ansible.builtin.psrp reach a served host: HTTP, NTLM (with message encryption).
SERVED_CONNECTION_VARS = {
    "winrm": {"ansible_winrm_transport": "ntlm", "ansible_winrm_scheme": "http",
              "ansible_winrm_message_encryption": "always"},
    "psrp": {"ansible_psrp_auth": "ntlm", "ansible_psrp_protocol": "http"},
}


def served_inventory_lines(connection, ports, password=WINRM_PASSWORD):
    """Hosts reached with ansible.builtin.``connection`` at their served ports."""
    lines = ["        %s: {ansible_host: 127.0.0.1, ansible_port: %d}" % (h, p) for h, p in ports.items()]
    variables = dict(SERVED_CONNECTION_VARS[connection], ansible_connection=connection, ansible_user=WINRM_USER,
                     ansible_password=password)
    return lines + ["      vars:"] + ["        %s: %s" % (k, json.dumps(v)) for k, v in variables.items()]


class Lab:
    """A private lab: its own state folder and inventory under tmp_path."""

    def __init__(self, root):
        self.root = root
        self.state_dir = root / "state"
        self.state_dir.mkdir()
        self.hosts = {}
        self.served = []
        self.env = dict(os.environ,
                        CRASHDUMP_LAB_STATE_DIR=str(self.state_dir),
                        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
                        ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS),
                        ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
                        ANSIBLE_STDOUT_CALLBACK="minimal",
                        PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))

    def labctl(self, *args):
        proc = subprocess.run([str(REPO / "lab" / "labctl"), *map(str, args)], env=self.env,
                              capture_output=True, text=True, check=False)
        if proc.returncode:
            raise AssertionError("labctl %s failed:\n%s%s" % (" ".join(map(str, args)), proc.stdout, proc.stderr))
        return proc.stdout

    def host(self, name, overlay=None, arch="AMD64"):
        """Start ``name`` clean, or with ``overlay`` deep-merged onto a clean host."""
        self.labctl("reset", name, "--arch", arch)
        if overlay is not None:
            seed = self.root / ("%s.seed.json" % name)
            seed.write_text(json.dumps(overlay))
            self.labctl("seed", name, seed)
        self.hosts[name] = arch
        return name

    def state(self, name):
        return json.loads(self.labctl("show", name))

    def registry(self, name):
        return self.state(name)["registry"]

    def stats(self, name):
        return json.loads(self.labctl("stats", name))

    def serve(self, *hosts, options=("--port", "0")):
        """Serve ``hosts`` as WinRM endpoints until the test ends (``options``: of labctl serve)."""
        served = Served(self.env, hosts, options)
        self.served.append(served)
        return served

    def close(self):
        for served in self.served:
            served.stop()

    def inventory(self, password=WINRM_PASSWORD, connection=None):
        """The lab's hosts over ``connection`` (winrm, psrp: served; else the lab plugin); CRASHDUMP_LAB_CONNECTION
        by default."""
        connection = connection or LAB_CONNECTION
        inv = self.root / "inventory.yml"
        lines = ["all:", "  children:", "    windows:", "      hosts:"]
        if connection in SERVED_CONNECTION_VARS:
            ports = {h: p for served in self.served for h, p in served.ports.items()}
            missing = [h for h in self.hosts if h not in ports]
            if missing:
                ports.update(self.serve(*missing).ports)
            lines += served_inventory_lines(connection, {h: ports[h] for h in self.hosts}, password)
        else:
            lines += ["        %s: {}" % h for h in self.hosts]
            lines += ["      vars:", "        ansible_connection: crashdump_lab",
                      "        ansible_shell_type: powershell"]
        inv.write_text("\n".join(lines) + "\n")
        return inv

    def play(self, tasks, *args, hosts="windows", check=True, extra_vars=None):
        """Write a one-play playbook of ``tasks`` (YAML text) and run it."""
        book = self.root / "play.yml"
        book.write_text("- hosts: %s\n  gather_facts: false\n  tasks:\n%s\n" % (
            hosts, "\n".join("    " + line for line in tasks.strip("\n").splitlines())))
        return self.playbook(book, *args, check=check, extra_vars=extra_vars)

    def playbook(self, path, *args, check=True, extra_vars=None, inventory=None, env=None):
        """Run a playbook on the lab's hosts (or ``inventory``); results parsed into ``proc.results``."""
        cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory or self.inventory()),
               str(path), *map(str, args)]
        if extra_vars:
            cmd += ["-e", json.dumps(extra_vars)]
        proc = subprocess.run(cmd, env=dict(self.env, **(env or {})), capture_output=True, text=True,
                              cwd=str(REPO), check=False)
        proc.results = task_results(proc.stdout)
        if check and proc.returncode:
            raise AssertionError("ansible-playbook failed (rc=%d):\n%s\n%s"
                                 % (proc.returncode, proc.stdout, proc.stderr))
        return proc


def changed_count(proc):
    """Tasks that reported a change, over all hosts."""
    assert proc.results, proc.stdout
    return sum(1 for _host, result in proc.results if result.get("changed"))


def task_results(stdout):
    """[(host, result)] in order, from the minimal callback's ``host | STATUS => {...}`` lines."""
    decoder = json.JSONDecoder()
    found = []
    for m in re.finditer(r"^(\S+) \| (SUCCESS|CHANGED|FAILED!|SKIPPED|UNREACHABLE!) => ", stdout, re.M):
        result, _end = decoder.raw_decode(stdout, m.end())
        found.append((m.group(1), result))
    return found


@pytest.fixture
def lab(tmp_path):
    lab = Lab(tmp_path)
    yield lab
    lab.close()
