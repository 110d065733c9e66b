#!/usr/bin/env python3
"""Remote executions and bytes of the enable playbook on a fleet of lab hosts.

    .venv/bin/python benchmarks/enable_round_trips.py [--hosts 50] [--forks 10]

Runs playbooks/enable_crash_dumps.yml -e exe=netsh.exe twice over fresh lab
hosts and prints, per run, the remote executions of each module on each
host (lab/callback_plugins/lab_round_trips.py reads the lab's counters
between tasks), and the bytes sent and received in all.

preflight only reads: one execution per image per host on every run.
local_dumps and gflags read, then write when something must change: two
executions each on the first run, one on the second. Exits 1 when a module
makes other numbers on any host.
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
# Executions per host on the first and the second run.
EXPECTED = {"crashdump.windows.preflight": (1, 1), "crashdump.windows.local_dumps": (2, 1),
            "crashdump.windows.gflags": (2, 1)}


def counters(env, hosts):
    total = {}
    for host in hosts:
        out = subprocess.run([str(REPO / "lab" / "labctl"), "stats", host], env=env, check=True,
                             capture_output=True, text=True).stdout
        for k, v in json.loads(out).items():
            total[k] = total.get(k, 0) + v
    return total


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--forks", type=int, default=10)
    opts = parser.parse_args()
    bindir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory() as tmp:
        hosts = ["bench-%03d" % i for i in range(opts.hosts)]
        inventory = Path(tmp) / "inventory.yml"
        inventory.write_text("windows:\n  hosts:\n%s\n  vars:\n    ansible_connection: crashdump_lab\n"
                             "    ansible_shell_type: powershell\n" % "\n".join("    %s: {}" % h for h in hosts))
        trips_file = Path(tmp) / "round_trips.json"
        state_dir = Path(tmp) / "state"
        env = dict(os.environ, CRASHDUMP_LAB_STATE_DIR=str(state_dir), ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
                   ANSIBLE_CALLBACK_PLUGINS=str(REPO / "lab" / "callback_plugins"),
                   ANSIBLE_CALLBACKS_ENABLED="lab_round_trips", CRASHDUMP_LAB_ROUND_TRIPS_FILE=str(trips_file),
                   PATH=str(bindir) + os.pathsep + os.environ.get("PATH", ""))
        for host in hosts:
            subprocess.run([str(REPO / "lab" / "labctl"), "reset", host], env=env, check=True, capture_output=True)
        print("enable_crash_dumps.yml -e exe=netsh.exe on %d lab hosts, forks %d" % (opts.hosts, opts.forks))
        print("%-7s %8s %-36s %12s %14s %8s" % ("run", "changed", "executions per host", "bytes sent",
                                                "bytes received", "seconds"))
        missed = []
        for run_index, run in enumerate(("first", "second")):
            before = counters(env, hosts)
            start = time.monotonic()
            proc = subprocess.run([str(bindir / "ansible-playbook"), "-i", str(inventory), "-f", str(opts.forks),
                                   str(REPO / "playbooks" / "enable_crash_dumps.yml"), "-e", "exe=netsh.exe"],
                                  env=env, capture_output=True, text=True, cwd=str(REPO))
            seconds = time.monotonic() - start
            if proc.returncode:
                sys.exit(proc.stdout + proc.stderr)
            tasks = json.loads(trips_file.read_text())
            trips_file.unlink()  # a run that does not write it must not be read as this one
            after = counters(env, hosts)
            delta = {k: after[k] - before.get(k, 0) for k in after}
            changed = sum(int(w.split("=")[1]) for w in proc.stdout.split("PLAY RECAP")[-1].split()
                          if w.startswith("changed="))
            # Each module: the set of execution counts seen over the hosts (one number when all agree).
            per_module = {}
            for task in tasks:
                if task["action"] in EXPECTED:
                    per_module[task["action"]] = sorted({task["executions"].get(h, 0) for h in hosts})
            for action, want in EXPECTED.items():
                if per_module.get(action) != [want[run_index]]:
                    missed.append("%s run: %s made %s executions per host, not %d" % (
                        run, action, per_module.get(action), want[run_index]))
            shown = ", ".join("%s %s" % (a.rsplit(".", 1)[-1], "/".join(map(str, n))) for a, n in per_module.items())
            print("%-7s %8d %-36s %12d %14d %8.1f" % (run, changed, shown, delta["bytes_sent"],
                                                      delta["bytes_received"], seconds))
        if missed:
            sys.exit("\n".join(missed))


if __name__ == "__main__":
    main()
