"""What Windows Error Reporting does when a process crashes, as far as
LocalDumps is concerned, in one place:

1. AeDebug ``Auto``="1" with a ``Debugger``: the postmortem debugger takes
   the crash; WER neither dumps nor logs (unsure whether 1000 is still logged).
2. WER ``Disabled``=1 (or the policy value) stops LocalDumps only when the
   host's quirk ``wer_disabled_blocks_localdumps`` says so; Event 1000 is
   still logged, 1001 is not.
3. No LocalDumps key: no dump. A bare key: mini dumps for every process.
4. Each setting: per-image subkey value, else global value, else default;
   a value of the wrong type counts as absent.
5. Effective DumpCount 0: quirk ``dumpcount_zero`` decides, "no_dump" or
   "default" (10); Microsoft does not document it.
6. DumpFolder REG_EXPAND_SZ is expanded in the crashing account's
   environment (REG_SZ is taken literally); a missing folder is created by
   WerFault with inherited permissions; the folder must let that account add
   a file. Rotation deletes without checking delete rights (unsure).
7. ``<image>.<pid>.dmp``; afterwards at most DumpCount *.dmp files remain in
   the folder, the oldest (by mtime) removed first.

Only the native (64-bit view) LocalDumps key is read: WerFault.exe runs as
a native process, so the Wow6432Node copy the Microsoft guidance also writes
is never consulted (windows-facts.md: unsure). NATIVE_VIEW is that decision.
"""

from __future__ import annotations

from . import accounts, clock, crashinfo, errors, events, gflags, minidump, processes, sddl, winpath

NATIVE_VIEW = 64
WER_KEY = "HKLM\\SOFTWARE\\Microsoft\\Windows\\Windows Error Reporting"
WER_POLICY_KEY = "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\Windows Error Reporting"
LOCAL_DUMPS = WER_KEY + "\\LocalDumps"
AEDEBUG_KEY = "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\AeDebug"
DEFAULTS = {"DumpFolder": "%LOCALAPPDATA%\\CrashDumps", "DumpCount": 10, "DumpType": 1, "CustomDumpFlags": 0x121}
_TYPES = {"DumpFolder": ("REG_EXPAND_SZ", "REG_SZ"), "DumpCount": ("REG_DWORD",), "DumpType": ("REG_DWORD",),
          "CustomDumpFlags": ("REG_DWORD",)}
# MINIDUMP_TYPE for DumpType 1 (mini) and 2 (full); 0 uses CustomDumpFlags.
_DUMP_FLAGS = {1: 0x0, 2: minidump.WITH_FULL_MEMORY}


def settings(registry, image):
    """{name: {"value", "source"}} with source "image", "global" or "default"."""
    out = {}
    scopes = (("image", LOCAL_DUMPS + "\\" + image), ("global", LOCAL_DUMPS))
    for name, default in DEFAULTS.items():
        out[name] = {"value": default, "source": "default"}
        for source, key in scopes:
            value = registry.value(key, NATIVE_VIEW, name)
            if value is not None and value["type"] in _TYPES[name]:
                out[name] = {"value": value["data"], "source": source, "type": value["type"]}
                break
    return out


def _is_one(value):
    return value is not None and str(value["data"]).strip() == "1"


def _aedebug_takes_it(registry):
    debugger = registry.value(AEDEBUG_KEY, NATIVE_VIEW, "Debugger")
    return _is_one(registry.value(AEDEBUG_KEY, NATIVE_VIEW, "Auto")) and bool(
        debugger and isinstance(debugger["data"], str) and debugger["data"].strip())


def _wer_disabled(registry):
    return any(_is_one(registry.value(k, NATIVE_VIEW, "Disabled")) for k in (WER_KEY, WER_POLICY_KEY))


