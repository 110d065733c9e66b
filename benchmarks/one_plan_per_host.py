#!/usr/bin/env python3
"""One plan per host: the enable and cleanup playbooks against the same work done module by module, side by side.

    .venv/bin/python benchmarks/one_plan_per_host.py [--hosts 200] [--forks 10] [--images 1]

On fresh lab hosts, in one run, for each way of doing the work:

* "module by module": the tasks the enable role ran before dump_capture
  (preflight, local_dumps and gflags, each once per image, and the checks
  and the summary) and the cleanup role's (fetch_dumps, then local_dumps and
  gflags state=absent per image);
* "dump_capture": playbooks/enable_crash_dumps.yml and cleanup_crash_dumps.yml;

it prints the remote executions per host (enable, its re-run, cleanup), the
bytes sent and received per host, and the wall time of the enable run
against a play of as many no-op tasks as the playbook lists (a loop is one
task; ansible.builtin.meta: noop does not reach a host, so the no-op play is
debug tasks) on the same hosts and forks.
Exits 1 when dump_capture makes more than 2 / 1 / 2 executions per host.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "lab"))
from crashdump_lab.state import load_state, reset_host  # noqa: E402  (the lab sits beside the collection)

IMAGES = ["netsh.exe", "notepad.exe", "spoolsv.exe", "svchost.exe", "explorer.exe"]
# The enable role's tasks before dump_capture, with its defaults (the summary and the blockers' message are
# plain debug and fail tasks here: the same tasks, without the templates).
BY_MODULE_ENABLE = """- hosts: windows
  gather_facts: false
  vars: {dump_folder: C:\\WER, dump_count: 10, dump_type: full}
  tasks:
    - ansible.builtin.assert: {that: exe is defined, quiet: true}
    - crashdump.windows.local_dumps: {exe: "{{ item }}", dump_folder: "{{ dump_folder }}", dump_count: 10,
                                      dump_type: full, validate_only: true}
      loop: "{{ exe }}"
    - crashdump.windows.gflags: {image: "{{ item }}", page_heap: full, validate_only: true}
      loop: "{{ exe }}"
    - crashdump.windows.service_restart: {name: none, validate_only: true}
      when: false
    - crashdump.windows.preflight: {exe: "{{ item }}", dump_folder: "{{ dump_folder }}", dump_count: 10,
                                    dump_type: full, limit_to_image: true, page_heap: full}
      loop: "{{ exe }}"
      register: preflight
    - ansible.builtin.fail: {msg: blocked}
      when: preflight.results | map(attribute='counts.blocker') | sum > 0
    - crashdump.windows.local_dumps: {exe: "{{ item }}", dump_folder: "{{ dump_folder }}", dump_count: 10,
                                      dump_type: full}
      loop: "{{ exe }}"
    - crashdump.windows.gflags: {image: "{{ item }}", page_heap: full}
      loop: "{{ exe }}"
    - crashdump.windows.service_restart: {name: none}
      when: false
    - ansible.builtin.debug: {msg: summary}
"""
BY_MODULE_CLEANUP = """- hosts: windows
  gather_facts: false
  tasks:
    - crashdump.windows.fetch_dumps: {exe: "{{ exe }}", dest: "{{ dest }}", fetch_new: false}
    - crashdump.windows.local_dumps: {exe: "{{ item }}", state: absent, unrecorded: keep}
      loop: "{{ exe }}"
    - crashdump.windows.gflags: {image: "{{ item }}", state: absent}
      loop: "{{ exe }}"
"""
POWERSHELL_START = 0.5
NOOP = """- hosts: windows
  gather_facts: false
  tasks:
