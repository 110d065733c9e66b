# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Preflight findings about where the dump lands: the accounts that run the image, the dump folder each gets
(valid, on a share, creatable, writable) and the room on its volume."""

from __future__ import annotations

import re

from . import _wer
from ._accounts import host_name, well_known_sid
from ._preflight_acl import LOCAL_SERVICE, NETWORK_SERVICE, SYSTEM, folder_access
from ._registry import fold

MIB = 1024 * 1024
# A mini dump (DumpType 1, or custom flags without process memory) is small:
# typically a few hundred KiB to a few MiB. This is the estimate used.
MINI_DUMP_BYTES = 8 * MIB
# Custom dump flags that put process memory into the dump, making it as big as a full one.
_MEMORY_FLAGS = (_wer.MINIDUMP_TYPE["WithFullMemory"] | _wer.MINIDUMP_TYPE["WithPrivateReadWriteMemory"]
                 | _wer.MINIDUMP_TYPE["WithPrivateWriteCopyMemory"])
# An environment variable in a path, as WER and Defender expand it.
ENV_VAR = re.compile(r"%([^%]+)%")


def _service_sid(account, probes):
    """The probed account a service's StartName names, or None."""
    sid = well_known_sid(account)
    short = fold((account or "").rsplit("\\", 1)[-1])
    for probe in probes:
        if not probe["exists"]:
            continue
        if (sid and probe["sid"] == sid) or (not sid and probe["account"]
                                             and fold(probe["account"].rsplit("\\", 1)[-1]) == short):
            return probe
    return None


def _subjects(found, probe, instances, services, account):
    """Who runs the image, each with its folder_probe entry: [(probe entry, why, service)]."""
    accounts = probe["accounts"]
    owners = [a for a in accounts if a["name"] is None]
    subjects = []
    for owner in owners:
        service = any(p["services"] for p in instances if p["pid"] in owner["pids"])
        subjects.append((owner, "running as pid %s" % ", ".join(map(str, owner["pids"])), service))
    owned = {pid for owner in owners for pid in owner["pids"]}
    unknown = [p["pid"] for p in instances if p["pid"] not in owned]
    if unknown:
        found.add("account_unknown", "warning",
                  "The account of running instance%s pid %s is unknown (the agent could not read the owner), so "
                  "where its dump lands was not checked." % ("s" if len(unknown) > 1 else "",
                                                             ", ".join(map(str, unknown))),
                  {"pids": unknown}, "Give account=<the account that runs it>.")
    if not instances:
        for svc in services:
            entry = _service_sid(svc["account"], accounts)
            if entry is None:
                found.add("account_unknown", "warning",
                          "Service %s runs the image as %s, an account this check did not look at." % (
                              svc["name"], svc["account"]), {"service": svc},
                          "Give account=%s." % svc["account"])
            else:
                subjects.append((entry, "service %s" % svc["name"], True))
    if account:
        asked = fold(host_name(account))
        entry = next(a for a in accounts if a["name"] is not None and fold(a["name"]) == asked)
        if entry["exists"]:
            subjects.append((entry, "account %s" % account, entry["sid"] in (SYSTEM, LOCAL_SERVICE, NETWORK_SERVICE)))
        else:
            found.add("account_unknown", "warning", "There is no account %r on the host." % account,
                      {"account": account},
                      "Give the account as DOMAIN\\name, .\\name, a SID or a built-in name such as SYSTEM.")
    system = next((a for a in accounts if a["sid"] == SYSTEM), None)
    if not subjects and system is not None:
        subjects.append((system, "SYSTEM, as no instance runs and no service names an account (set account)", True))
    unique = {}
    for entry, why, service in subjects:
        unique.setdefault(entry["sid"], (entry, why, service))
    return list(unique.values())


