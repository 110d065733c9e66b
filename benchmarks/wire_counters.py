#!/usr/bin/env python3
"""What the enable, harvest and cleanup playbooks put on the wire, over
ansible.builtin.winrm and ansible.builtin.psrp, per module and lab host.

    .venv/bin/python benchmarks/wire_counters.py [--exe netsh.exe]

Starts `labctl serve --port 0 --counters FILE` for the hosts of
lab/inventory.yml (a private state folder, clean hosts), reaches them
with that inventory's settings at the served ports, and for each connection
runs enable, crashes the image on every host, harvests, then cleans up.
lab/callback_plugins/lab_round_trips.py reads the endpoint's counters
between tasks; the table adds them up per module: HTTP requests, bytes in
(to the host) and out, and commands (agent batches, fetch_file, put_file).
Stops the server by its pid. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
LABCTL = str(REPO / "lab" / "labctl")
PLAYBOOKS = ("enable_crash_dumps", "harvest_crash_dumps", "cleanup_crash_dumps")
LOCAL_DUMPS = "HKLM\\SOFTWARE\\Microsoft\\Windows\\Windows Error Reporting\\LocalDumps"


def serve(env, hosts, counters):
    """labctl serve for ``hosts``; (process, {host: port})."""
    proc = subprocess.Popen([LABCTL, "serve", "--port", "0", "--counters", str(counters), *hosts], env=env,
                            stdout=subprocess.PIPE, text=True)
    ports = {}
    for _host in hosts:
        line = proc.stdout.readline()
        if not line:
            sys.exit("labctl serve did not start")
        info = json.loads(line)
        ports[info["host"]] = info["port"]
    return proc, ports


def served_inventory(path, ports):
    """lab/inventory.yml's settings for the served hosts, each at its port."""
    with open(REPO / "lab" / "inventory.yml", encoding="utf-8") as f:
        inventory = yaml.safe_load(f)
    inventory["windows"]["hosts"] = {h: {"ansible_host": "127.0.0.1", "ansible_port": p} for h, p in ports.items()}
    variables = inventory["windows"]["vars"]
    variables.pop("ansible_port", None)
    # Off port 5985 both plugins would pick HTTPS.
    variables.update(ansible_winrm_scheme="http", ansible_psrp_protocol="http")
    path.write_text(yaml.safe_dump(inventory))
    return path


def run(env, inventory, playbook, connection, tasks_file, extra):
    cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory),
           str(REPO / "playbooks" / (playbook + ".yml")), "-e", "ansible_connection=%s" % connection,
           "-e", json.dumps(extra)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=str(REPO))
    if proc.returncode:
        sys.exit("%s over %s failed:\n%s\n%s" % (playbook, connection, proc.stdout[-4000:], proc.stderr[-4000:]))
    tasks = json.loads(tasks_file.read_text())
    tasks_file.unlink()
    return tasks


def per_module(tasks):
    """{(module, host): counters} added up over the tasks that ran a module."""
    table = {}
    for task in tasks:
        for host, wire in task.get("wire", {}).items():
            if not wire["requests"]:
                continue
            row = table.setdefault((task["action"], host), {"requests": 0, "bytes_in": 0, "bytes_out": 0,
                                                            "agent": 0, "fetch_file": 0, "put_file": 0})
            for key in ("requests", "bytes_in", "bytes_out"):
                row[key] += wire[key]
            for key in ("agent", "fetch_file", "put_file"):
                row[key] += wire["commands"][key]
    return table


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--exe", default="netsh.exe")
    args = parser.parse_args()
    with open(REPO / "lab" / "inventory.yml", encoding="utf-8") as f:
        hosts = list(yaml.safe_load(f)["windows"]["hosts"])
    with tempfile.TemporaryDirectory(prefix="wire-bench-") as tmp:
        tmp = Path(tmp)
        counters, tasks_file = tmp / "wire.json", tmp / "tasks.json"
        env = dict(os.environ, CRASHDUMP_LAB_STATE_DIR=str(tmp / "state"), ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
                   ANSIBLE_COLLECTIONS_PATH=str(REPO / ".ansible" / "collections"),
                   ANSIBLE_CALLBACK_PLUGINS=str(REPO / "lab" / "callback_plugins"),
                   ANSIBLE_CALLBACKS_ENABLED="lab_round_trips", CRASHDUMP_LAB_ROUND_TRIPS_FILE=str(tasks_file),
                   CRASHDUMP_LAB_WIRE_COUNTERS=str(counters), ANSIBLE_STDOUT_CALLBACK="minimal",
                   PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
        for host in hosts:
            subprocess.run([LABCTL, "reset", host], env=env, check=True, capture_output=True)
        server, ports = serve(env, hosts, counters)
        try:
            inventory = served_inventory(tmp / "inventory.yml", ports)
            print("%-6s %-20s %-36s %-14s %8s %10s %11s %6s %6s %4s" % (
                "conn", "playbook", "module", "host", "requests", "bytes in", "bytes out", "agent", "fetch",
                "put"))
            for connection in ("winrm", "psrp"):
                for playbook in PLAYBOOKS:
                    extra = {"exe": args.exe, "harvest_dest": str(tmp / connection / "dumps")}
                    if playbook == "cleanup_crash_dumps":
                        extra["remove_dumps"] = True
                    table = per_module(run(env, inventory, playbook, connection, tasks_file, extra))
                    for (module, host), row in sorted(table.items()):
                        print("%-6s %-20s %-36s %-14s %8d %10d %11d %6d %6d %4d" % (
                            connection, playbook, module, host, row["requests"], row["bytes_in"],
                            row["bytes_out"], row["agent"], row["fetch_file"], row["put_file"]))
                    if playbook == "enable_crash_dumps":
                        for host in hosts:  # something to harvest
                            subprocess.run([LABCTL, "crash", host, args.exe], env=env, check=True,
                                           capture_output=True)
            totals = json.loads(counters.read_text())["hosts"]
            print("\nwhole run, per host: %s" % json.dumps(totals, sort_keys=True))
        finally:
            os.kill(server.pid, signal.SIGTERM)
            server.wait(timeout=15)
    return 0


if __name__ == "__main__":
    sys.exit(main())
