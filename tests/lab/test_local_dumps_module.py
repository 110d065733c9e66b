"""crashdump.windows.local_dumps through ansible-playbook against lab hosts."""

import json

LD = "HKLM\\SOFTWARE\\Microsoft\\Windows\\Windows Error Reporting\\LocalDumps"
LD32 = "HKLM\\SOFTWARE\\Wow6432Node\\Microsoft\\Windows\\Windows Error Reporting\\LocalDumps"
UNDO = "HKLM\\SOFTWARE\\crashdump.windows\\Undo"

ENABLE = """
- crashdump.windows.local_dumps:
    exe: {exe}
    dump_folder: C:\\WER
    dump_count: 10
    dump_type: full
"""
DISABLE = """
- crashdump.windows.local_dumps:
    exe: {exe}
    state: absent
"""

FOREIGN = {
    "registry": {
        LD: {"values": {"DumpFolder": {"type": "REG_EXPAND_SZ", "data": "%LOCALAPPDATA%\\CrashDumps"},
                        "DumpType": {"type": "REG_DWORD", "data": 1}}},
        LD + "\\netsh.exe": {"values": {"DumpCount": {"type": "REG_SZ", "data": "5"},
                                        "Vendor": {"type": "REG_BINARY", "data": "00ff10"}}},
        LD32: {"values": {"DumpType": {"type": "REG_DWORD", "data": 0},
                          "CustomDumpFlags": {"type": "REG_DWORD", "data": 6}}},
    }
}


def key(reg, path):
    """Case-insensitive lookup of a key in a lab registry dump."""
    for k, v in reg.items():
        if k.casefold() == path.casefold():
            return v
    return None


def warnings(proc):
    """Ansible prints a result's warnings itself, outside the result; unwrap its lines."""
    return " ".join((proc.stdout + proc.stderr).split())


def only(results):
    assert len(results) == 1, results
    return results[0][1]


def test_enable_clean_host_configures_both_views_guard_and_folder(lab):
    lab.host("win")
    before_rt = lab.stats("win")["round_trips"]
    proc = lab.play(ENABLE.format(exe="netsh.exe"))
    res = only(proc.results)
    assert res["changed"] is True
    reg = lab.registry("win")
    for root in (LD, LD32):
        values = key(reg, root + "\\netsh.exe")["values"]
        assert values["DumpFolder"] == {"type": "REG_EXPAND_SZ", "data": "C:\\WER"}
        assert values["DumpCount"] == {"type": "REG_DWORD", "data": 10}
        assert values["DumpType"] == {"type": "REG_DWORD", "data": 2}
        assert key(reg, root)["values"]["DumpCount"] == {"type": "REG_DWORD", "data": 0}
    assert key(reg, UNDO)["values"]
    folder = lab.state("win")["files"]["C:\\WER"]
    assert folder["type"] == "directory" and folder["sddl"].startswith("O:BAG:SYD:P")
    assert res["dump_scope"] == "image"
    assert res["effective"]["dump_type"] == "full" and res["effective"]["dump_folder"] == "C:\\WER"
    assert "global DumpCount=0 was set to keep dumps to netsh.exe" in warnings(proc)
    assert lab.stats("win")["round_trips"] - before_rt == 2

    again = lab.play(ENABLE.format(exe="netsh.exe"))
    assert only(again.results)["changed"] is False
    assert lab.stats("win")["round_trips"] - before_rt == 3


def test_check_mode_changes_nothing_and_predicts_change(lab):
    lab.host("win")
    start = lab.state("win")
    proc = lab.play(ENABLE.format(exe="netsh.exe"), "--check", "--diff")
    assert only(proc.results)["changed"] is True
    after = lab.state("win")
    assert after["registry"] == start["registry"] and after["files"] == start["files"]
    # The callback prints the diff itself, as a unified diff of the two sides.
    assert '+"DumpType"=REG_DWORD:2 (0x2)' in proc.stdout
    assert "LocalDumps\\netsh.exe] (32-bit view)" in proc.stdout


