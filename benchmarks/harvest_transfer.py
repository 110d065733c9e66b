#!/usr/bin/env python3
"""Harvest one ~100 MB full dump from a lab host and compare the transfer with
an uncompressed ansible.builtin.fetch-style one of the same file.

    .venv/bin/python benchmarks/harvest_transfer.py [--dump PATH] [--size BYTES]

The dump is, in order: --dump PATH; else the largest NAME.full.dmp that
tests/fixtures/dumps/make_fixtures.sh left in $WORK (default
/tmp/crashdump-fixtures), a real full dump of a real crash (mingw-w64 +
Wine); else a full dump the lab writes itself for a crash (--size bytes),
whose memory pages compress far better than a real process's: the output
says which it used.

It puts the dump where WER's default puts a user's dump, runs
crashdump.windows.fetch_dumps through ansible-playbook on the lab connection
(fetch_file in 512 KiB round trips, as winrm), checks the controller copy,
then moves the same file the way ansible.builtin.fetch does on Windows: a
remote stat (one round trip, counted as one although win_stat costs more)
and fetch_file of the uncompressed file. Targets: bytes over the wire at
most 25% of the dump, round trips at most 1/4 of the plain fetch's. Exits 1
when a target is missed.

Then the same two over real WinRM: `labctl serve --counters` serves the
host, fetch_dumps runs over ansible.builtin.winrm, and ansible-core's winrm
connection fetch_file moves the uncompressed dump as ansible.builtin.fetch
does after its win_stat (which the lab does not run); the endpoint counts
HTTP requests and bytes in and out (envelopes, base64, NTLM sealing
included). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "lab"))

from wire_counters import serve, served_inventory  # noqa: E402

from crashdump_lab import Transport, crash, open_host, reset_host, seed_host  # noqa: E402
from crashdump_lab.minidump import WITH_FULL_MEMORY  # noqa: E402

HOST = "bench"
IMAGE = "crashy.exe"
PID = 4242
USER_DUMPS = "C:\\Users\\alice\\AppData\\Local\\CrashDumps"
LOCAL_DUMPS = "HKLM\\SOFTWARE\\Microsoft\\Windows\\Windows Error Reporting\\LocalDumps"
BYTES_TARGET = 0.25
ROUND_TRIPS_TARGET = 0.25


def real_dump(path):
    """``path`` if it is a minidump written with full memory."""
    with open(path, "rb") as f:
        head = f.read(32)
    return len(head) == 32 and head[:4] == b"MDMP" and int.from_bytes(head[24:32], "little") & WITH_FULL_MEMORY


def find_real_dump():
    work = os.environ.get("WORK") or "/tmp/crashdump-fixtures"
    found = [p for p in glob.glob(os.path.join(work, "*.full.dmp")) if real_dump(p)]
    return max(found, key=lambda p: (os.path.getsize(p), p)) if found else None


def place(state_dir, dump_path, size):
    """Put the dump on the lab host; returns (remote path, size, sha256, description)."""
    if dump_path:
        with open(dump_path, "rb") as f:
            data = f.read()
        reset_host(state_dir, HOST)
        remote = "%s\\%s.%d.dmp" % (USER_DUMPS, IMAGE, PID)
        with open_host(state_dir, HOST) as lab:
            lab.files.make_dirs(USER_DUMPS, "BA")
            lab.files.write_file(remote, data)
        return remote, len(data), hashlib.sha256(data).hexdigest(), "real full dump %s" % dump_path
    seed_host(state_dir, HOST, {"registry": {LOCAL_DUMPS + "\\" + IMAGE: {"values": {
        "DumpType": {"type": "REG_DWORD", "data": 2}}}}})
    with open_host(state_dir, HOST) as lab:
        dump = crash(lab, IMAGE, pid=PID, full_size=size)["dump"]
    return dump["path"], dump["size"], dump["sha256"], (
        "LAB-GENERATED full dump (no real full dump found: run tests/fixtures/dumps/make_fixtures.sh or pass "
        "--dump); its memory compresses much better than a real process's, so these ratios flatter the module")


def counters(state_dir):
    with open_host(state_dir, HOST) as lab:
        return dict(lab.state["counters"])


def delta(after, before):
    return {k: after[k] - before[k] for k in after}


def harvest(state_dir, work, inventory=None):
    """fetch_dumps through ansible-playbook (on the lab connection, or ``inventory``); returns its result."""
    dest = os.path.join(work, "dumps")
    if inventory is None:
        inventory = os.path.join(work, "inventory.yml")
        with open(inventory, "w", encoding="utf-8") as f:
            f.write("windows:\n  hosts:\n    %s: {}\n  vars:\n    ansible_connection: crashdump_lab\n"
                    "    ansible_shell_type: powershell\n" % HOST)
    book = os.path.join(work, "play.yml")
    with open(book, "w", encoding="utf-8") as f:
        f.write("- hosts: windows\n  gather_facts: false\n  tasks:\n    - crashdump.windows.fetch_dumps: %s\n"
                % json.dumps({"exe": [IMAGE], "dest": dest}))
    env = dict(os.environ, CRASHDUMP_LAB_STATE_DIR=state_dir, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".ansible", "collections"),
               ANSIBLE_STDOUT_CALLBACK="minimal", ANSIBLE_NOCOLOR="1")
    bindir = os.path.dirname(sys.executable)
    proc = subprocess.run([os.path.join(bindir, "ansible-playbook"), "-i", inventory, book], env=env, cwd=REPO,
                          capture_output=True, text=True)
    if proc.returncode:
        sys.exit("fetch_dumps failed:\n%s\n%s" % (proc.stdout[-4000:], proc.stderr[-4000:]))
    # The minimal callback prints "HOST | CHANGED => {result}".
    return json.JSONDecoder().raw_decode(proc.stdout, proc.stdout.index(" => ") + 4)[0]


def winrm_fetch(port, remote, local):
    """ansible-core's winrm connection fetch_file, as ansible.builtin.fetch calls it."""
    from ansible.playbook.play_context import PlayContext
    from ansible.plugins.loader import connection_loader

    with open(os.path.join(REPO, "lab", "inventory.yml"), encoding="utf-8") as f:
        variables = yaml.safe_load(f)["windows"]["vars"]
    conn = connection_loader.get("winrm", PlayContext(), None)
    conn.set_options(var_options=dict(variables, ansible_host="127.0.0.1", ansible_port=port,
                                      ansible_winrm_scheme="http", _extras={}))
    conn.fetch_file(remote, local)
    conn.close()


