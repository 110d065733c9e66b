"""Preflight's pure logic: the read batch, and findings from what a batch could return."""

import copy
import re
from pathlib import Path

import pytest

from ansible_collections.crashdump.windows.plugins.plugin_utils import _preflight, _preflight_antivirus, _wer
from ansible_collections.crashdump.windows.plugins.plugin_utils._registry import Snapshot

ROOT_SDDL = "O:BAD:PAI(A;OICI;FA;;;BA)(A;OICI;FA;;;SY)(A;OICIIO;SDGXGWGR;;;AU)(A;;LC;;;AU)"


def probe_account(name, sid, account, folder, pids=(), levels=None, free=50 * 2 ** 30):
    return {"name": name, "exists": True, "account": account, "sid": sid, "profile": None, "pids": list(pids),
            "folder": folder, "valid": folder.startswith("C:\\"),
            "levels": levels if levels is not None else [
                {"path": folder, "exists": False, "type": None, "sddl": None, "error": None},
                {"path": "C:\\", "exists": True, "type": "directory", "sddl": ROOT_SDDL, "error": None}],
            "volume": {"root": "C:\\", "exists": True, "ready": True, "free_bytes": free, "total_bytes": 2 ** 40,
                       "format": "NTFS"}}


BASE = {
    "os": {"hostname": "H", "os_name": "Windows", "version": "10.0.20348", "build": 20348, "arch": "AMD64",
           "is_64bit": True, "ps_version": "5.1", "language_mode": "FullLanguage", "env": {"SystemDrive": "C:"}},
    "updates": {"count": 3, "undated": 0, "age_days": 5,
                "newest": {"id": "KB1", "description": "Update", "installed_on": "2026-11-20"}},
    "files": {"files": [], "services": []},
    "processes": {"processes": []},
    "memory": {"processes": []},
    "wersvc": {"exists": True, "name": "WerSvc", "display_name": "WER", "status": "Stopped", "start_mode": "Manual",
               "account": "LocalSystem", "pid": 0},
    "folder": {"folder": "C:\\WER", "type": "REG_EXPAND_SZ", "source": 0, "accounts": [
        probe_account("NT AUTHORITY\\SYSTEM", "S-1-5-18", "NT AUTHORITY\\SYSTEM", "C:\\WER"),
        probe_account("NT AUTHORITY\\LOCAL SERVICE", "S-1-5-19", "NT AUTHORITY\\LOCAL SERVICE", "C:\\WER"),
        probe_account("NT AUTHORITY\\NETWORK SERVICE", "S-1-5-20", "NT AUTHORITY\\NETWORK SERVICE", "C:\\WER")]},
    "defender": {"available": False, "reason": "absent", "real_time_protection": None, "am_running_mode": None,
                 "signature_age_days": None, "exclusions_visible": None, "exclusion_paths": [],
                 "exclusion_processes": [], "exclusion_extensions": []},
    "av": {"available": False, "reason": "server", "products": []},
}
CONFIGURED = {
    (_wer.LOCAL_DUMPS, 64): {"DumpCount": ("REG_DWORD", 0)},
    (_wer.image_key("app.exe"), 64): {"DumpFolder": ("REG_EXPAND_SZ", "C:\\WER"), "DumpCount": ("REG_DWORD", 10),
                                      "DumpType": ("REG_DWORD", 2)},
}


def run(registry=None, planned=None, account=None, **changes):
    facts = copy.deepcopy(BASE)
    for name, value in changes.items():
        facts[name] = value
    _named, reads = _preflight.batch("app.exe", [], account, (planned or {}).get("DumpFolder"))
    snap = Snapshot()
    registry = CONFIGURED if registry is None else registry
    for op in reads:
        values = registry.get((op["key"], op["view"]))
        snap.add(op["key"], op["view"], {"exists": values is not None, "subkeys": [], "values": [
            {"name": n, "type": t, "data": d} for n, (t, d) in (values or {}).items()]})
    return _preflight.evaluate(facts, snap, "app.exe", planned or {}, account=account)


def problems(result):
    return {f["id"] for f in result["findings"] if f["severity"] != "info"}


