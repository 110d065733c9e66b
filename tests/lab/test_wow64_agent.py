"""An agent in a 32-bit PowerShell on 64-bit Windows (issue 13, defect 7): the lab's file system redirector,
the agent's refusal of file operations, and what a user sees."""

from __future__ import annotations

import io

import pytest

from crashdump_lab import Transport, execute_batch, open_host, seed_host
from crashdump_lab.redirector import redirect

HOST = "lab-win2022"
WINDIR = "C:\\Windows"
WOW64 = {"os": {"agent_32bit": True}}


@pytest.mark.parametrize("path, seen", [
    ("C:\\Windows\\System32\\netsh.exe", "C:\\Windows\\SysWOW64\\netsh.exe"),
    ("C:\\Windows\\system32", "C:\\Windows\\SysWOW64"),
    ("C:\\Windows\\System32\\config\\systemprofile\\AppData\\Local\\CrashDumps",
     "C:\\Windows\\SysWOW64\\config\\systemprofile\\AppData\\Local\\CrashDumps"),
    ("C:\\Windows\\lastgood\\system32\\x.dll", "C:\\Windows\\lastgood\\SysWOW64\\x.dll"),
    ("C:\\Windows\\regedit.exe", "C:\\Windows\\SysWOW64\\regedit.exe"),
    ("C:\\Windows\\Sysnative\\netsh.exe", "C:\\Windows\\System32\\netsh.exe"),
    # Exempt subdirectories, and everything outside System32.
    ("C:\\Windows\\System32\\drivers\\etc\\hosts", "C:\\Windows\\System32\\drivers\\etc\\hosts"),
    ("C:\\Windows\\System32\\spool\\x", "C:\\Windows\\System32\\spool\\x"),
    ("C:\\Windows\\System32\\LogFiles", "C:\\Windows\\System32\\LogFiles"),
    ("C:\\Windows\\System32x\\a", "C:\\Windows\\System32x\\a"),
    ("C:\\WER\\a.dmp", "C:\\WER\\a.dmp"),
])
def test_the_file_system_redirector(path, seen):
    assert redirect(path, WINDIR) == seen


def test_a_32bit_agent_refuses_file_operations_and_keeps_the_registry(state_dir):
    seed_host(state_dir, HOST, WOW64)
    with open_host(state_dir, HOST) as host:
        facts, stat, read = execute_batch(host, {"version": 1, "stop_on_error": False, "ops": [
            {"op": "os_facts"}, {"op": "path_stat", "path": "C:\\Windows\\System32"},
            {"op": "reg_read", "key": "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion", "view": 64}]})["results"]
    assert facts["data"]["is_64bit"] is True and facts["data"]["process_64bit"] is False
    assert stat["ok"] is False and stat["error"]["type"] == "System.NotSupportedException"
    assert "32-bit PowerShell" in stat["error"]["message"] and "Microsoft.PowerShell32" in stat["error"]["message"]
    assert read["ok"] is True and read["data"]["exists"] is True


def test_a_32bit_connection_fetches_through_the_redirector(state_dir):
    seed_host(state_dir, HOST, dict(WOW64, files={
        "C:\\Windows\\System32\\config\\systemprofile\\AppData\\Local\\CrashDumps\\a.dmp": {"content": "native"},
        "C:\\Windows\\SysWOW64\\config\\systemprofile\\AppData\\Local\\CrashDumps\\a.dmp": {"content": "wow64"}}))
    out = io.BytesIO()
    Transport(state_dir, HOST).fetch_file(
        "C:\\Windows\\System32\\config\\systemprofile\\AppData\\Local\\CrashDumps\\a.dmp", out)
    assert out.getvalue() == b"wow64"


def test_a_64bit_agent_is_not_redirected(state_dir):
    with open_host(state_dir, HOST) as host:
        (facts,) = execute_batch(host, {"version": 1, "ops": [{"op": "os_facts"}]})["results"]
    assert facts["data"]["process_64bit"] is True


def test_preflight_says_why_it_cannot_look(lab):
    lab.host("win32ps", WOW64)
    proc = lab.play("- crashdump.windows.preflight: {exe: app.exe}\n", check=False)
    ((_host, result),) = proc.results
    assert proc.returncode == 2, proc.stdout
    assert "32-bit PowerShell on 64-bit Windows" in result["msg"] and "Microsoft.PowerShell32" in result["msg"]
