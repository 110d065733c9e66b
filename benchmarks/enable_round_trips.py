#!/usr/bin/env python3
"""Remote executions and bytes of the enable playbook on a fleet of lab hosts.

    .venv/bin/python benchmarks/enable_round_trips.py [--hosts 50] [--forks 10]

Runs playbooks/enable_crash_dumps.yml -e exe=netsh.exe twice over fresh lab
hosts and prints, per run, the remote executions per module per host (the
enable role runs three modules: preflight, local_dumps and gflags) and the
bytes sent and received, from the lab's own counters.

preflight only reads: one execution per image per host on every run.
local_dumps and gflags read, then write when something must change: two
executions each on the first run, one on the second. Per host that is 5 then
3 executions, so 5/3 = 1.67 then 1.00 per module.
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
MODULES_PER_HOST = 3  # preflight, local_dumps and gflags, one image


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
        env = dict(os.environ, CRASHDUMP_LAB_STATE_DIR=tmp, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
                   PATH=str(bindir) + os.pathsep + os.environ.get("PATH", ""))
        for host in hosts:
            subprocess.run([str(REPO / "lab" / "labctl"), "reset", host], env=env, check=True, capture_output=True)
        print("enable_crash_dumps.yml -e exe=netsh.exe on %d lab hosts, forks %d" % (opts.hosts, opts.forks))
        print("%-7s %9s %22s %14s %14s %8s" % ("run", "changed", "executions/module/host", "bytes sent",
                                               "bytes received", "seconds"))
        for run in ("first", "second"):
            before = counters(env, hosts)
            start = time.monotonic()
            proc = subprocess.run([str(bindir / "ansible-playbook"), "-i", str(inventory), "-f", str(opts.forks),
                                   str(REPO / "playbooks" / "enable_crash_dumps.yml"), "-e", "exe=netsh.exe"],
                                  env=env, capture_output=True, text=True, cwd=str(REPO))
            seconds = time.monotonic() - start
            if proc.returncode:
                sys.exit(proc.stdout + proc.stderr)
            after = counters(env, hosts)
            delta = {k: after[k] - before.get(k, 0) for k in after}
            changed = sum(int(w.split("=")[1]) for w in proc.stdout.split("PLAY RECAP")[-1].split()
                          if w.startswith("changed="))
            print("%-7s %9d %22.2f %14d %14d %8.1f" % (
                run, changed, delta["round_trips"] / opts.hosts / MODULES_PER_HOST, delta["bytes_sent"],
                delta["bytes_received"], seconds))


if __name__ == "__main__":
    main()