def crash(host, image, account=None, code=0xC0000005, pid=None, module=None, path=None,
          full_size=minidump.DEFAULT_FULL_SIZE, being_written=False):
    """Crash ``image`` on the lab host and let WER react; returns the outcome:
    ``dumped`` (the dump's path or None), ``dump`` (path, size, sha256,
    dump_type, flags, or None), ``reason`` (written, aedebug_auto,
    wer_disabled, no_localdumps_key, dumpcount_zero, folder_invalid,
    folder_is_file, folder_not_writable) with ``detail``, the ``folder``,
    ``rotated`` dumps, the ``events`` record ids, the effective ``settings``
    and what identifies the crash (pid, account, report_id, faulting_module,
    exception_code, page_heap).

    With ``being_written`` the dump stays open in WerFault (``locked``): no
    one can read it until a seed clears the flag.

    A running process of that image (and pid, when given) is the one that
    dies; otherwise the image starts and crashes at once, as the first
    non-admin user unless ``account`` says otherwise.
    """
    if not image or any(c in image for c in "\\/:"):
        raise ValueError("image must be a file name such as app.exe, not %r" % (image,))
    state = host.state
    registry = host.registry
    running = processes.find(state, image=image, pid=pid)
    when = clock.tick(state)
    if running is not None:
        account_key, pid, start_time = running["account"], running["pid"], clock.parse(running["start_time"])
        path = path or running["path"]
        flag, services = running.get("global_flag", 0), running.get("services", [])
        processes.end_process(state, running)
    else:
        account_key = accounts.default_user(state)
        pid = pid or processes.new_pid(state)
        start_time, services = when, []
        path = path or processes.default_path(image)
        flag = gflags.global_flag(registry, image)
    account_key = accounts.resolve(state, account or account_key)
    info = crashinfo.build(state, image, path, pid, start_time, when, code, module=module,
                           page_heap=gflags.page_heap(flag), services=services)
    outcome = {"image": image, "pid": pid, "account": account_key, "dumped": None, "dump": None, "reason": None,
               "folder": None, "rotated": [], "events": [],
               "report_id": info.report_id, "exception_code": "0x%08x" % code,
               "faulting_module": info.faulting.name, "page_heap": gflags.page_heap(flag),
               "settings": None, "detail": None}

    if _aedebug_takes_it(registry):
        outcome["reason"] = "aedebug_auto"
        return outcome
    outcome["events"].append(events.application_error(state, info, when)["record_id"])
    if _wer_disabled(registry) and state["quirks"].get("wer_disabled_blocks_localdumps"):
        outcome["reason"] = "wer_disabled"
        return outcome

    dump_path = None
    if registry.exists(LOCAL_DUMPS, NATIVE_VIEW):
        dump_path = _write_dump(host, info, account_key, outcome, full_size)
        if dump_path is not None and being_written:
            host.files.entry(dump_path)["locked"] = True
    else:
        outcome["reason"] = "no_localdumps_key"
    outcome["dumped"] = dump_path
    outcome["events"].append(events.wer_report(state, info, clock.tick(state), dump_path)["record_id"])
    return outcome


def _write_dump(host, info, account_key, outcome, full_size):
    state = host.state
    cfg = outcome["settings"] = settings(host.registry, info.image)
    count = cfg["DumpCount"]["value"]
    if count == 0:
        if state["quirks"].get("dumpcount_zero", "no_dump") == "no_dump":
            outcome["reason"] = "dumpcount_zero"
            return None
        count = DEFAULTS["DumpCount"]
    dump_type = cfg["DumpType"]["value"]
    flags = cfg["CustomDumpFlags"]["value"] if dump_type == 0 else _DUMP_FLAGS.get(dump_type, _DUMP_FLAGS[1])

    raw = cfg["DumpFolder"]["value"]
    if cfg["DumpFolder"].get("type", "REG_EXPAND_SZ") == "REG_EXPAND_SZ":
        raw = accounts.expand(raw, accounts.environment(state, account_key))
    try:
        folder = winpath.norm(raw)
    except errors.WinError:
        outcome["reason"] = "folder_invalid"
        outcome["folder"] = raw
        return None
    outcome["folder"] = folder
    files = host.files
    account = state["accounts"][account_key]
    owner = "BA" if account.get("admin") or account.get("kind") == "system" else account["sid"]
    if any((files.entry(p) or {}).get("type") == "file" for p in winpath.chain(folder)):
        outcome["reason"] = "folder_is_file"
        return None
    try:
        files.make_dirs(folder, owner)
    except errors.WinError as e:  # e.g. a drive the host does not have
        outcome["reason"], outcome["detail"] = "folder_invalid", e.message
        return None
    if not sddl.allows_add_file(files.entry(folder)["sddl"], accounts.token_sids(state, account_key)):
        outcome["reason"] = "folder_not_writable"
        outcome["detail"] = "%s may not add files to %s" % (account_key, folder)
        return None

    dump_path = winpath.join(folder, "%s.%d.dmp" % (info.image, info.pid))
    written = files.write_file(dump_path, minidump.build_minidump(info, flags, full_size))
    dumps = [p for p in files.children(folder)
             if files.entry(p)["type"] == "file" and winpath.name(p).casefold().endswith(".dmp")]
    dumps.sort(key=lambda p: (files.entry(p)["mtime"], winpath.fold(p)))
    for old in dumps[:max(0, len(dumps) - count)]:
        files.remove_file(old)
        outcome["rotated"].append(old)
    outcome["reason"] = "written"
    outcome["dump"] = {"path": files.real(dump_path), "size": written["size"], "sha256": written["sha256"],
                       "dump_type": dump_type, "flags": flags}
    return files.real(dump_path)