def test_the_batch_reads_everything_once():
    named, reads = _preflight.batch("app.exe", ["D:\\App\\app.exe"], "CONTOSO\\svc", None)
    assert [op["op"] for op in named.values()] == [
        "os_facts", "hotfix_latest", "image_files", "process_list", "process_memory", "service_state",
        "folder_probe", "defender_state", "av_products"]
    probe = named["folder"]
    assert probe["accounts"] == ["CONTOSO\\svc", *_preflight.BUILTIN_ACCOUNTS]
    assert [v["key"] for v in probe["value"]] == [_wer.image_key("app.exe"), _wer.LOCAL_DUMPS]
    assert probe["default"] == "%LOCALAPPDATA%\\CrashDumps"
    assert named["files"]["paths"] == ["D:\\App\\app.exe"]
    assert all(op["op"] == "reg_read" for op in reads) and len({(r["key"], r["view"]) for r in reads}) == len(reads)
    assert {"key": "HKCU\\" + _preflight.USER_LOCAL_DUMPS + "\\app.exe", "view": 64, "op": "reg_read"} in reads

    named, _reads = _preflight.batch("app.exe", [], "nt authority\\system", "D:\\Dumps")
    assert named["folder"]["value"] == [] and named["folder"]["default"] == "D:\\Dumps"
    # Built-in accounts travel by SID: their names are localised, and LocalSystem is no account name.
    assert named["folder"]["accounts"] == ["S-1-5-18", "S-1-5-19", "S-1-5-20"] == list(_preflight.BUILTIN_ACCOUNTS)
    for name in ("LocalService", "NT AUTHORITY\\LOCAL SERVICE", "s-1-5-19"):
        accounts = _preflight.batch("app.exe", [], name, None)[0]["folder"]["accounts"]
        assert accounts == ["S-1-5-19", "S-1-5-18", "S-1-5-20"]
    assert _preflight.batch("app.exe", [], ".\\svc", None)[0]["folder"]["accounts"][0] == ".\\svc"


def test_a_configured_host_has_nothing_to_report():
    result = run()
    assert problems(result) == set()
    assert result["counts"] == {"blocker": 0, "warning": 0, "info": 7}
    assert [f["severity"] for f in result["findings"]] == ["info"] * 7
    (where,) = result["dump_locations"]
    assert where["sid"] == "S-1-5-18" and where["writable"] is True and where["creatable"] is True


def test_planned_values_replace_the_image_key_and_silence_its_old_values():
    registry = {(_wer.LOCAL_DUMPS, 64): {}, (_wer.image_key("app.exe"), 64): {"DumpCount": ("REG_SZ", "5")}}
    assert problems(run(registry)) == {"wrong_value_type"}
    result = run(registry, planned={"DumpCount": 3, "DumpType": 2, "DumpFolder": "C:\\WER"})
    assert problems(result) == set()
    assert result["effective"]["sources"] == {"DumpFolder": "planned", "DumpCount": "planned",
                                              "DumpType": "planned", "CustomDumpFlags": "default"}
    assert "local_dumps_missing" in problems(run({}))
    assert "local_dumps_missing" not in problems(run({}, planned={"DumpType": 2}))


@pytest.mark.parametrize("name, hint", [("CrashCount", "DumpCount"), ("DumpFolders", "DumpFolder"),
                                        ("dumptyp", "DumpType"), ("CustomDumpFlag", "CustomDumpFlags"),
                                        ("Note", None)])
def test_suggestions_for_unknown_values(name, hint):
    registry = dict(CONFIGURED)
    registry[(_wer.image_key("app.exe"), 64)] = dict(CONFIGURED[(_wer.image_key("app.exe"), 64)],
                                                     **{name: ("REG_DWORD", 1)})
    (finding,) = [f for f in run(registry)["findings"] if f["id"] == "ignored_value"]
    assert finding["evidence"]["suggestion"] == hint
    assert ("did you mean %s?" % hint in finding["message"]) is (hint is not None)


def test_dump_size_comes_from_the_running_instance_then_the_estimate():
    folder = copy.deepcopy(BASE["folder"])
    folder["accounts"].append(probe_account(None, "S-1-5-18", "NT AUTHORITY\\SYSTEM", "C:\\WER", pids=[8],
                                            free=3 * 2 ** 30))
    processes = {"processes": [{"name": "app.exe", "pid": 8, "start_time": "2026-11-20T00:00:00.000Z",
                                "account": "NT AUTHORITY\\SYSTEM", "path": "C:\\app.exe", "services": []}]}
    result = run(folder=folder, processes=processes,
                 memory={"processes": [{"name": "app.exe", "pid": 8, "private_bytes": 400 * 2 ** 20}]})
    (low,) = [f for f in result["findings"] if f["id"] == "low_disk_space"]
    assert low["evidence"]["dump_bytes"] == 400 * 2 ** 20 and low["evidence"]["dump_count"] == 10
    assert result["image"]["instances"][0]["private_bytes"] == 400 * 2 ** 20
    registry = dict(CONFIGURED)
    registry[(_wer.image_key("app.exe"), 64)] = {"DumpFolder": ("REG_EXPAND_SZ", "C:\\WER"),
                                                 "DumpCount": ("REG_DWORD", 10), "DumpType": ("REG_DWORD", 1)}
    assert problems(run(registry, folder=folder, processes=processes)) == set()