def over_winrm(state_dir, work, remote, size, digest):
    """fetch_dumps and a plain fetch_file of the dump over served WinRM; (ours, plain) wire counters."""
    counters = os.path.join(work, "wire.json")
    env = dict(os.environ, CRASHDUMP_LAB_STATE_DIR=state_dir)
    server, ports = serve(env, [HOST], counters)
    try:
        def reading():
            with open(counters, encoding="utf-8") as f:
                return json.load(f)["hosts"][HOST]
        before = reading()
        os.makedirs(os.path.join(work, "winrm"))
        result = harvest(state_dir, os.path.join(work, "winrm"),
                         str(served_inventory(Path(work) / "inventory.yml", ports)))
        ours = wire_delta(reading(), before)
        with open(result["dumps"][0]["local_path"], "rb") as f:
            if hashlib.sha256(f.read()).hexdigest() != digest:
                sys.exit("the controller copy fetched over winrm does not match the dump")
        before = reading()
        local = os.path.join(work, "plain.dmp")
        winrm_fetch(ports[HOST], remote, local)
        plain = wire_delta(reading(), before)
        if os.path.getsize(local) != size:
            sys.exit("the plain fetch over winrm did not move the whole dump")
    finally:
        os.kill(server.pid, signal.SIGTERM)
        server.wait(timeout=15)
    return ours, plain


