"""crashdump.windows.preflight through ansible-playbook: every finding from a seeded lab host."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from crashdump_lab import load_state, seed_host
from tests.conftest import Lab

REPO = Path(__file__).resolve().parents[2]
LD = "HKLM\\SOFTWARE\\Microsoft\\Windows\\Windows Error Reporting\\LocalDumps"
LD32 = "HKLM\\SOFTWARE\\Wow6432Node\\Microsoft\\Windows\\Windows Error Reporting\\LocalDumps"
WER = "HKLM\\SOFTWARE\\Microsoft\\Windows\\Windows Error Reporting"
WER_POLICY = "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\Windows Error Reporting"
AEDEBUG = "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\AeDebug"
IFEO = "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Image File Execution Options"
APP_PATHS = "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\App Paths"
# What crashdump.windows.local_dumps gives a folder it creates.
FOLDER_SDDL = "O:BAG:SYD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;;0x1000a3;;;AU)(A;OICIIO;FA;;;CO)"


def sz(data):
    return {"type": "REG_SZ", "data": data}


def dword(data):
    return {"type": "REG_DWORD", "data": data}


def merge(*overlays):
    """The overlays merged, dictionaries recursively, later ones winning."""
    out = {}
    for overlay in overlays:
        for name, body in overlay.items():
            out[name] = merge(out[name], body) if isinstance(body, dict) and isinstance(out.get(name), dict) else body
    return out


def recent_updates():
    # Dated from today: the lab's clock follows the real one once a seeded file is written.
    day = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=3)).strftime("%Y-%m-%d")
    return [{"id": "KB5046616", "description": "Security Update", "installed_on": day}]


def process(pid, account, **extra):
    return dict({"name": "app.exe", "pid": pid, "start_time": "2026-11-20T07:00:00.000Z", "account": account,
                 "path": "C:\\Program Files\\App\\app.exe", "services": []}, **extra)


# app.exe configured as the enable role leaves it, C:\WER excluded from Defender: nothing to report.
CONFIGURED = {
    "registry": {LD: {"values": {"DumpCount": dword(0)}},
                 LD + "\\app.exe": {"values": {"DumpFolder": {"type": "REG_EXPAND_SZ", "data": "C:\\WER"},
                                               "DumpCount": dword(10), "DumpType": dword(2)}}},
    "defender": {"exclusion_paths": ["C:\\WER"]},
    "hotfixes": recent_updates(),
}

# app.exe installed under Program Files, run by a stopped service as LocalService.
SERVICE = {
    "services": {"AppSvc": {"display_name": "App", "status": "Stopped", "start_mode": "Auto", "pid": 0,
                            "account": "NT AUTHORITY\\LocalService",
                            "path": "\"C:\\Program Files\\App\\app.exe\" /service"}},
    "executables": {"C:\\Program Files\\App\\app.exe": {"version": "4.2.0.17", "product_version": "4.2",
                                                        "product_name": "App", "company": "Contoso", "size": 4096,
                                                        "mtime": "2026-09-01T00:00:00.000Z"}},
    # Installed with an App Paths entry: a shared key since Windows 7, so both registry views find it.
    "registry": {APP_PATHS + "\\app.exe": {"values": {"": sz("C:\\Program Files\\App\\app.exe")}}},
}

# host: (overlay, module options, the warnings and blockers expected)
CASES = {
    "pristine": (None, {}, {"local_dumps_missing", "defender_scans_dump_folder"}),
    "configured": (CONFIGURED, {}, set()),
    "old-updates": (merge(CONFIGURED, {"hotfixes": [{"id": "KB1", "description": "Update",
                                                     "installed_on": "2020-01-14"}]}), {}, {"os_updates_old"}),
    "no-updates": (merge(CONFIGURED, {"hotfixes": []}), {}, {"os_updates_old"}),
    "sensitive": (CONFIGURED, {"exe": "lsass.exe", "dump_folder": "C:\\WER", "dump_count": 1, "dump_type": "mini"},
                  {"sensitive_image"}),
    "wer-disabled": (merge(CONFIGURED, {"registry": {WER: {"values": {"Disabled": dword(1)}},
                                                     WER_POLICY: {"values": {"Disabled": dword(1)}}}}), {},
                     {"wer_disabled"}),
    "wersvc-disabled": (merge(CONFIGURED, {"services": {"WerSvc": {"start_mode": "Disabled"}}}), {},
                        {"wer_service_disabled"}),
    "aedebug": (merge(CONFIGURED, {"registry": {AEDEBUG: {"values": {
        "Auto": sz("1"), "Debugger": sz('"C:\\Tools\\procdump.exe" -accepteula -j "C:\\Dumps" %ld %ld %p')}}}}), {},
        {"postmortem_debugger"}),
    "aedebug-wow64": (merge(CONFIGURED, {"registry": {AEDEBUG.replace("SOFTWARE", "SOFTWARE\\Wow6432Node"): {
        "values": {"Auto": sz("1"), "Debugger": sz("vsjitdebugger.exe -p %ld -e %ld")}}}}), {},
        {"postmortem_debugger_wow64"}),
    "ifeo-debugger": (merge(CONFIGURED, {"registry": {IFEO + "\\app.exe": {"values": {
        "Debugger": sz("C:\\Users\\Public\\x.exe")}}}}), {}, {"ifeo_debugger"}),
    "count-zero": (merge(CONFIGURED, {"registry": {LD + "\\app.exe": {"values": {"DumpCount": dword(0)}}}}), {},
                   {"dump_count_zero"}),
    "bad-values": (merge(CONFIGURED, {"registry": {
        LD: {"values": {"DumpCount": dword(0), "DumpType": dword(7)}},
        LD + "\\app.exe": {"values": {"DumpFolder": {"type": "REG_EXPAND_SZ", "data": "C:\\WER"},
                                      "DumpCount": dword(10), "CrashCount": dword(5), "DumpType": sz("2"),
                                      "CustomDumpFlags": dword(0x80000000)}}}}), {},
        {"ignored_value", "wrong_value_type", "dump_type_invalid", "custom_dump_flags_invalid"}),
    "odd-size": (merge(CONFIGURED, {"registry": {LD + "\\app.exe": {"values": {
        "CustomDumpFlags": {"type": "REG_DWORD", "data": "2101000000", "raw": True}}}}}), {}, {"odd_size_value"}),
    "misplaced": (merge(CONFIGURED, {"registry": {
        "HKCU\\Software\\Microsoft\\Windows\\Windows Error Reporting\\LocalDumps\\app.exe": {
            "values": {"DumpType": dword(2)}},
        WER: {"values": {"DumpFolder": {"type": "REG_EXPAND_SZ", "data": "C:\\Dumps"}}},
        WER_POLICY + "\\LocalDumps": {"values": {"DumpCount": dword(5)}},
        LD + "\\app": {"values": {"DumpType": dword(2)}}}}), {}, {"misplaced_values"}),
    "wow64-only": ({"registry": {LD32 + "\\app.exe": {"values": {"DumpType": dword(2)}}}}, {},
                   {"local_dumps_missing", "misplaced_values", "defender_scans_dump_folder"}),
    "reg-sz-folder": (merge(CONFIGURED, {"registry": {LD + "\\app.exe": {"values": {
        "DumpFolder": sz("%LOCALAPPDATA%\\CrashDumps")}}}}), {}, {"dump_folder_invalid"}),
    "no-drive": (CONFIGURED, {"dump_folder": "Q:\\Dumps"}, {"dump_folder_invalid"}),
    "folder-is-file": (merge(CONFIGURED, {"files": {"C:\\WER": {"content": "not a folder"}}}), {},
                       {"dump_folder_is_file"}),
    "not-writable": (merge(CONFIGURED, {"files": {"C:\\WER": {"type": "directory",
                                                              "sddl": "O:BAG:SYD:P(A;OICI;FA;;;BA)(A;OICI;FA;;;SY)"}}}),
                     {"account": "NT AUTHORITY\\LocalService"}, {"dump_folder_not_writable"}),
    "not-creatable": (merge(CONFIGURED, {
        "files": {"C:\\Locked": {"type": "directory", "sddl": "O:BAG:SYD:P(A;OICI;FA;;;BA)(A;OICI;FA;;;SY)"
                                                              "(A;;0x1200a9;;;AU)(A;CIIO;FA;;;AU)"}},
        "defender": {"exclusion_paths": ["C:\\Locked"]}}),
        {"dump_folder": "C:\\Locked\\Dumps", "account": "NT AUTHORITY\\LocalService"}, {"dump_folder_not_creatable"}),
    "disk-full": (merge(CONFIGURED, {"volumes": {"C:": {"free_bytes": 100 * 2 ** 20}}}), {}, {"no_disk_space"}),
    "disk-low": (merge(CONFIGURED, {"volumes": {"C:": {"free_bytes": 2 * 2 ** 30}},
                                    "processes": [process(6000, "SYSTEM", private_bytes=500 * 2 ** 20)]}), {},
                 {"low_disk_space"}),
    "pf-win11-av": (merge(CONFIGURED, {"av_products": [{"name": "Contoso AV", "product_state": 0x61110,
                                                        "path": "C:\\Contoso\\av.exe", "timestamp": None}],
                                       "defender": {"signature_age_days": 30}}), {}, {"antivirus_outdated"}),
    "defender-absent": (merge(CONFIGURED, {"defender": {"available": False, "exclusion_paths": []}}),
                        {"dump_folder": "C:\\Other"}, set()),
    "defender-hidden": (merge(CONFIGURED, {"defender": {"exclusions_visible": False}}), {"dump_folder": "C:\\Other"},
                        set()),
    "no-account": (CONFIGURED, {"account": "nobody"}, {"account_unknown"}),
    "constrained": (merge(CONFIGURED, {"os": {"language_mode": "ConstrainedLanguage"}}), {}, {"language_mode"}),
    "service": (merge(CONFIGURED, SERVICE), {}, set()),
    "running-user": (merge(CONFIGURED, {"registry": {LD + "\\app.exe": {"values": {"DumpFolder": None}}},
                                        "processes": [process(6100, "alice")],
                                        "defender": {"exclusion_paths": ["%SystemDrive%\\Users\\*\\AppData"]}}),
                     {}, set()),
}

PLAY = """
- crashdump.windows.preflight:
    exe: "{{ options[inventory_hostname].exe | default('app.exe') }}"
    account: "{{ options[inventory_hostname].account | default(omit) }}"
    dump_folder: "{{ options[inventory_hostname].dump_folder | default(omit) }}"
    dump_count: "{{ options[inventory_hostname].dump_count | default(omit) }}"
    dump_type: "{{ options[inventory_hostname].dump_type | default(omit) }}"
