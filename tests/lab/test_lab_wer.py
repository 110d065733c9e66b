"""WER LocalDumps as the lab applies it: one test per documented rule, plus
the decisions the lab takes where Windows behaviour is not documented."""

from __future__ import annotations

import pytest
from mdmp_reader import Dump

from crashdump_lab import crash, load_state, open_host, seed_host, start_process

HOST = "lab-win2022"
WER = "HKLM\\SOFTWARE\\Microsoft\\Windows\\Windows Error Reporting"
LD = WER + "\\LocalDumps"
LD32 = "HKLM\\SOFTWARE\\Wow6432Node\\Microsoft\\Windows\\Windows Error Reporting\\LocalDumps"
AEDEBUG = "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\AeDebug"
IFEO = "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Image File Execution Options"
ALICE_DUMPS = "C:\\Users\\alice\\AppData\\Local\\CrashDumps"


def dword(n):
    return {"type": "REG_DWORD", "data": n}


def expand_sz(text):
    return {"type": "REG_EXPAND_SZ", "data": text}


def keys(**by_key):
    return {"registry": {k: {"values": v} for k, v in by_key.items()}}


def seed(state_dir, overlay=None, host=HOST):
    seed_host(state_dir, host, overlay or {})


def crash_on(state_dir, image, host=HOST, **kwargs):
    with open_host(state_dir, host) as lab:
        return crash(lab, image, **kwargs)


def files_in(state_dir, folder, host=HOST):
    prefix = folder.casefold() + "\\"
    return sorted(p for p, e in load_state(state_dir, host)["files"].items()
                  if p.casefold().startswith(prefix) and e["type"] == "file" and "\\" not in p[len(prefix):])


def dump_bytes(state_dir, path, host=HOST):
    with open_host(state_dir, host) as lab:
        return lab.files.read_file(path)


def test_no_localdumps_key_no_dump_but_events(state_dir):
    seed(state_dir)
    out = crash_on(state_dir, "netsh.exe")
    assert out["dumped"] is None and out["reason"] == "no_localdumps_key"
    assert len(out["events"]) == 2


def test_bare_localdumps_key_gives_default_mini_dumps_for_every_process(state_dir):
    seed(state_dir, {"registry": {LD: {}}})
    first = crash_on(state_dir, "netsh.exe", pid=5000)
    other = crash_on(state_dir, "notepad.exe", pid=5004)
    assert first["dumped"] == ALICE_DUMPS + "\\netsh.exe.5000.dmp"
    assert other["dumped"] == ALICE_DUMPS + "\\notepad.exe.5004.dmp"
    assert first["dump"]["dump_type"] == 1 and first["dump"]["flags"] == 0
    assert {k: v["source"] for k, v in first["settings"].items()} == dict.fromkeys(
        ("DumpFolder", "DumpCount", "DumpType", "CustomDumpFlags"), "default")
    dump = Dump(dump_bytes(state_dir, first["dumped"]))
    assert 5 in dump.streams and 9 not in dump.streams  # mini: MemoryList, no Memory64List


def test_defaults_create_the_folder_with_inherited_acl(state_dir):
    seed(state_dir, {"registry": {LD: {}}})
    crash_on(state_dir, "netsh.exe")
    folder = load_state(state_dir, HOST)["files"][ALICE_DUMPS]
    assert folder["type"] == "directory" and "ID;FA;;;" in folder["sddl"]


def test_per_image_values_override_global_values(state_dir):
    seed(state_dir, keys(**{
        LD: {"DumpFolder": expand_sz("C:\\Global"), "DumpType": dword(2), "DumpCount": dword(4)},
        LD + "\\netsh.exe": {"DumpFolder": expand_sz("C:\\PerApp")}}))
    out = crash_on(state_dir, "netsh.exe", pid=4444)
    assert out["dumped"] == "C:\\PerApp\\netsh.exe.4444.dmp"
    assert out["settings"]["DumpFolder"]["source"] == "image"
    assert out["settings"]["DumpType"] == {"value": 2, "source": "global", "type": "REG_DWORD"}
    assert out["settings"]["CustomDumpFlags"]["source"] == "default"
    assert out["dump"]["flags"] == 0x2
    other = crash_on(state_dir, "notepad.exe", pid=4448)
    assert other["dumped"] == "C:\\Global\\notepad.exe.4448.dmp"


def test_image_subkey_name_is_case_insensitive(state_dir):
    seed(state_dir, keys(**{LD + "\\NETSH.EXE": {"DumpFolder": expand_sz("C:\\Upper")}}))
    assert crash_on(state_dir, "netsh.exe")["folder"] == "C:\\Upper"