def wire_delta(after, before):
    found = {k: after[k] - before[k] for k in ("requests", "bytes_in", "bytes_out")}
    found["commands"] = sum(after["commands"].values()) - sum(before["commands"].values())
    found["bytes"] = found["bytes_in"] + found["bytes_out"]
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dump", help="a full dump to harvest (default: a real one from make_fixtures.sh)")
    parser.add_argument("--size", type=int, default=100_000_000, help="size of a lab-generated dump")
    args = parser.parse_args()
    dump_path = args.dump or find_real_dump()
    if args.dump and not real_dump(args.dump):
        sys.exit("%s is not a minidump written with full memory (WithFullMemory)" % args.dump)

    with tempfile.TemporaryDirectory(prefix="harvest-bench-") as work:
        state_dir = os.path.join(work, "state")
        remote, size, digest, what = place(state_dir, dump_path, args.size)
        print("dump: %s" % what)
        print("      %s, %d bytes, sha256 %s" % (remote, size, digest))

        before = counters(state_dir)
        started = time.monotonic()
        result = harvest(state_dir, work)
        took = time.monotonic() - started
        ours = delta(counters(state_dir), before)
        fetched = result["dumps"][0]
        with open(fetched["local_path"], "rb") as f:
            if hashlib.sha256(f.read()).hexdigest() != digest:
                sys.exit("the controller copy does not match the dump")

        before = counters(state_dir)
        Transport(state_dir, HOST).fetch_file(remote, io.BytesIO())
        plain = delta(counters(state_dir), before)
        wire_ours, wire_plain = over_winrm(state_dir, work, remote, size, digest)

    our_trips = ours["round_trips"] + ours["fetch_round_trips"]
    plain_trips = 1 + plain["fetch_round_trips"]
    # Everything that crossed: the fetched bytes and the batches (agent script included).
    wire = ours["fetch_bytes"] + ours["bytes_sent"] + ours["bytes_received"]
    bytes_ratio = wire / size
    trips_ratio = our_trips / plain_trips
    print()
    print("fetch_dumps (compressed on the host, verified on the controller), %.1f s:" % took)
    print("  agent batches      %4d  (read, compress, clean up)" % ours["round_trips"])
    print("  fetch round trips  %4d  (512 KiB each)" % ours["fetch_round_trips"])
    print("  bytes over wire    %d  (%d moved by fetch_file; %d sent, %d received by the batches)" % (
        wire, ours["fetch_bytes"], ours["bytes_sent"], ours["bytes_received"]))
    print("plain fetch (ansible.builtin.fetch-style, uncompressed):")
    print("  round trips        %4d  (1 remote stat + %d fetch)" % (plain_trips, plain["fetch_round_trips"]))
    print("  bytes over wire    %d" % plain["fetch_bytes"])
    print()
    verdicts = [("bytes over the wire / dump size", bytes_ratio, BYTES_TARGET),
                ("round trips / plain fetch round trips", trips_ratio, ROUND_TRIPS_TARGET)]
    for label, value, target in verdicts:
        print("%-40s %.3f  (target <= %.2f: %s)" % (label, value, target, "met" if value <= target else "MISSED"))
    print()
    print("over real WinRM (ansible.builtin.winrm, NTLM with message encryption):")
    print("  %-40s %8s %8s %11s %11s %11s" % ("", "commands", "requests", "bytes in", "bytes out", "/ dump size"))
    for label, counted in (("fetch_dumps", wire_ours), ("ansible.builtin.fetch (its fetch_file)", wire_plain)):
        print("  %-40s %8d %8d %11d %11d %11.3f" % (label, counted["commands"], counted["requests"],
                                                   counted["bytes_in"], counted["bytes_out"], counted["bytes"] / size))
    print("  fetch_dumps / plain fetch: requests %.3f, bytes %.3f" % (
        wire_ours["requests"] / wire_plain["requests"], wire_ours["bytes"] / wire_plain["bytes"]))
    if dump_path is None:
        print("note: lab-generated dump; harvest a real one for representative figures")
    return 0 if all(verdict[1] <= verdict[2] for verdict in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
