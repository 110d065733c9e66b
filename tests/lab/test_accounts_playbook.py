"""Accounts named the ways Windows users name them, on English and German lab hosts (issue 13, defect 3)."""

from __future__ import annotations

import pytest

LD = "HKLM\\SOFTWARE\\Microsoft\\Windows\\Windows Error Reporting\\LocalDumps"
GERMAN = {"os": {"language": "de-DE"}}
# app.exe run by a stopped service as LocalService: where its dump lands needs LOCAL SERVICE's probe.
SERVICE = {
    "registry": {LD: {}},
    "services": {"AppSvc": {"display_name": "App", "status": "Stopped", "start_mode": "Auto", "pid": 0,
                            "account": "NT AUTHORITY\\LocalService",
                            "path": "\"C:\\Program Files\\App\\app.exe\" /service"}},
}


def preflight(lab, account=None):
    task = "- crashdump.windows.preflight:\n    exe: app.exe\n"
    if account is not None:
        task += "    account: '%s'\n" % account
    (result,) = [r for _host, r in lab.play(task).results]
    return result


def unknown(result):
    return [f["message"] for f in result["findings"] if f["id"] == "account_unknown"]


def test_builtin_accounts_are_found_on_a_german_host(lab):
    lab.host("de", dict(SERVICE, **GERMAN))
    result = preflight(lab)
    assert unknown(result) == []
    (where,) = result["dump_locations"]
    assert where["sid"] == "S-1-5-19" and where["account"] == "NT-AUTORITÄT\\LOKALER DIENST"
    assert where["folder"] == "C:\\Windows\\ServiceProfiles\\LocalService\\AppData\\Local\\CrashDumps"


def test_no_account_anywhere_falls_back_to_system_on_a_german_host(lab):
    lab.host("de", dict({"registry": {LD: {}}}, **GERMAN))
    (where,) = preflight(lab)["dump_locations"]
    assert where["sid"] == "S-1-5-18" and where["account"] == "NT-AUTORITÄT\\SYSTEM"


@pytest.mark.parametrize("account, sid", [
    ("LocalSystem", "S-1-5-18"), ("NetworkService", "S-1-5-20"), ("NT AUTHORITY\\LOCAL SERVICE", "S-1-5-19"),
    ("S-1-5-20", "S-1-5-20"), ("NT-AUTORITÄT\\NETZWERKDIENST", "S-1-5-20"), (".\\alice", "alice"),
    ("DE\\alice", "alice")])
def test_accounts_by_scm_name_sid_localised_name_dot_and_host_prefix(lab, account, sid):
    lab.host("de", dict({"registry": {LD: {}}}, **GERMAN))
    alice = lab.state("de")["accounts"]["alice"]["sid"]
    result = preflight(lab, account)
    assert unknown(result) == []
    (where,) = result["dump_locations"]
    assert where["sid"] == (alice if sid == "alice" else sid)


def test_an_english_builtin_name_is_no_account_on_a_german_host_but_a_sid_is(lab):
    lab.host("de", dict({"registry": {LD: {}}}, **GERMAN))
    # The agent asks Windows, as a user's own tool would: the English name is unknown there ...
    assert preflight(lab, "BUILTIN\\Users")["findings"] and unknown(preflight(lab, "BUILTIN\\Users"))
    # ... while an unknown SID is no account either.
    assert unknown(preflight(lab, "S-1-5-21-1-2-3-4444"))