def sz(data, kind="REG_SZ"):
    return {"type": kind, "data": data}


def dword(data):
    return {"type": "REG_DWORD", "data": data}


# Starting states that enable then state=absent must give back byte for byte.
SEEDS = {
    "clean": None,
    "foreign": FOREIGN,
    "empty-localdumps": {"registry": {LD: {"values": {}}}},
    "global-by-hand": {"registry": {LD: {"values": {
        "DumpFolder": sz("D:\\Dumps", "REG_EXPAND_SZ"), "DumpCount": dword(3), "DumpType": dword(2)}}}},
    "image-other-values": {"registry": {LD + "\\netsh.exe": {"values": {
        "Owner": sz("ops"), "Ticket": sz(["INC1", "INC2"], "REG_MULTI_SZ")}}}},
    "image-sz-folder": {"registry": {LD + "\\netsh.exe": {"values": {
        "DumpFolder": sz("C:\\Old"), "DumpType": dword(1)}}}},
    "wow64-only": {"registry": {LD32: {"values": {"DumpCount": dword(2)}},
                                LD32 + "\\netsh.exe": {"values": {"DumpType": dword(1)}}}},
    "odd-types": {"registry": {LD + "\\netsh.exe": {"values": {
        "DumpCount": {"type": "REG_QWORD", "data": 4}, "DumpType": {"type": "REG_BINARY", "data": "02000000"},
        "CustomDumpFlags": sz("0x121")}}}},
    "other-images": {"registry": {LD: {"values": {"DumpCount": dword(0)}},
                                  LD + "\\notepad.exe": {"values": {"DumpType": dword(2)}},
                                  LD32 + "\\notepad.exe": {"values": {"DumpType": dword(2)}}}},
    "empty-image-key": {"registry": {LD + "\\netsh.exe": {"values": {}},
                                     LD + "\\netsh.exe\\Vendor": {"values": {"Id": dword(7)}}}},
    # Data of odd size, as a careless tool leaves it: a 5-byte REG_DWORD, a REG_EXPAND_SZ with two NULs, a
    # REG_MULTI_SZ with one terminating NUL, a 3-byte global DumpCount. Undo must give back these very bytes.
    "odd-sizes": {"registry": {
        LD: {"values": {"DumpCount": {"type": "REG_DWORD", "data": "000000", "raw": True}}},
        LD + "\\netsh.exe": {"values": {
            "DumpCount": {"type": "REG_DWORD", "data": "0a00000000", "raw": True},
            "DumpFolder": {"type": "REG_EXPAND_SZ", "data": "43003a005c00570000000000", "raw": True},
            "DumpType": {"type": "REG_MULTI_SZ", "data": "32000000", "raw": True}}}}},
}


def canonical(state):
    return json.dumps({"registry": state["registry"], "files": state["files"]}, sort_keys=True)


def test_enable_then_absent_restores_every_seeded_state_byte_for_byte(lab):
    hosts = [lab.host(name, seed) for name, seed in SEEDS.items()]
    assert len(hosts) >= 10
    start = {h: canonical(lab.state(h)) for h in hosts}
    lab.play(ENABLE.format(exe="netsh.exe"))
    for h in hosts:
        values = key(lab.registry(h), LD + "\\netsh.exe")["values"]
        assert values["DumpType"] == dword(2) and values["DumpFolder"] == sz("C:\\WER", "REG_EXPAND_SZ"), h
    proc = lab.play(DISABLE.format(exe="netsh.exe"))
    assert all(result["changed"] for _host, result in proc.results)
    assert {h: canonical(lab.state(h)) for h in hosts} == start
    # Undoing twice must not eat what was there before the first change.
    proc = lab.play(DISABLE.format(exe="netsh.exe") + "    unrecorded: keep\n")
    assert not any(result["changed"] for _host, result in proc.results)
    assert {h: canonical(lab.state(h)) for h in hosts} == start