def test_wrong_typed_value_falls_back(state_dir):
    seed(state_dir, keys(**{LD: {"DumpCount": dword(3)},
                            LD + "\\netsh.exe": {"DumpCount": {"type": "REG_SZ", "data": "5"}}}))
    assert crash_on(state_dir, "netsh.exe")["settings"]["DumpCount"]["source"] == "global"


def test_custom_dump_type_uses_custom_flags(state_dir):
    seed(state_dir, keys(**{LD: {"DumpType": dword(0), "CustomDumpFlags": dword(0x1826)}}))
    out = crash_on(state_dir, "netsh.exe")
    assert out["dump"]["flags"] == 0x1826
    dump = Dump(dump_bytes(state_dir, out["dumped"]))
    assert dump.flags == 0x1826 and 9 in dump.streams  # 0x2 (WithFullMemory) is in the mask


def test_dumpcount_rotation_keeps_the_newest(state_dir):
    seed(state_dir, keys(**{LD: {"DumpFolder": expand_sz("C:\\WER"), "DumpCount": dword(2)}}))
    outs = [crash_on(state_dir, "netsh.exe", pid=pid) for pid in (100, 104, 108)]
    assert files_in(state_dir, "C:\\WER") == ["C:\\WER\\netsh.exe.104.dmp", "C:\\WER\\netsh.exe.108.dmp"]
    assert outs[2]["rotated"] == ["C:\\WER\\netsh.exe.100.dmp"]
    # Other images' dumps in the same folder count too: the oldest goes first, whoever made it.
    crash_on(state_dir, "notepad.exe", pid=112)
    assert files_in(state_dir, "C:\\WER") == ["C:\\WER\\netsh.exe.108.dmp", "C:\\WER\\notepad.exe.112.dmp"]


def test_same_pid_overwrites(state_dir):
    seed(state_dir, keys(**{LD: {"DumpFolder": expand_sz("C:\\WER")}}))
    crash_on(state_dir, "netsh.exe", pid=100)
    crash_on(state_dir, "netsh.exe", pid=100)
    assert files_in(state_dir, "C:\\WER") == ["C:\\WER\\netsh.exe.100.dmp"]


@pytest.mark.parametrize("quirk, dumped", [("no_dump", False), ("default", True)])
def test_global_dumpcount_zero_follows_the_quirk(state_dir, quirk, dumped):
    overlay = keys(**{LD: {"DumpCount": dword(0)}})
    overlay["quirks"] = {"dumpcount_zero": quirk}
    seed(state_dir, overlay)
    out = crash_on(state_dir, "notepad.exe")
    assert (out["dumped"] is not None) is dumped
    assert out["reason"] == ("written" if dumped else "dumpcount_zero")


def test_dumpcount_zero_guard_limits_dumps_to_one_image(state_dir):
    seed(state_dir, keys(**{LD: {"DumpCount": dword(0)},
                            LD + "\\netsh.exe": {"DumpCount": dword(5), "DumpFolder": expand_sz("C:\\WER")}}))
    assert crash_on(state_dir, "netsh.exe")["dumped"] is not None
    assert crash_on(state_dir, "notepad.exe")["dumped"] is None


def test_aedebug_auto_with_debugger_suppresses_wer(state_dir):
    seed(state_dir, keys(**{LD: {}, AEDEBUG: {
        "Auto": {"type": "REG_SZ", "data": "1"},
        "Debugger": {"type": "REG_SZ", "data": "procdump.exe -j C:\\d %ld"}}}))
    out = crash_on(state_dir, "netsh.exe")
    assert out["dumped"] is None and out["reason"] == "aedebug_auto" and out["events"] == []


def test_aedebug_auto_without_debugger_does_not(state_dir):
    seed(state_dir, keys(**{LD: {}, AEDEBUG: {"Auto": {"type": "REG_SZ", "data": "1"}}}))
    assert crash_on(state_dir, "netsh.exe")["reason"] == "written"


@pytest.mark.parametrize("blocks, reason, events", [(False, "written", 2), (True, "wer_disabled", 1)])
def test_wer_disabled_blocks_only_under_the_quirk(state_dir, blocks, reason, events):
    overlay = keys(**{LD: {}, WER: {"Disabled": dword(1)}})
    overlay["quirks"] = {"wer_disabled_blocks_localdumps": blocks}
    seed(state_dir, overlay)
    out = crash_on(state_dir, "netsh.exe")
    assert out["reason"] == reason and len(out["events"]) == events