def test_who_runs_the_image():
    services = {"files": [], "services": [
        {"name": "Svc", "display_name": "Svc", "account": "NT AUTHORITY\\LocalService", "start_mode": "Auto",
         "status": "Stopped", "pid": 0, "path": "C:\\app.exe"},
        {"name": "Other", "display_name": "Other", "account": ".\\svc-app", "start_mode": "Auto",
         "status": "Stopped", "pid": 0, "path": "C:\\app.exe"}]}
    result = run(files=services)
    assert [w["sid"] for w in result["dump_locations"]] == ["S-1-5-19"]
    (unknown,) = [f for f in result["findings"] if f["id"] == "account_unknown"]
    assert "Other" in unknown["message"] and unknown["fix"] == "Give account=.\\svc-app."
    # A running instance whose owner the agent could not read.
    processes = {"processes": [{"name": "app.exe", "pid": 12, "start_time": None, "account": None, "path": None,
                                "services": []}]}
    result = run(processes=processes)
    assert "account_unknown" in problems(result) and result["dump_locations"][0]["sid"] == "S-1-5-18"


def test_antivirus_states_and_defender_exclusions():
    assert _preflight_antivirus._product_state(0x61100) == (True, True)
    assert _preflight_antivirus._product_state(0x61110) == (True, False)
    assert _preflight_antivirus._product_state(0x60100) == (False, True)
    assert _preflight_antivirus._product_state(None) == (None, None)
    env = {"SystemDrive": "C:", "ProgramData": "C:\\ProgramData"}
    assert _preflight_antivirus.excluded("C:\\WER", ["c:\\wer\\"], env)
    assert _preflight_antivirus.excluded("C:\\ProgramData\\Dumps", ["%ALLUSERSPROFILE%"], env)
    assert _preflight_antivirus.excluded("C:\\WER", ["C:\\WER\\*.dmp"], env)
    assert _preflight_antivirus.excluded("C:\\Users\\a\\AppData\\Local\\CrashDumps",
                                         ["%SystemDrive%\\Users\\*\\AppData"], env)
    assert not _preflight_antivirus.excluded("C:\\WER", ["C:\\WE", "C:\\WER2", "C:\\W[E]R"], env)
    defender = dict(BASE["defender"], available=True, reason=None, real_time_protection=True,
                    am_running_mode="Passive Mode", signature_age_days=1, exclusions_visible=True)
    assert problems(run(defender=defender)) == set()
    assert problems(run(defender=dict(defender, am_running_mode="Normal"))) == {"defender_scans_dump_folder"}


def test_the_language_mode_refusal():
    message = ("the crashdump.windows agent refused the batch: bootstrap: PowerShell runs in ConstrainedLanguage "
               "mode (an application control policy such as WDAC or AppLocker is enforced); ...")
    assert _preflight.language_mode_refusal(message) == "ConstrainedLanguage"
    assert _preflight.language_mode_refusal("the crashdump.windows agent returned no result") is None
    result = _preflight.refused("ConstrainedLanguage", message)
    assert result["counts"] == {"blocker": 1, "warning": 0, "info": 0}
    assert result["findings"][0]["id"] == "language_mode" and result["findings"][0]["fix"]


def test_every_finding_is_documented():
    made = set()
    for path in Path(_preflight.__file__).parent.glob("_preflight*.py"):
        source = path.read_text(encoding="utf-8")
        made |= set(re.findall(r'(?:found\.add|_finding|\badd)\(\s*"([a-z0-9_]+)"', source))
    guide = (Path(__file__).resolve().parents[4] / "docs" / "docsite" / "rst" / "preflight.rst").read_text()
    documented = set(re.findall(r"^``([a-z0-9_]+)`` \((?:blocker|warning|info)\)$", guide, re.M))
    assert made == documented