def test_foreign_global_key_gets_no_guard(lab):
    lab.host("win", FOREIGN)
    res = only(lab.play(ENABLE.format(exe="netsh.exe")).results)
    reg = lab.registry("win")
    assert "DumpCount" not in key(reg, LD)["values"]
    assert key(reg, LD + "\\netsh.exe")["values"]["Vendor"] == {"type": "REG_BINARY", "data": "00ff10"}
    assert res["dump_scope"] == "all_processes"


def test_guard_is_shared_and_leaves_with_the_last_image(lab):
    lab.host("win")
    start = lab.registry("win")
    lab.play(ENABLE.format(exe="a.exe") + ENABLE.format(exe="b.exe"))
    lab.play(DISABLE.format(exe="a.exe"))
    reg = lab.registry("win")
    assert key(reg, LD)["values"]["DumpCount"]["data"] == 0
    assert key(reg, LD + "\\a.exe") is None and key(reg, LD + "\\b.exe") is not None
    lab.play(DISABLE.format(exe="b.exe"))
    assert lab.registry("win") == start


def test_absent_without_record_removes_only_managed_values(lab):
    lab.host("win", {"registry": {LD + "\\app.exe": {"values": {
        "DumpType": {"type": "REG_DWORD", "data": 2}, "Owner": {"type": "REG_SZ", "data": "ops"}}}}})
    res = only(lab.play(DISABLE.format(exe="app.exe")).results)
    assert res["changed"] is True
    assert key(lab.registry("win"), LD + "\\app.exe")["values"] == {"Owner": {"type": "REG_SZ", "data": "ops"}}


def test_x86_host_has_only_the_native_view(lab):
    lab.host("x86", arch="x86")
    proc = lab.play(ENABLE.format(exe="netsh.exe") + "    registry_views: [64, 32]\n")
    reg = lab.registry("x86")
    assert key(reg, LD + "\\netsh.exe") is not None
    assert not any("wow6432node" in k.casefold() for k in reg)
    assert "32-bit Windows has no WOW64 registry view" in warnings(proc)
    assert list(only(proc.results)["views"]) == ["64"]
    # Undone, the key is reported gone, in the one view there is.
    undo = only(lab.play(DISABLE.format(exe="netsh.exe")).results)
    assert undo["views"] == {"64": {"before": undo["views"]["64"]["before"], "after": None}}
    assert not any("netsh.exe" in k for k in lab.registry("x86"))


def test_hostile_but_valid_names_are_inert_data(lab):
    lab.host("win")
    exe = "a$(Stop-Computer)';b`c.exe"
    lab.play(ENABLE.format(exe=json.dumps(exe)))
    assert key(lab.registry("win"), LD + "\\" + exe) is not None