@pytest.mark.parametrize("account, folder", [
    ("SYSTEM", "C:\\Windows\\System32\\config\\systemprofile\\AppData\\Local\\CrashDumps"),
    ("LocalService", "C:\\Windows\\ServiceProfiles\\LocalService\\AppData\\Local\\CrashDumps"),
    ("NT AUTHORITY\\NetworkService", "C:\\Windows\\ServiceProfiles\\NetworkService\\AppData\\Local\\CrashDumps"),
    ("alice", ALICE_DUMPS),
])
def test_default_folder_per_account(state_dir, account, folder):
    seed(state_dir, {"registry": {LD: {}}})
    out = crash_on(state_dir, "svc.exe", account=account)
    assert out["folder"] == folder and out["reason"] == "written"


def test_service_process_crash_uses_its_account_and_stops_its_service(state_dir):
    seed(state_dir, {"registry": {LD: {}}})
    out = crash_on(state_dir, "svchost.exe", pid=1372)  # hosts EventLog as LocalService
    assert out["account"] == "LocalService"
    assert out["folder"].startswith("C:\\Windows\\ServiceProfiles\\LocalService\\")
    state = load_state(state_dir, HOST)
    assert state["services"]["EventLog"]["status"] == "Stopped"
    assert all(p["pid"] != 1372 for p in state["processes"])
    event_1000 = next(e for e in state["events"] if e["record_id"] == out["events"][0])
    assert event_1000["properties"][0] == "svchost.exe_EventLog"


def test_expand_sz_folder_uses_the_crashing_accounts_environment(state_dir):
    seed(state_dir, keys(**{LD: {"DumpFolder": expand_sz("%LOCALAPPDATA%\\Dumps\\%USERNAME%")}}))
    assert crash_on(state_dir, "a.exe", account="SYSTEM")["folder"] == \
        "C:\\Windows\\System32\\config\\systemprofile\\AppData\\Local\\Dumps\\LAB-WIN2022$"
    assert crash_on(state_dir, "a.exe", account="alice")["folder"] == "C:\\Users\\alice\\AppData\\Local\\Dumps\\alice"


def test_reg_sz_folder_is_not_expanded(state_dir):
    seed(state_dir, keys(**{LD: {"DumpFolder": {"type": "REG_SZ", "data": "%ProgramData%\\Dumps"}}}))
    out = crash_on(state_dir, "a.exe")
    assert out["dumped"] is None and out["reason"] == "folder_invalid"


def test_unwritable_folder_gets_no_dump(state_dir):
    overlay = keys(**{LD: {"DumpFolder": expand_sz("C:\\Secure")}})
    overlay["files"] = {"C:\\Secure": {"type": "directory", "sddl": "O:BAG:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"}}
    seed(state_dir, overlay)
    out = crash_on(state_dir, "a.exe", account="alice")
    assert out["dumped"] is None and out["reason"] == "folder_not_writable" and "alice" in out["detail"]
    assert len(out["events"]) == 2
    assert crash_on(state_dir, "a.exe", account="SYSTEM")["reason"] == "written"


def test_deny_ace_wins_over_a_later_allow(state_dir):
    overlay = keys(**{LD: {"DumpFolder": expand_sz("C:\\Dumps")}})
    overlay["files"] = {"C:\\Dumps": {"type": "directory",
                                      "sddl": "O:BAG:SYD:PAI(D;OICI;0x2;;;BU)(A;OICI;FA;;;WD)"}}
    seed(state_dir, overlay)
    assert crash_on(state_dir, "a.exe", account="alice")["reason"] == "folder_not_writable"


def test_new_folder_under_c_root_is_writable_by_users(state_dir):
    seed(state_dir, keys(**{LD: {"DumpFolder": expand_sz("C:\\CrashDumps\\Apps")}}))
    out = crash_on(state_dir, "a.exe", account="alice")
    assert out["reason"] == "written"
    assert load_state(state_dir, HOST)["files"]["C:\\CrashDumps"]["type"] == "directory"


def test_folder_on_a_missing_drive(state_dir):
    seed(state_dir, keys(**{LD: {"DumpFolder": expand_sz("D:\\Dumps")}}))
    out = crash_on(state_dir, "a.exe")
    assert out["reason"] == "folder_invalid" and out["detail"]


def test_folder_that_is_a_file(state_dir):
    overlay = keys(**{LD: {"DumpFolder": expand_sz("C:\\WER")}})
    overlay["files"] = {"C:\\WER": {"content": "not a folder"}}
    seed(state_dir, overlay)
    assert crash_on(state_dir, "a.exe")["reason"] == "folder_is_file"


