"""The lab's Windows rules for accounts: token privileges and owner assignment,
and account names resolved in the host's language (lab/crashdump_lab/accounts.py)."""

from __future__ import annotations

import pytest

from crashdump_lab import accounts, defaults, execute_batch, open_host, seed_host

HOST = "lab-win2022"
GERMAN = {"os": {"language": "de-DE"}}


def _state(**os):
    state = defaults.default_state(HOST)
    state["os"].update(os)
    return state


def run(state_dir, *ops):
    with open_host(state_dir, HOST) as lab:
        return execute_batch(lab, {"version": 1, "stop_on_error": False, "ops": list(ops)})["results"]


# -- owner assignment (Privilege Constants: SE_RESTORE_NAME; SID_AND_ATTRIBUTES: SE_GROUP_OWNER) --------------


def test_an_admin_token_holds_restore_privilege_disabled_and_may_own_only_itself_and_administrators():
    state = _state()
    token = accounts.Token(state, "Administrator")
    assert token.enabled() == []
    assert token.may_own("BA") and token.may_own(state["accounts"]["Administrator"]["sid"])
    # In the token but without SE_GROUP_OWNER, or not in the token at all.
    assert not token.may_own("BU") and not token.may_own("SY")
    assert token.adjust("SeRestorePrivilege", True) is True
    assert token.may_own("SY") and token.enabled() == ["SeRestorePrivilege"]


def test_a_standard_user_cannot_enable_restore_privilege():
    token = accounts.Token(_state(), "alice")
    assert token.adjust("SeRestorePrivilege", True) is False  # ERROR_NOT_ALL_ASSIGNED
    assert not token.may_own("SY") and not token.may_own("BA")


def test_set_security_refuses_a_foreign_owner_without_the_privilege_and_writes_nothing(state_dir):
    with open_host(state_dir, HOST) as lab:
        lab.files.make_dirs("C:\\D", "BA")
        before = lab.files.entry("C:\\D")["sddl"]
        token = accounts.Token(lab.state, "Administrator")
        with pytest.raises(Exception) as failure:
            lab.files.apply_sddl("C:\\D", "O:SYD:P(A;OICI;FA;;;SY)", token)
        assert failure.value.hresult == 0x80131509 - (1 << 32)
        assert failure.value.type_name == "System.InvalidOperationException"
        assert lab.files.entry("C:\\D")["sddl"] == before
        token.adjust("SeRestorePrivilege", True)
        assert lab.files.apply_sddl("C:\\D", "O:SYD:P(A;OICI;FA;;;SY)", token) is True
        assert lab.files.entry("C:\\D")["sddl"].startswith("O:SY")


def test_dir_ensure_enables_the_privileges_an_owner_needs(state_dir):
    sddl = "O:SYG:SYD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"
    made, stat = run(state_dir, {"op": "dir_ensure", "path": "C:\\WER\\App", "sddl": sddl},
                     {"op": "path_stat", "path": "C:\\WER\\App"})
    assert made["ok"] and made["data"]["privileges"] == ["SeRestorePrivilege", "SeTakeOwnershipPrivilege"]
    assert stat["data"]["sddl"] == sddl.replace("D:P(", "D:PAI(")


def test_dir_ensure_removes_what_it_created_when_the_owner_is_refused(state_dir):
    # User Rights Assignment took "Restore files and directories" from the agent's administrator.
    seed_host(state_dir, HOST, {"accounts": {"Administrator": {"privileges": ["SeBackupPrivilege"]}}})
    made, stat = run(state_dir, {"op": "dir_ensure", "path": "C:\\WER\\App", "sddl": "O:SYD:P(A;OICI;FA;;;SY)"},
                     {"op": "path_stat", "path": "C:\\WER"})
    assert not made["ok"] and made["error"]["type"] == "System.InvalidOperationException"
    assert stat["data"]["exists"] is False


# -- names in the host's language (Well-known SIDs, LookupAccountName) --------------------------------------------


def test_builtin_accounts_resolve_by_their_localised_names_only():
    english, german = _state(), _state(language="de-DE")
    assert accounts.lookup_sid(english, "NT AUTHORITY\\SYSTEM") == "S-1-5-18"
    assert accounts.lookup_sid(german, "NT AUTHORITY\\SYSTEM") is None
    assert accounts.lookup_sid(german, "NT-AUTORITÄT\\SYSTEM") == "S-1-5-18"
    assert accounts.lookup_sid(german, "nt-autorität\\lokaler dienst") == "S-1-5-19"
    assert accounts.lookup_sid(german, "NETZWERKDIENST") == "S-1-5-20"
    assert accounts.lookup_sid(german, "VORDEFINIERT\\Administratoren") == "S-1-5-32-544"
    assert accounts.lookup_sid(german, "BUILTIN\\Administrators") is None
    assert accounts.account_name(german, "S-1-5-19") == "NT-AUTORITÄT\\LOKALER DIENST"


def test_scm_names_and_dot_prefix_are_not_account_names():
    state = _state()
    for name in ("LocalSystem", "LocalService", "NetworkService", ".\\alice"):
        assert accounts.lookup_sid(state, name) is None
    host = state["os"]["hostname"]
    assert accounts.lookup_sid(state, host + "\\alice") == state["accounts"]["alice"]["sid"]
    assert accounts.lookup_sid(state, "alice") == state["accounts"]["alice"]["sid"]
    assert accounts.lookup_sid(state, "OTHERPC\\alice") is None


def test_process_owners_are_named_in_the_host_language(state_dir):
    seed_host(state_dir, HOST, GERMAN)
    listed = run(state_dir, {"op": "process_list", "names": ["lsass.exe"]})[0]["data"]["processes"]
    assert listed[0]["account"] == "NT-AUTORITÄT\\SYSTEM"


def test_folder_probe_resolves_as_the_agent_does_on_a_german_host(state_dir):
    seed_host(state_dir, HOST, GERMAN)
    names = ["S-1-5-18", ".\\alice", "LAB-WIN2022\\alice", "NT-AUTORITÄT\\NETZWERKDIENST", "NT AUTHORITY\\SYSTEM",
             "LocalService", "S-1-5-21-1-2-3-999"]
    probe = run(state_dir, {"op": "folder_probe", "value": [], "default": "C:\\WER", "accounts": names})[0]
    found = [(p["exists"], p["account"]) for p in probe["data"]["accounts"]]
    assert found == [(True, "NT-AUTORITÄT\\SYSTEM"), (True, "LAB-WIN2022\\alice"), (True, "LAB-WIN2022\\alice"),
                     (True, "NT-AUTORITÄT\\NETZWERKDIENST"), (False, None), (False, None), (False, None)]