# Each refused before anything is sent: (arguments, what the message says).
REFUSED = [
    ({"exe": "C:\\Windows\\netsh.exe"}, "is a path"),
    ({"exe": "tools/netsh.exe"}, "is a path"),
    ({"exe": "*.exe"}, "has a wildcard"),
    ({"exe": "net?h.exe"}, "has a wildcard"),
    ({"exe": "a|b.exe"}, "which Windows forbids"),
    ({"exe": "a<b.exe"}, "which Windows forbids"),
    ({"exe": "a>b.exe"}, "which Windows forbids"),
    ({"exe": 'a"b.exe'}, "which Windows forbids"),
    ({"exe": "c:netsh.exe"}, "which Windows forbids"),
    ({"exe": "net\nsh.exe"}, "which Windows forbids"),
    ({"exe": "net\tsh.exe"}, "which Windows forbids"),
    ({"exe": "net\u0000sh.exe"}, "which Windows forbids"),
    ({"exe": "  "}, "the image name is empty"),
    ({"exe": ""}, "the image name is empty"),
    ({"exe": " netsh.exe"}, "starts or ends with a space"),
    ({"exe": "netsh.exe."}, "ends with a dot"),
    ({"exe": "CON"}, "reserved device name"),
    ({"exe": "nul.exe"}, "reserved device name"),
    ({"exe": "lpt1.exe"}, "reserved device name"),
    ({"exe": "x" * 252 + ".exe"}, "longer than 255 characters"),
    ({"exe": "lsass.exe"}, "lsass.exe is a sensitive system process"),
    ({"exe": "LSASS.EXE"}, "is a sensitive system process"),
    ({"exe": "csrss.exe"}, "csrss.exe is a sensitive system process"),
    ({"exe": "wininit.exe"}, "wininit.exe is a sensitive system process"),
    ({"exe": "winlogon.exe"}, "winlogon.exe is a sensitive system process"),
    ({"exe": "smss.exe"}, "smss.exe is a sensitive system process"),
    ({"exe": "services.exe"}, "services.exe is a sensitive system process"),
    ({"dump_type": "full"}, "allow_global_full_dump"),
    ({"dump_type": "2"}, "allow_global_full_dump"),
    ({"exe": "x.exe", "dump_count": 5000}, "between 0 and 1000"),
    ({"exe": "x.exe", "dump_count": -1}, "between 0 and 1000"),
    ({"exe": "x.exe", "dump_count": "ten"}, "dump_count"),
    ({"exe": "x.exe", "dump_type": "huge"}, "dump_type must be one of"),
    ({"exe": "x.exe", "dump_type": "3"}, "dump_type must be one of"),
    ({"exe": "x.exe", "dump_type": "mini", "custom_dump_flags": ["WithHandleData"]},
     "only used with dump_type=custom"),
    ({"exe": "x.exe", "custom_dump_flags": 6}, "only used with dump_type=custom"),
    ({"exe": "x.exe", "dump_type": "custom", "custom_dump_flags": ["NoSuchFlag"]}, "unknown MINIDUMP_TYPE"),
    ({"exe": "x.exe", "dump_type": "custom", "custom_dump_flags": "0x100000000"}, "not MINIDUMP_TYPE flags"),
    ({"exe": "x.exe", "dump_type": "custom", "custom_dump_flags": -1}, "not MINIDUMP_TYPE flags"),
    ({"exe": "x.exe", "dump_type": "custom", "custom_dump_flags": True}, "list of MINIDUMP_TYPE names"),
    ({"exe": "x.exe", "dump_folder": "relative\\dir"}, "absolute path"),
    ({"exe": "x.exe", "dump_folder": " "}, "absolute path"),
    ({"exe": "x.exe", "dump_folder": "%LOCALAPPDATA%\\D", "create_folder": True}, "needs a literal path"),
    ({"exe": "x.exe", "create_folder": True}, "create_folder needs dump_folder"),
    ({"exe": "x.exe", "state": "absent", "dump_count": 3}, "only apply with state=present"),
    ({"exe": "x.exe", "state": "absent", "dump_folder": "C:\\WER"}, "only apply with state=present"),
    ({"exe": "x.exe", "state": "gone"}, "state must be one of"),
    ({"exe": "x.exe", "registry_views": []}, "at least one view"),
    ({"exe": "x.exe", "registry_views": [16]}, "registry_views must be one or more of"),
    ({"exe": "x.exe", "unrecorded": "maybe"}, "unrecorded must be one of"),
    ({"exe": "x.exe", "allow_sensitive_image": "perhaps"}, "allow_sensitive_image"),
    ({"exe": "x.exe", "bogus": 1}, "Unsupported parameters"),
]


def test_bad_input_fails_before_touching_the_host(lab):
    lab.host("win")
    start = lab.state("win")
    body = "".join("- crashdump.windows.local_dumps: %s\n  ignore_errors: true\n" % json.dumps(args)
                   for args, _message in REFUSED)
    proc = lab.play(body)
    assert proc.stdout.count("win | FAILED! => ") == len(proc.results) == len(REFUSED) >= 40
    for (_host, result), (args, message) in zip(proc.results, REFUSED):
        assert message in result["msg"], (args, result["msg"])
    assert lab.state("win")["registry"] == start["registry"]
    assert lab.stats("win")["round_trips"] == start["counters"]["round_trips"]