def _dump_size(eff, pids, instances, full_dump_bytes):
    """(bytes one dump needs, how that was estimated)."""
    dump_type = eff["DumpType"]["value"]
    flags = eff["CustomDumpFlags"]["value"]
    if dump_type == 2 or (dump_type == 0 and isinstance(flags, int) and flags & _MEMORY_FLAGS):
        sizes = [(p["private_bytes"], p["pid"]) for p in instances if p["pid"] in pids and p.get("private_bytes")]
        if sizes:
            size, pid = max(sizes)
            return size, "the private bytes of pid %s" % pid
        return full_dump_bytes, "the full dump estimate, %d MiB" % (full_dump_bytes // MIB)
    return MINI_DUMP_BYTES, "a mini dump estimate, %d MiB" % (MINI_DUMP_BYTES // MIB)


def _gib(size):
    return "%.1f GiB" % (size / 1024.0 ** 3)


def dump_locations(found, facts, eff, exe, instances, account, full_dump_bytes):
    probe = facts["folder"]
    locations, volumes = [], {}
    for entry, why, service in _subjects(found, probe, instances, facts["files"]["services"], account):
        loc = _location(found, probe, entry, why, service, exe)
        locations.append(loc)
        volume = entry["volume"]
        if loc["folder"] and volume and volume["ready"] and eff["DumpCount"]["value"]:
            size, basis = _dump_size(eff, entry["pids"], instances, full_dump_bytes)
            if volume["root"] not in volumes or volumes[volume["root"]][0] < size:
                volumes[volume["root"]] = (size, basis, volume, loc["folder"])
    for size, basis, volume, folder in volumes.values():
        count = eff["DumpCount"]["value"]
        evidence = {"volume": volume, "folder": folder, "dump_bytes": size, "estimate": basis, "dump_count": count}
        fix = "Free space on %s, or point DumpFolder to a volume with room (or lower DumpCount)." % volume["root"]
        if volume["free_bytes"] < size:
            found.add("no_disk_space", "blocker", "%s has %s free, less than one dump of %s needs (%s, %s)." % (
                volume["root"], _gib(volume["free_bytes"]), exe, _gib(size), basis), evidence, fix)
        elif volume["free_bytes"] < size * count:
            found.add("low_disk_space", "warning",
                      "%s has %s free, less than DumpCount=%d dumps of %s need (%s each, %s)." % (
                          volume["root"], _gib(volume["free_bytes"]), count, exe, _gib(size), basis), evidence, fix)
    return locations


# Who an account is on the network ("LocalSystem Account", "NetworkService Account", "LocalService Account",
# learn.microsoft.com): the first two present the computer's credentials, LocalService anonymous ones.
_NETWORK_IDENTITY = {"S-1-5-18": "the computer account (DOMAIN\\HOST$)", "S-1-5-20": "the computer account "
                     "(DOMAIN\\HOST$)", "S-1-5-19": "an anonymous logon, which shares rarely admit"}


def _share_warning(found, entry, who, folder):
    """WerFault writes the dump as the crashing account, so a folder on a share needs that account's network
    rights on the share and on the folder; the agent reads only the folder's ACL, as its own caller."""
    identity = _NETWORK_IDENTITY.get(entry["sid"], "its own domain credentials")
    found.add("dump_folder_on_share", "warning",
              "A dump of %s goes to the network share %s: WerFault writes it as that account, which reaches the "
              "share as %s; the share's permissions and the network were not checked here." % (who, folder, identity),
              {"account": entry["account"], "sid": entry["sid"], "folder": folder},
              "Grant that identity change rights on the share and the folder, or use a local DumpFolder and "
              "collect the dumps with crashdump.windows.fetch_dumps.")


def _location(found, probe, entry, why, service, exe):
    folder = entry["folder"]
    loc = {"account": entry["account"], "sid": entry["sid"], "pids": entry["pids"], "why": why,
           "folder": folder if entry["valid"] else None,
           "file_pattern": "%s\\%s.<pid>.dmp" % (folder.rstrip("\\"), exe) if entry["valid"] else None,
           "exists": None, "writable": None, "creatable": None, "volume": entry["volume"]}
    who = "%s running as %s (%s)" % (exe, entry["account"] or entry["sid"], why)
    fix_folder = ("Set DumpFolder to an absolute path, as REG_EXPAND_SZ when it uses variables: for example "
                  "crashdump.windows.local_dumps with exe=%s and dump_folder=C:\\WER." % exe)
    if not entry["valid"]:
        if probe["type"] == "REG_SZ" and ENV_VAR.search(folder or ""):
            reason = "it is REG_SZ, so WER takes %r literally (it expands variables only in REG_EXPAND_SZ)" % folder
        elif ENV_VAR.search(folder or ""):
            reason = "%r has a variable without a value for this account (it has no profile yet?)" % folder
        else:
            reason = "%r is not an absolute path" % folder
        found.add("dump_folder_invalid", "blocker", "A dump of %s has nowhere to go: DumpFolder %s." % (who, reason),
                  {"account": entry["account"], "folder": folder, "type": probe["type"]}, fix_folder)
        return loc
    volume = entry["volume"]
    if volume is not None and not (volume["exists"] and volume["ready"]):
        loc.update(folder=None, file_pattern=None)
        found.add("dump_folder_invalid", "blocker", "A dump of %s has nowhere to go: the drive %s %s." % (
            who, volume["root"], "does not exist" if not volume["exists"] else "is not ready"),
            {"account": entry["account"], "folder": folder, "volume": volume}, fix_folder)
        return loc
    if folder.startswith("\\\\"):
        _share_warning(found, entry, who, folder)
    levels = entry["levels"]
    access = folder_access(levels, entry["sid"], service)
    loc.update(exists=bool(levels and levels[0]["exists"]), writable=access["writable"],
               creatable=access["creatable"])
    evidence = {"account": entry["account"], "sid": entry["sid"], "folder": folder, "checked": access["checked"],
                "ace": access["ace"], "levels": levels}
    grant = ('icacls "%s" /grant "*%s:(OI)(CI)(W)", or let crashdump.windows.local_dumps create the folder with '
             'its default folder_acl.' % (access["checked"] or folder, entry["sid"]))
    if access["reason"] == "is_file":
        found.add("dump_folder_is_file", "blocker", "A dump of %s cannot be written: %s or a folder above it is a "
                  "file." % (who, folder), evidence, "Choose another DumpFolder, or remove the file.")
    elif access["creatable"] is False:
        found.add("dump_folder_not_creatable", "warning",
                  "%s does not exist, and %s may not create it in %s (%s); whether WerFault creates it as that "
                  "account is not documented." % (folder, entry["account"], access["checked"], access["ace"] or
                                                  "no ACE allows it"), evidence,
                  "Create the folder beforehand: crashdump.windows.local_dumps does (create_folder), with an ACL "
                  "that lets every account add its dumps.")
    if access["writable"] is False and access["reason"] != "is_file":
        found.add("dump_folder_not_writable", "blocker", "%s may not add files to %s%s (%s): the dump of %s is lost."
                  % (entry["account"], folder, "" if loc["exists"] else " once created",
                     access["ace"] or "no ACE allows it", exe), evidence, grant)
    if access["reason"] == "is_file":
        state = "a file is in the way"
    else:
        state = "the folder exists" if loc["exists"] else "the folder will be created"
    if access["writable"]:
        state += "; the account may add files"
    elif access["reason"] == "unreadable":
        errors = [lv["error"] for lv in levels if lv.get("error")]
        state += "; access was not checked (%s)" % ("; ".join(errors) if errors else "no permissions could be read")
    if volume and volume["ready"]:
        state += "; %s has %s free" % (volume["root"], _gib(volume["free_bytes"]))
    found.add("dump_location", "info", "A dump of %s lands in %s as %s.%s.dmp; %s." % (
        who, folder, exe, "<pid>", state), dict(evidence, volume=volume))
    return loc
