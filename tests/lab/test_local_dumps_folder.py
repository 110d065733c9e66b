"""local_dumps and its dump folder's ACL: an owner the agent's token may not assign by default, a failure that
leaves no folder behind, a changed ACL found on the next run, and check mode saying what would be made."""

from __future__ import annotations

from pathlib import Path

from crashdump_lab import open_host

REPO = Path(__file__).resolve().parents[2]
DEFAULT_ACL = "O:BAG:SYD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;;0x1000a3;;;AU)(A;OICIIO;FA;;;CO)"
SYSTEM_OWNED = "O:SYG:SYD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"
TASK = """
- crashdump.windows.local_dumps:
    exe: netsh.exe
    dump_folder: C:\\WER\\Dumps
    dump_count: 10
    folder_acl: '{acl}'
"""


def only(proc):
    (result,) = [r for _host, r in proc.results]
    return result


def text(proc):
    return " ".join((proc.stdout + proc.stderr).split())


def test_a_folder_owned_by_system_is_created_with_that_acl(lab):
    lab.host("win")
    result = only(lab.play(TASK.format(acl=SYSTEM_OWNED)))
    assert result["changed"] is True
    assert result["folder"] == {"path": "C:\\WER\\Dumps", "created": True, "sddl": SYSTEM_OWNED}
    assert lab.state("win")["files"]["C:\\WER\\Dumps"]["sddl"] == SYSTEM_OWNED.replace("D:P(", "D:PAI(")


def test_no_folder_is_left_behind_when_the_owner_cannot_be_set(lab):
    # User Rights Assignment took "Restore files and directories" from the administrator the agent runs as.
    lab.host("win", {"accounts": {"Administrator": {"privileges": ["SeBackupPrivilege"]}}})
    proc = lab.play(TASK.format(acl=SYSTEM_OWNED), check=False)
    result = only(proc)
    assert proc.returncode != 0
    assert "not allowed to be the owner" in result["msg"]
    files = lab.state("win")["files"]
    assert "C:\\WER" not in files and "C:\\WER\\Dumps" not in files


def test_a_rerun_reports_a_folder_whose_acl_was_changed(lab):
    lab.host("win")
    lab.play(TASK.format(acl=DEFAULT_ACL))
    again = only(lab.play(TASK.format(acl=DEFAULT_ACL)))
    assert again["changed"] is False and again["folder"]["acl_matches"] is True
    # Someone gives Users full control of the dumps.
    with open_host(lab.state_dir, "win") as host:
        host.files.set_sddl("C:\\WER\\Dumps", "O:BAG:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;BU)")
    proc = lab.play(TASK.format(acl=DEFAULT_ACL))
    result = only(proc)
    assert result["changed"] is False
    assert result["folder"]["acl_matches"] is False and result["folder"]["acl_differs"] == ["DACL"]
    assert "dump_folder C:\\WER\\Dumps exists with an ACL other than folder_acl (DACL differ)" in text(proc)


def test_check_mode_returns_and_shows_the_folder_and_its_acl(lab):
    lab.host("win")
    proc = lab.play(TASK.format(acl=DEFAULT_ACL), "--check", "--diff")
    result = only(proc)
    assert result["changed"] is True
    assert result["folder"] == {"path": "C:\\WER\\Dumps", "created": True, "sddl": DEFAULT_ACL}
    assert "+[C:\\WER\\Dumps] (folder)" in proc.stdout and "+SDDL=" + DEFAULT_ACL in proc.stdout
    assert "global DumpCount=0 would be set" in text(proc) and "was set" not in text(proc)
    assert "C:\\WER" not in lab.state("win")["files"]


def test_the_enable_summary_says_would_in_check_mode(lab):
    lab.host("win")
    proc = lab.playbook(REPO / "playbooks" / "enable_crash_dumps.yml", "--check", "-e", "exe=netsh.exe")
    assert "netsh.exe: LocalDumps would change;" in proc.stdout
    assert "LocalDumps changed" not in proc.stdout
