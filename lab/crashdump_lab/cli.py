"""labctl: look after lab hosts from the shell.

  labctl [--state-dir DIR] reset HOST [--arch AMD64|x86|ARM64]   (default arch: x86/arm64 in the name, else AMD64)
  labctl seed HOST FILE [--arch ARCH]        clean host + JSON overlay (see seed.py)
  labctl show HOST [--section NAME]          the state as JSON
  labctl crash HOST IMAGE [--account A] [--code 0xC0000005] [--pid N] [--module M] [--path P] [--dump-size N]
               [--being-written]
  labctl start HOST IMAGE [--account A] [--service NAME] [--path P]
  labctl stats HOST [--reset]                the round-trip and byte counters
  labctl fault HOST SPEC                     exec:N, exec:N:after, fetch:N, corrupt:N, receive:KIND:N:EFFECT[:R]
                                             or clear (see faults.py)
  labctl serve [HOST ...] [--port 5985]      WinRM endpoints in the foreground (labctl serve --help)

Every command prints JSON. The state directory defaults to
$CRASHDUMP_LAB_STATE_DIR, else lab/state/.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap

from . import defaults, faults, processes, seed, wer
from .minidump import DEFAULT_FULL_SIZE
from .seed import seed_host
from .state import default_state_dir, load_state, open_host, reset_host
from .wsman import serve

# The top-level sections of a host's state, as a clean host has them.
SECTIONS = tuple(defaults.default_state("lab-help", "AMD64"))

SEED_FORMAT = (
    "labctl seed HOST FILE: FILE is a JSON object merged onto a clean host, for example\n"
    '  {"registry": {"HKLM\\\\SOFTWARE\\\\Microsoft\\\\Windows\\\\Windows Error Reporting\\\\LocalDumps":\n'
    '                {"values": {"DumpType": {"type": "REG_DWORD", "data": 1}}}}}\n'
    + textwrap.dedent(seed.__doc__.split("\n\n", 1)[1])
)

EPILOG = """\
Every command prints JSON. The state directory (one HOST.json per host) is
--state-dir, else $CRASHDUMP_LAB_STATE_DIR, else lab/state in this checkout.

The lab hosts in ansible-playbook: `labctl serve` makes them WinRM endpoints
on loopback, and lab/inventory.yml (which this checkout's ansible.cfg names)
reaches them with ansible.builtin.winrm (-e ansible_connection=psrp: with
ansible.builtin.psrp). From anywhere else, as with the collection installed
and its playbooks run by FQCN, name the inventory, with labctl serve running:

  ansible-playbook -i CHECKOUT/lab/inventory.yml crashdump.windows.enable_crash_dumps -e exe=netsh.exe

labctl show HOST --section NAME: NAME is one of
""" + textwrap.fill(", ".join(SECTIONS), initial_indent="  ", subsequent_indent="  ") + "\n\n" + SEED_FORMAT


def _parser():
    p = argparse.ArgumentParser(prog="labctl", description="Simulated Windows hosts for crashdump.windows.",
                                epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--state-dir", default=None, help="default: $CRASHDUMP_LAB_STATE_DIR or lab/state")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("reset", help="make HOST a clean default host")
    s.add_argument("host")
    s.add_argument("--arch", choices=defaults.ARCHES, default=None, help="default: from the host name")

    s = sub.add_parser("seed", help="clean default host with a JSON overlay merged on top (format below)",
                       epilog=SEED_FORMAT, formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("host")
    s.add_argument("file")
    s.add_argument("--arch", choices=defaults.ARCHES, default=None)

    s = sub.add_parser("show", help="print the host's state")
    s.add_argument("host")
    s.add_argument("--section", default=None, choices=SECTIONS, help="only this part of the state")

    s = sub.add_parser("crash", help="crash IMAGE; WER writes what Windows would")
    s.add_argument("host")
    s.add_argument("image")
    s.add_argument("--account", default=None)
    s.add_argument("--code", type=lambda v: int(v, 0), default=0xC0000005)
    s.add_argument("--pid", type=int, default=None)
    s.add_argument("--module", default=None)
    s.add_argument("--path", default=None)
    s.add_argument("--dump-size", type=int, default=DEFAULT_FULL_SIZE, help="approximate size of a full dump")
    s.add_argument("--being-written", action="store_true",
                   help="leave the dump open in WerFault (locked) until a seed sets its locked flag false")

    s = sub.add_parser("start", help="add a running process")
    s.add_argument("host")
    s.add_argument("image")
    s.add_argument("--account", default=None)
    s.add_argument("--service", default=None)
    s.add_argument("--path", default=None)

    s = sub.add_parser("stats", help="print the counters")
    s.add_argument("host")
    s.add_argument("--reset", action="store_true", help="zero them after printing")

    s = sub.add_parser("fault", help="arm a connection fault (one-shot): exec:N, exec:N:after, fetch:N, corrupt:N, "
                       "receive:KIND:N:EFFECT[:R] (KIND agent, fetch_file or put_file; EFFECT reset, http500 or "
                       "timeout; at the Rth Receive of the command's output, default 1; at the labctl serve endpoint) "
                       "or clear")
    s.add_argument("host")
    s.add_argument("spec")

    serve.add_parser(sub)
    return p


def run(argv):
    args = _parser().parse_args(argv)
    state_dir = args.state_dir or default_state_dir()
    if args.command == "reset":
        reset_host(state_dir, args.host, args.arch)
        return {"host": args.host, "arch": load_state(state_dir, args.host)["os"]["arch"]}
    if args.command == "seed":
        with open(args.file, encoding="utf-8") as f:
            overlay = json.load(f)
        seed_host(state_dir, args.host, overlay, arch=args.arch)
        return {"host": args.host, "seeded_from": args.file}
    if args.command == "serve":
        return serve.run(args, state_dir)
    if args.command == "show":
        state = load_state(state_dir, args.host)
        if args.section is not None and args.section not in state:
            raise KeyError("no section %r (sections: %s)" % (args.section, ", ".join(state)))
        return state if args.section is None else state[args.section]
    with open_host(state_dir, args.host) as lab:
        if args.command == "crash":
            return wer.crash(lab, args.image, account=args.account, code=args.code, pid=args.pid,
                             module=args.module, path=args.path, full_size=args.dump_size,
                             being_written=args.being_written)
        if args.command == "start":
            return processes.public(processes.start_process(lab, args.image, account=args.account,
                                                            service=args.service, path=args.path))
        if args.command == "stats":
            counters = dict(lab.state["counters"])
            if args.reset:
                lab.state["counters"] = dict.fromkeys(counters, 0)
            return counters
        return {"faults": faults.arm(lab.state, args.spec)}


def main(argv=None):
    try:
        result = run(sys.argv[1:] if argv is None else argv)
    except (KeyError, ValueError, OSError) as e:
        print("labctl: error: %s" % (e.args[0] if e.args else e), file=sys.stderr)
        return 2
    if result is not None:
        print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
