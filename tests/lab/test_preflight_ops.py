"""The lab's side of the operations preflight adds (docs/docsite/rst/agent_protocol.rst), and the bootstrap's
refusal in ConstrainedLanguage mode."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path

from crashdump_lab import Transport, execute_batch, open_host, seed_host
from crashdump_lab.transport import COMMAND_PREFIX, LANGUAGE_MODE_ERROR, SEPARATOR

REPO = Path(__file__).resolve().parents[2]
HOST = "lab-win2022"
LD = "HKLM\\SOFTWARE\\Microsoft\\Windows\\Windows Error Reporting\\LocalDumps"
APP_PATHS = "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\App Paths"


def data(state_dir, *ops, host=HOST):
    with open_host(state_dir, host) as lab:
        results = execute_batch(lab, {"version": 1, "ops": list(ops)})["results"]
    assert all(r["ok"] for r in results), results
    return [r["data"] for r in results]


def test_image_files_finds_system32_app_paths_services_processes_and_given_paths(state_dir):
    seed_host(state_dir, HOST, {
        "registry": {APP_PATHS + "\\shop.exe": {"values": {"": {"type": "REG_SZ",
                                                                "data": '"C:\\Program Files\\Shop\\shop.exe"'}}}},
        "executables": {"C:\\Program Files\\Shop\\shop.exe": {"version": "2.1.0.7", "product_version": "2.1",
                                                              "product_name": "Shop", "company": "Contoso",
                                                              "size": 1000, "mtime": "2026-03-01T00:00:00.000Z"}},
        "services": {"ShopSvc": {"display_name": "Shop", "status": "Stopped", "start_mode": "Auto",
                                 "account": "NT AUTHORITY\\NetworkService", "pid": 0,
                                 "path": "\"C:\\Program Files\\Shop\\shop.exe\" -service"}},
        "processes": [{"name": "shop.exe", "pid": 5000, "start_time": "2026-11-20T07:00:00.000Z", "account": "alice",
                       "path": "C:\\Users\\alice\\Shop\\shop.exe", "services": []}],
    })
    shop, netsh = data(state_dir, {"op": "image_files", "name": "SHOP.exe", "paths": ["%ProgramFiles%\\none.exe"]},
                       {"op": "image_files", "name": "netsh.exe", "paths": []})
    by_path = {f["path"]: f for f in shop["files"]}
    installed = by_path["C:\\Program Files\\Shop\\shop.exe"]
    assert installed["sources"] == ["app_paths", "service:ShopSvc"]
    assert installed["exists"] and installed["version"] == "2.1.0.7" and installed["company"] == "Contoso"
    assert by_path["C:\\Users\\alice\\Shop\\shop.exe"]["sources"] == ["process:5000"]
    assert by_path["C:\\Users\\alice\\Shop\\shop.exe"]["exists"] is False
    assert by_path["C:\\Program Files\\none.exe"] == {
        "path": "C:\\Program Files\\none.exe", "sources": ["given"], "exists": False, "version": None,
        "product_version": None, "product_name": None, "company": None, "size": None, "mtime": None}
    assert [s["name"] for s in shop["services"]] == ["ShopSvc"]
    assert shop["services"][0]["account"] == "NT AUTHORITY\\NetworkService"
    assert [(f["path"], f["sources"], f["version"]) for f in netsh["files"]] == [
        ("C:\\Windows\\System32\\netsh.exe", ["system32"], "10.0.20348.1"),
        ("C:\\Windows\\SysWOW64\\netsh.exe", ["syswow64"], "10.0.20348.1")]


def test_image_files_rejects_a_path_as_name(state_dir):
    with open_host(state_dir, HOST) as lab:
        result = execute_batch(lab, {"version": 1, "ops": [{"op": "image_files", "name": "C:\\x.exe"}]})["results"]
    assert result[0]["error"]["type"] == "System.ArgumentException"


def test_process_memory(state_dir):
    seed_host(state_dir, HOST, {"processes": [{"name": "big.exe", "pid": 6000, "start_time": "2026-11-20T07:00:00.000Z",
                                               "account": "SYSTEM", "path": "C:\\big.exe", "services": [],
                                               "private_bytes": 7 * 2 ** 30}]})
    (found,) = data(state_dir, {"op": "process_memory", "names": ["BIG.EXE", "explorer.exe"]})
    assert found == {"processes": [{"name": "explorer.exe", "pid": 4412, "private_bytes": 64 * 2 ** 20},
                                   {"name": "big.exe", "pid": 6000, "private_bytes": 7 * 2 ** 30}]}


def test_folder_probe_per_account_with_levels_and_volume(state_dir):
    seed_host(state_dir, HOST, {"registry": {LD: {"values": {
        "DumpFolder": {"type": "REG_EXPAND_SZ", "data": "%LOCALAPPDATA%\\CrashDumps"}}}}})
    (probe,) = data(state_dir, {"op": "folder_probe", "value": [
        {"key": LD + "\\netsh.exe", "view": 64, "name": "DumpFolder"},
        {"key": LD, "view": 64, "name": "DumpFolder"}], "default": "C:\\unused",
        "accounts": ["S-1-5-18", "nobody"], "process_names": ["explorer.exe"]})
    assert (probe["folder"], probe["type"], probe["source"]) == ("%LOCALAPPDATA%\\CrashDumps", "REG_EXPAND_SZ", 1)
    system, nobody, alice = probe["accounts"]
    # Built-in accounts go by SID (their names are localised; "LocalSystem" is no account name at all).
    assert (system["name"], system["account"], system["sid"]) == ("S-1-5-18", "NT AUTHORITY\\SYSTEM", "S-1-5-18")
    assert system["folder"] == "C:\\Windows\\System32\\config\\systemprofile\\AppData\\Local\\CrashDumps"
    assert [(lv["path"], lv["exists"]) for lv in system["levels"]] == [
        (system["folder"], False), ("C:\\Windows\\System32\\config\\systemprofile\\AppData\\Local", True)]
    assert system["levels"][1]["sddl"].startswith("O:SYG:SY")
    assert system["volume"] == {"root": "C:\\", "exists": True, "ready": True, "free_bytes": 48 * 2 ** 30,
                                "total_bytes": 127 * 2 ** 30, "format": "NTFS"}
    assert nobody == {"name": "nobody", "exists": False, "account": None, "sid": None, "profile": None, "pids": [],
                      "folder": None, "valid": False, "levels": [], "volume": None}
    assert alice["name"] is None and alice["pids"] == [4412] and alice["account"] == "LAB-WIN2022\\alice"
    assert alice["folder"] == "C:\\Users\\alice\\AppData\\Local\\CrashDumps"


def test_folder_probe_reg_sz_is_literal_and_default_is_expanded(state_dir):
    seed_host(state_dir, HOST, {"registry": {LD: {"values": {
        "DumpFolder": {"type": "REG_SZ", "data": "%LOCALAPPDATA%\\CrashDumps"}}}}})
    literal, default, missing_drive = data(
        state_dir,
        {"op": "folder_probe", "value": [{"key": LD, "view": 64, "name": "DumpFolder"}], "accounts": ["SYSTEM"]},
        {"op": "folder_probe", "value": [], "default": "%SystemRoot%\\WER", "accounts": ["SYSTEM"]},
        {"op": "folder_probe", "value": [], "default": "Q:\\Dumps", "accounts": ["SYSTEM"]})
    assert literal["type"] == "REG_SZ" and literal["accounts"][0]["valid"] is False
    assert literal["accounts"][0]["folder"] == "%LOCALAPPDATA%\\CrashDumps"
    assert default["source"] is None and default["accounts"][0]["folder"] == "C:\\Windows\\WER"
    assert default["accounts"][0]["levels"][-1]["path"] == "C:\\Windows"
    assert missing_drive["accounts"][0]["volume"]["exists"] is False
    assert [lv["exists"] for lv in missing_drive["accounts"][0]["levels"]] == [False, False]


def test_defender_av_products_and_hotfixes_clean_and_seeded(state_dir):
    defender, av, fixes = data(state_dir, {"op": "defender_state"}, {"op": "av_products"}, {"op": "hotfix_latest"})
    assert defender["available"] and defender["real_time_protection"] and defender["exclusion_paths"] == []
    assert av["available"] is False and "client editions" in av["reason"]
    assert fixes == {"count": 2, "undated": 0, "age_days": 8,
                     "newest": {"id": "KB5046616", "description": "Security Update", "installed_on": "2026-11-12"}}

    seed_host(state_dir, "lab-win11", {"defender": {"available": False, "reason": "Get-MpPreference failed"},
                                       "hotfixes": [{"id": "KB1", "description": "Update", "installed_on": None}]})
    defender, av, fixes = data(state_dir, {"op": "defender_state"}, {"op": "av_products"}, {"op": "hotfix_latest"},
                               host="lab-win11")
    assert defender["available"] is False and defender["reason"] == "Get-MpPreference failed"
    assert av["available"] and av["products"][0]["name"] == "Windows Defender"
    assert fixes == {"count": 1, "undated": 1, "age_days": None, "newest": None}

    seed_host(state_dir, HOST, {"defender": {"exclusions_visible": False, "exclusion_paths": ["C:\\WER"]}})
    (defender,) = data(state_dir, {"op": "defender_state"})
    assert defender["exclusions_visible"] is False and defender["exclusion_paths"] == []


def test_seed_writes_hkcu_into_the_administrators_hive(state_dir):
    state = seed_host(state_dir, HOST, {"registry": {"HKCU\\Software\\X": {"values": {
        "v": {"type": "REG_DWORD", "data": 1}}}}})
    sid = state["accounts"]["Administrator"]["sid"]
    assert state["registry"]["HKU\\%s\\Software\\X" % sid]["values"]["v"]["data"] == 1


def test_constrained_language_mode_is_refused_as_the_bootstrap_does(state_dir):
    seed_host(state_dir, HOST, {"os": {"language_mode": "ConstrainedLanguage"}})
    scripts = REPO / "plugins" / "plugin_utils"
    bootstrap = (scripts / "bootstrap.ps1").read_text(encoding="ascii")
    command = COMMAND_PREFIX + base64.b64encode(bootstrap.encode("utf-16-le")).decode("ascii")
    agent = (scripts / "agent.ps1").read_text(encoding="ascii").rstrip("\n")
    stdin = "%s\n%s\n%s\n" % (base64.b64encode(gzip.compress(agent.encode("ascii"))).decode("ascii"), SEPARATOR,
                              json.dumps({"version": 1, "ops": [{"op": "os_facts"}]}))
    rc, out, _err = Transport(state_dir, HOST).exec_command(command, stdin.encode("ascii"))
    reply = json.loads(out)
    assert rc == 1 and reply == {"version": 1, "error": LANGUAGE_MODE_ERROR % "ConstrainedLanguage"}
    # The bootstrap prints the same text around the mode it finds.
    before, after = LANGUAGE_MODE_ERROR.split("%s")
    assert "'{\"version\":1,\"error\":\"%s' + $mode + '%s\"}'" % (before, after) in bootstrap