def test_wow6432node_copy_is_not_read(state_dir):
    seed(state_dir, keys(**{LD32: {"DumpFolder": expand_sz("C:\\WER"), "DumpType": dword(2)}}))
    out = crash_on(state_dir, "netsh.exe")
    assert out["dumped"] is None and out["reason"] == "no_localdumps_key"
    seed(state_dir, keys(**{LD: {}, LD32 + "\\netsh.exe": {"DumpFolder": expand_sz("C:\\WER")}}))
    assert crash_on(state_dir, "netsh.exe")["folder"] == ALICE_DUMPS


@pytest.mark.parametrize("value", [
    {"type": "REG_SZ", "data": "0x02000000"}, {"type": "REG_SZ", "data": "0X02000100"},
    {"type": "REG_SZ", "data": "33554432"}, {"type": "REG_DWORD", "data": 0x02000000}])
def test_page_heap_global_flag_forms(state_dir, value):
    seed(state_dir, keys(**{LD: {}, IFEO + "\\netsh.exe": {"GlobalFlag": value}}))
    out = crash_on(state_dir, "netsh.exe")
    assert out["page_heap"] is True
    names = [m["name"].rsplit("\\", 1)[1] for m in Dump(dump_bytes(state_dir, out["dumped"])).modules]
    assert "verifier.dll" in names


def test_page_heap_needs_a_restart(state_dir):
    seed(state_dir, {"registry": {LD: {}}})
    with open_host(state_dir, HOST) as lab:
        before = start_process(lab, "app.exe")
        lab.registry.create(IFEO + "\\app.exe", 64)
        lab.registry.set_value(IFEO + "\\app.exe", 64, "GlobalFlag", "REG_SZ", "0x02000000")
        after = start_process(lab, "app.exe")
    assert crash_on(state_dir, "app.exe", pid=before["pid"])["page_heap"] is False
    assert crash_on(state_dir, "app.exe", pid=after["pid"])["page_heap"] is True


def test_events_1000_and_1001_describe_the_same_crash(state_dir):
    seed(state_dir, keys(**{LD: {"DumpFolder": expand_sz("C:\\WER")}}))
    out = crash_on(state_dir, "netsh.exe", pid=0xFEE4, code=0xC0000374)
    events = {e["record_id"]: e for e in load_state(state_dir, HOST)["events"]}
    e1000, e1001 = events[out["events"][0]], events[out["events"][1]]
    assert out["events"][1] == out["events"][0] + 1
    assert (e1000["provider"], e1000["id"], e1000["level"]) == ("Application Error", 1000, 2)
    assert (e1001["provider"], e1001["id"], e1001["level"]) == ("Windows Error Reporting", 1001, 4)
    p = e1000["properties"]
    assert len(p) == 15
    assert p[0] == "netsh.exe" and p[1] == "10.0.20348.1" and len(p[2]) == 8
    assert p[3] == "ntdll.dll" == out["faulting_module"] and p[6] == "c0000374"
    assert len(p[7]) == 16 and p[8] == "fee4" and len(p[9]) == 16 and p[9].startswith("01d")
    assert p[10] == "C:\\Windows\\System32\\netsh.exe" and p[11] == "C:\\Windows\\System32\\ntdll.dll"
    assert p[12] == out["report_id"] and p[13:] == ["", ""]
    q = e1001["properties"]
    assert len(q) == 23 and q[2] == "APPCRASH" and q[5:13] == p[0:8] and q[19] == p[12]
    attached = q[15].split("\r\n")
    assert "\\\\?\\C:\\WER\\netsh.exe.65252.dmp" in attached and all(a.startswith("\\\\?\\") for a in attached)
    dump = Dump(dump_bytes(state_dir, out["dumped"]))
    fault = dump.module_at(dump.exception["address"])
    assert int(p[7], 16) == dump.exception["address"] - fault["base"]
    assert "%08x" % fault["time_stamp"] == p[5]


def test_same_bug_same_bucket_other_bug_other_offset(state_dir):
    seed(state_dir)
    a = crash_on(state_dir, "netsh.exe", pid=100)
    b = crash_on(state_dir, "netsh.exe", pid=200)
    c = crash_on(state_dir, "netsh.exe", pid=300, code=0xC0000094)
    events = {e["record_id"]: e["properties"] for e in load_state(state_dir, HOST)["events"]}
    assert events[a["events"][0]][7] == events[b["events"][0]][7] != events[c["events"][0]][7]
    assert a["report_id"] != b["report_id"]


def test_x86_host_offsets_are_eight_digits(state_dir):
    seed(state_dir, host="lab-win10-x86")
    out = crash_on(state_dir, "app.exe", host="lab-win10-x86")
    event = next(e for e in load_state(state_dir, "lab-win10-x86")["events"] if e["record_id"] == out["events"][0])
    assert len(event["properties"][7]) == 8
