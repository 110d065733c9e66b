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
when a target is missed. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "lab"))

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


def harvest(state_dir, work):
    """fetch_dumps through ansible-playbook; returns its result."""
    dest = os.path.join(work, "dumps")
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
    if dump_path is None:
        print("note: lab-generated dump; harvest a real one for representative figures")
    return 0 if all(verdict[1] <= verdict[2] for verdict in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