"""


def problems(result):
    return {f["id"] for f in result["findings"] if f["severity"] != "info"}


def by_id(result, finding_id):
    return [f for f in result["findings"] if f["id"] == finding_id]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    lab = Lab(tmp_path_factory.mktemp("preflight"))
    # Seeded in this process: as labctl reset and seed do, without two interpreters per host.
    for host, (overlay, _options, _expected) in CASES.items():
        seed_host(str(lab.state_dir), host, overlay or {}, arch="AMD64")
        lab.hosts[host] = "AMD64"
    proc = lab.play(PLAY, "-f", "10", extra_vars={"options": {h: c[1] for h, c in CASES.items()}})
    found = dict(proc.results)
    assert set(found) == set(CASES), proc.stdout
    return {"results": found,
            "trips": {h: load_state(str(lab.state_dir), h)["counters"]["round_trips"] for h in CASES}}


@pytest.mark.parametrize("host", list(CASES))
def test_each_finding_from_its_seed(results, host):
    result = results["results"][host]
    assert result["changed"] is False and not result.get("failed"), result
    assert problems(result) == CASES[host][2], json.dumps(result["findings"], indent=1)
    assert result["counts"]["blocker"] == sum(f["severity"] == "blocker" for f in result["findings"])
    assert all(f["fix"] for f in result["findings"] if f["severity"] != "info"), result["findings"]


def test_one_round_trip_per_host(results):
    assert set(results["trips"].values()) == {1}


def test_findings_say_what_and_why(results):
    found = results["results"]
    (aedebug,) = by_id(found["aedebug"], "postmortem_debugger")
    assert aedebug["severity"] == "blocker" and "procdump" in aedebug["message"] and "procdump -u" in aedebug["fix"]
    assert by_id(found["aedebug-wow64"], "postmortem_debugger_wow64")[0]["severity"] == "warning"
    (ignored,) = by_id(found["bad-values"], "ignored_value")
    assert ignored["evidence"]["name"] == "CrashCount" and ignored["evidence"]["suggestion"] == "DumpCount"
    (odd,) = by_id(found["odd-size"], "odd_size_value")
    assert "CustomDumpFlags is a REG_DWORD of 5 bytes (2101000000)" in odd["message"] and odd["evidence"]["raw"]
    (wrong,) = by_id(found["bad-values"], "wrong_value_type")
    assert wrong["fix"] == 'reg add "%s\\app.exe" /v DumpType /t REG_DWORD /d 2 /f' % LD
    assert found["bad-values"]["effective"]["dump_type"] == 7
    misplaced = " ".join(f["message"] for f in by_id(found["misplaced"], "misplaced_values"))
    for where in ("HKCU\\Software", "directly", "policy key", "subkey 'app'"):
        assert where in misplaced, misplaced
    assert len(by_id(found["wer-disabled"], "wer_disabled")) == 2
    assert "REG_SZ" in by_id(found["reg-sz-folder"], "dump_folder_invalid")[0]["message"]
    assert "Q:\\ does not exist" in by_id(found["no-drive"], "dump_folder_invalid")[0]["message"]
    (denied,) = by_id(found["not-writable"], "dump_folder_not_writable")
    assert denied["evidence"]["sid"] == "S-1-5-19" and "icacls" in denied["fix"]
    (low,) = by_id(found["disk-low"], "low_disk_space")
    assert low["evidence"]["dump_bytes"] == 500 * 2 ** 20 and "private bytes of pid 6000" in low["message"]
    (full,) = by_id(found["disk-full"], "no_disk_space")
    assert full["evidence"]["dump_bytes"] == 1024 * 2 ** 20
    av = found["pf-win11-av"]
    assert {f["message"] for f in by_id(av, "antivirus_outdated")} == {
        "The antivirus product Contoso AV reports that it is out of date.",
        "Microsoft Defender's signatures are 30 days old."}
    assert "Security Center: root\\SecurityCenter2 is not available" in by_id(found["configured"], "antivirus")[0][
        "message"]
    assert "Microsoft Defender: Get-MpPreference is not available" in by_id(found["defender-absent"], "antivirus")[0][
        "message"]
    assert "hidden" in by_id(found["defender-hidden"], "antivirus")[0]["message"]
    (clm,) = found["constrained"]["findings"]
    assert clm["evidence"]["language_mode"] == "ConstrainedLanguage" and "cannot run" in clm["message"]


def test_what_the_host_and_image_look_like(results):
    found = results["results"]
    configured = found["configured"]
    assert "Windows Server 2022" in by_id(configured, "os")[0]["message"]
    assert "FullLanguage" in by_id(configured, "os")[0]["message"]
    assert configured["effective"] == {"dump_folder": "C:\\WER", "dump_count": 10, "dump_type": "full",
                                       "custom_dump_flags": 0x121,
                                       "sources": {"DumpFolder": "image", "DumpCount": "image", "DumpType": "image",
                                                   "CustomDumpFlags": "default"}}
    (where,) = configured["dump_locations"]
    assert (where["account"], where["folder"], where["exists"], where["writable"]) == (
        "NT AUTHORITY\\SYSTEM", "C:\\WER", False, True)
    assert where["file_pattern"] == "C:\\WER\\app.exe.<pid>.dmp"

    service = found["service"]
    # App Paths once although both registry views read it (a shared key).
    assert "C:\\Program Files\\App\\app.exe (version 4.2.0.17; app_paths, service:AppSvc)" in by_id(
        service, "image_files")[0]["message"]
    (where,) = service["dump_locations"]
    assert where["sid"] == "S-1-5-19" and where["why"] == "service AppSvc" and where["writable"] is True

    user = found["running-user"]
    (where,) = user["dump_locations"]
    assert where["pids"] == [6100] and where["account"] == "RUNNING-USER\\alice"
    assert where["folder"] == "C:\\Users\\alice\\AppData\\Local\\CrashDumps" and where["writable"] is True
    assert "pid 6100 started 2026-11-20T07:00:00.000Z as RUNNING-USER\\alice" in by_id(user, "image_instances")[0][
        "message"]
    assert user["image"]["instances"][0]["private_bytes"] == 64 * 2 ** 20
    assert by_id(found["pristine"], "image_instances")[0]["message"] == "app.exe is not running."


def test_the_default_folder_of_each_account_is_where_wer_writes(lab):
    lab.host("bare", {"registry": {LD: {}}})
    check = lab.play("- crashdump.windows.preflight:\n    exe: app.exe\n    account: LocalService\n")
    (result,) = [r for _host, r in check.results]
    assert result["counts"]["blocker"] == 0, result["findings"]
    folders = {w["sid"]: w for w in result["dump_locations"]}
    assert list(folders) == ["S-1-5-19"]
    where = folders["S-1-5-19"]
    assert where["folder"] == "C:\\Windows\\ServiceProfiles\\LocalService\\AppData\\Local\\CrashDumps"
    assert where["exists"] is False and where["writable"] is True
    crash = json.loads(lab.labctl("crash", "bare", "app.exe", "--account", "LocalService", "--pid", "5120"))
    assert crash["dump"]["path"] == where["file_pattern"].replace("<pid>", "5120")