def test_custom_flags_by_name_and_number(lab):
    lab.host("win")
    lab.play("""
- crashdump.windows.local_dumps:
    exe: a.exe
    dump_type: custom
    custom_dump_flags: [WithHandleData, MiniDumpWithThreadInfo]
    registry_views: [64]
- crashdump.windows.local_dumps:
    exe: b.exe
    dump_type: '0'
    custom_dump_flags: 0x121
    registry_views: [64]
""")
    reg = lab.registry("win")
    assert key(reg, LD + "\\a.exe")["values"]["CustomDumpFlags"]["data"] == 0x1004
    assert key(reg, LD + "\\b.exe")["values"]["CustomDumpFlags"]["data"] == 0x121
    assert key(reg, LD32 + "\\a.exe") is None


def test_postmortem_debugger_and_disabled_wer_warn(lab):
    lab.host("win", {"registry": {
        "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\AeDebug": {"values": {
            "Auto": {"type": "REG_SZ", "data": "1"},
            "Debugger": {"type": "REG_SZ", "data": "procdump.exe -accepteula -j C:\\dumps %ld %ld %p"}}},
        "HKLM\\SOFTWARE\\Microsoft\\Windows\\Windows Error Reporting": {"values": {
            "Disabled": {"type": "REG_DWORD", "data": 1}}}}})
    text = warnings(lab.play(ENABLE.format(exe="netsh.exe"), "--check"))
    assert "the postmortem debugger runs instead of WER" in text
    assert "Windows Error Reporting is disabled" in text


def test_crash_writes_full_dump_after_enable_and_none_after_cleanup(lab):
    lab.host("win")
    lab.play(ENABLE.format(exe="netsh.exe"))
    out = json.loads(lab.labctl("crash", "win", "netsh.exe", "--pid", "4242"))
    assert out["dump"]["path"].casefold() == "c:\\wer\\netsh.exe.4242.dmp"
    other = json.loads(lab.labctl("crash", "win", "notepad.exe", "--pid", "77"))
    assert other["dump"] is None
    lab.play(DISABLE.format(exe="netsh.exe"))
    again = json.loads(lab.labctl("crash", "win", "netsh.exe", "--pid", "4243"))
    assert again["dump"] is None


def test_missing_drive_fails_before_any_change(lab):
    lab.host("win")
    start = lab.state("win")
    proc = lab.play(ENABLE.format(exe="netsh.exe").replace("C:\\WER", "Q:\\WER"), check=False)
    assert only(proc.results)["msg"] == "dump_folder Q:\\WER: the drive Q:\\ does not exist on the host"
    assert lab.state("win")["registry"] == start["registry"]


def test_left_out_dump_count_under_a_global_zero_still_gives_the_image_its_dumps(lab):
    # Without a DumpCount of its own the image would take the global DumpCount=0 (the guard, or one already
    # there) and WER would write no dump of it: the image key gets WER's default of 10.
    lab.host("clean")
    lab.host("zero", {"registry": {LD: {"values": {"DumpCount": {"type": "REG_DWORD", "data": 0}}}}})
    lab.host("own", {"registry": {LD: {"values": {"DumpCount": {"type": "REG_DWORD", "data": 0}}},
                                  LD + "\\netsh.exe": {"values": {"DumpCount": {"type": "REG_DWORD", "data": 3}}}}})
    task = "- crashdump.windows.local_dumps: {exe: netsh.exe, dump_type: full}"
    lab.play(task)
    for host, wanted in (("clean", 10), ("zero", 10), ("own", 3)):
        values = key(lab.registry(host), LD + "\\netsh.exe")["values"]
        assert values["DumpCount"] == {"type": "REG_DWORD", "data": wanted}, host
        crash = json.loads(lab.labctl("crash", host, "netsh.exe"))
        assert crash["dump"] is not None, (host, crash)
    assert not any(r["changed"] for _h, r in lab.play(task).results)
    lab.play(DISABLE.format(exe="netsh.exe"))
    assert key(lab.registry("clean"), LD + "\\netsh.exe") is None
    assert key(lab.registry("zero"), LD + "\\netsh.exe") is None
    assert key(lab.registry("own"), LD + "\\netsh.exe")["values"]["DumpCount"]["data"] == 3
