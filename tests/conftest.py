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

class Lab:
    """A private lab: its own state folder and inventory under tmp_path."""

    def __init__(self, root):
        self.root = root
        self.state_dir = root / "state"
        self.state_dir.mkdir()
        self.hosts = {}
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

    def inventory(self):
        inv = self.root / "inventory.yml"
        lines = ["all:", "  children:", "    windows:", "      hosts:"]
        lines += ["        %s: {}" % h for h in self.hosts]
        lines += ["      vars:", "        ansible_connection: crashdump_lab", "        ansible_shell_type: powershell"]
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
    return Lab(tmp_path)