%s"""


class Fleet:
    def __init__(self, tmp, hosts, forks):
        self.tmp, self.hosts, self.forks = Path(tmp), hosts, forks
        self.bindir = Path(sys.executable).parent
        self.inventory = self.tmp / "inventory.yml"
        self.inventory.write_text("windows:\n  hosts:\n%s\n  vars:\n    ansible_connection: crashdump_lab\n"
                                  "    ansible_shell_type: powershell\n" % "\n".join("    %s: {}" % h for h in hosts))
        self.env = dict(os.environ, CRASHDUMP_LAB_STATE_DIR=str(self.tmp / "state"),
                        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
                        PATH=str(self.bindir) + os.pathsep + os.environ.get("PATH", ""))

    # The lab's own state API, in process: a labctl process per host and call would dominate the run.
    def reset(self):
        for host in self.hosts:
            reset_host(self.env["CRASHDUMP_LAB_STATE_DIR"], host)

    def counters(self):
        total = {}
        for host in self.hosts:
            for k, v in load_state(self.env["CRASHDUMP_LAB_STATE_DIR"], host)["counters"].items():
                total[k] = total.get(k, 0) + v
        return total

    def run(self, playbook, extra):
        """Per host: executions, bytes sent, bytes received; and the wall time."""
        before = self.counters()
        start = time.monotonic()
        proc = subprocess.run([str(self.bindir / "ansible-playbook"), "-i", str(self.inventory), "-f",
                               str(self.forks), str(playbook), "-e", json.dumps(extra)],
                              env=self.env, capture_output=True, text=True, cwd=str(REPO))
        seconds = time.monotonic() - start
        if proc.returncode:
            sys.exit(proc.stdout[-3000:] + proc.stderr[-3000:])
        after = self.counters()
        n = len(self.hosts)
        return [(after[k] - before.get(k, 0)) / n for k in ("round_trips", "bytes_sent", "bytes_received")], seconds

    def tasks(self, playbook, extra):
        """The playbook's tasks as --list-tasks names them (a loop is one task)."""
        out = subprocess.run([str(self.bindir / "ansible-playbook"), "-i", str(self.inventory), "--list-tasks",
                              str(playbook), "-e", json.dumps(extra)], env=self.env, capture_output=True, text=True,
                             cwd=str(REPO), check=True).stdout
        return sum(1 for line in out.splitlines() if "TAGS:" in line and not line.strip().startswith("play #"))

    def noop(self, tasks):
        book = self.tmp / ("noop_%d.yml" % tasks)
        book.write_text(NOOP % "".join("    - ansible.builtin.debug: {msg: noop}\n" for _ in range(tasks)))
        return self.run(book, {})[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--forks", type=int, default=10)
    parser.add_argument("--images", type=int, default=1, choices=range(1, len(IMAGES) + 1))
    opts = parser.parse_args()
    images = IMAGES[:opts.images]
    with tempfile.TemporaryDirectory() as tmp:
        fleet = Fleet(tmp, ["bench-%03d" % i for i in range(opts.hosts)], opts.forks)
        (fleet.tmp / "by_module_enable.yml").write_text(BY_MODULE_ENABLE)
        (fleet.tmp / "by_module_cleanup.yml").write_text(BY_MODULE_CLEANUP)
        ways = {
            "module by module": (fleet.tmp / "by_module_enable.yml", fleet.tmp / "by_module_cleanup.yml"),
            "dump_capture": (REPO / "playbooks" / "enable_crash_dumps.yml",
                             REPO / "playbooks" / "cleanup_crash_dumps.yml"),
        }
        extra = {"exe": images, "dest": str(fleet.tmp / "dumps")}
        print("%d lab hosts, forks %d, images %s" % (opts.hosts, opts.forks, ", ".join(images)))
        print("%-17s %-22s %-28s %-28s %9s %9s %6s %5s" % (
            "", "executions per host", "bytes sent per host", "bytes received per host", "enable s", "no-op s",
            "ratio", "tasks"))
        figures = {}
        for way, (enable, cleanup) in ways.items():
            tasks = fleet.tasks(enable, extra)
            fleet.reset()
            first, seconds = fleet.run(enable, extra)
            second, _ = fleet.run(enable, extra)
            undo, _ = fleet.run(cleanup, extra)
            noop = fleet.noop(tasks)
            figures[way] = (first[0], second[0], undo[0])
            print("%-17s %-22s %-28s %-28s %9.1f %9.1f %6.2f %5d" % (
                way, "%g / %g / %g" % figures[way], "%d / %d / %d" % (first[1], second[1], undo[1]),
                "%d / %d / %d" % (first[2], second[2], undo[2]), seconds, noop, seconds / noop, tasks))
        print("(enable / re-run / cleanup; ratio: enable's wall time over a play of as many no-op tasks)")
        # A lab execution costs microseconds; on Windows each one starts a PowerShell process.
        for way, (first, _second, _undo) in figures.items():
            print("%s: at %.1f s per PowerShell start (the low end on Windows), the first enable adds %.0f s of "
                  "executions to a fleet run of %d hosts with %d forks" % (
                      way, POWERSHELL_START, first * POWERSHELL_START * opts.hosts / opts.forks, opts.hosts,
                      opts.forks))
        if any(got > want for got, want in zip(figures["dump_capture"], (2, 1, 2))):
            sys.exit("dump_capture made more than 2 / 1 / 2 executions per host: %s" % (figures["dump_capture"],))


if __name__ == "__main__":
    main()
