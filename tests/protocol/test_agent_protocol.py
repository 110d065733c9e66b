"""The agent protocol, operation by operation, through the real transport.

Against the lab by default. Set CRASHDUMP_WINDOWS_HOST to an inventory host
(and CRASHDUMP_WINDOWS_INVENTORY to its inventory file) to run the same
batches against a real Windows host over its winrm, psrp or ssh connection;
CRASHDUMP_WINDOWS_EXTRA_VARS (JSON) adds extra vars, such as another
ansible_connection (tools/test-windows.sh sets it).
The suite works under HKLM\\SOFTWARE\\crashdump.windows-test\\<run> and
C:\\Windows\\Temp\\crashdump-test-<run>, and removes both at the end.

Restarting a service stops it and its running dependents, so on a real host
the suite restarts one only when CRASHDUMP_WINDOWS_RESTART_SERVICE names a
service you know is harmless to restart there; the lab restarts WerSvc.
"""

import json
import os
import re
import uuid
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REAL_HOST = os.environ.get("CRASHDUMP_WINDOWS_HOST")
EXTRA_VARS = json.loads(os.environ.get("CRASHDUMP_WINDOWS_EXTRA_VARS") or "{}")
RUN = uuid.uuid4().hex[:8]
ROOT = "HKLM\\SOFTWARE\\crashdump.windows-test"
KEY = ROOT + "\\" + RUN
HOSTILE = "a';$(Remove-Item C: -Recurse)`\"b"  # no backslash: it separates key names
FOLDER = "C:\\Windows\\Temp\\crashdump-test-" + RUN
SDDL = "O:BAG:SYD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"
# An owner that is neither the agent's user nor Administrators: needs SeRestorePrivilege enabled.
SYSTEM_OWNED = "O:SYG:SYD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"
NO_PROVIDER = "crashdump-no-such-provider-" + RUN

VALUES = [
    ("sz", "REG_SZ", "plain \u00e9t\u00e9 \u65e5\u672c"),
    ("expand", "REG_EXPAND_SZ", "%SystemRoot%\\WER"),
    ("multi", "REG_MULTI_SZ", ["one", "", "three"]),
    ("dword", "REG_DWORD", 0xFFFFFFFF),
    ("qword", "REG_QWORD", 2 ** 64 - 1),
    ("binary", "REG_BINARY", "00ff10"),
    ("none", "REG_NONE", ""),
    ("", "REG_SZ", "the default value"),
]
# Data of odd size, written as bytes with their declared type: each must read back raw, byte for byte;
# bytes in their type's canonical form read back typed.
ODD = [
    ("odd_dword", "REG_DWORD", "0a00000000"),
    ("short_dword", "REG_DWORD", "0a00"),
    ("two_nuls", "REG_SZ", "6100620000000000"),
    ("odd_sz", "REG_EXPAND_SZ", "6100620000"),
    ("one_nul_multi", "REG_MULTI_SZ", "6100000062000000"),
]
CANONICAL = ("plain_dword", "REG_DWORD", "0a000000", 10)


def reg(op, key=KEY, view=64, **kw):
    return dict(op=op, key=key, view=view, **kw)


BATCHES = {
    "create": [reg("reg_create_key", key=KEY + "\\a\\" + HOSTILE)],
    "write": [reg("reg_set", name=n, type=t, data=d) for n, t, d in VALUES]
    + [reg("reg_read"), reg("reg_read", key=KEY + "\\a"), reg("reg_read", last_write=True),
       reg("reg_read", key=KEY + "\\absent", last_write=True)],
    "views": [reg("reg_create_key", view=32), reg("reg_set", view=32, name="v", type="REG_DWORD", data=32),
              reg("reg_read", key=KEY.replace("SOFTWARE", "SOFTWARE\\Wow6432Node"), view=64),
              {"op": "os_facts"}],
    "odd": [reg("reg_set", name=n, type=t, data=d, raw=True) for n, t, d in ODD]
    + [reg("reg_set", name=CANONICAL[0], type=CANONICAL[1], data=CANONICAL[2], raw=True), reg("reg_read")],
    "stop": [reg("reg_set", key=KEY + "\\missing", name="x", type="REG_SZ", data="y"),
             reg("reg_read")],
    "delete": [reg("reg_delete_value", name="sz"), reg("reg_delete_value", name="sz"),
               reg("reg_delete_key", key=KEY + "\\a"),
               reg("reg_delete_key", key=KEY + "\\a\\" + HOSTILE), reg("reg_delete_key", key=KEY + "\\a\\nothing")],
    "files": [{"op": "dir_ensure", "path": FOLDER + "\\sub", "sddl": SDDL},
              {"op": "dir_ensure", "path": FOLDER + "\\sub", "sddl": SDDL},
              {"op": "path_stat", "path": FOLDER + "\\sub"},
              {"op": "file_list", "path": FOLDER + "\\sub", "pattern": "*.dmp", "sha256": True},
              {"op": "file_remove", "path": FOLDER + "\\sub\\absent.dmp"},
              {"op": "dir_remove", "path": FOLDER + "\\sub"},
              {"op": "dir_remove", "path": FOLDER},
              {"op": "path_stat", "path": FOLDER}],
    "owner": [{"op": "dir_ensure", "path": FOLDER + "-owner", "sddl": SYSTEM_OWNED},
              {"op": "path_stat", "path": FOLDER + "-owner"},
              {"op": "dir_remove", "path": FOLDER + "-owner"}],
    # Built-in accounts by SID: their names are localised.
    "accounts": [{"op": "folder_probe", "value": [], "default": "%LOCALAPPDATA%\\CrashDumps",
                  "accounts": ["S-1-5-18", "S-1-5-19", "s-1-5-20", "LocalSystem"], "process_names": []}],
    "host": [{"op": "os_facts"}, {"op": "service_state", "name": "WerSvc"},
             {"op": "service_state", "name": "no-such-service-" + RUN},
             {"op": "process_list", "names": ["no-such-image-%s.exe" % RUN]},
             {"op": "event_query", "log": "Application", "providers": [], "ids": [1000], "since": None,
              "max_events": 3},
             # Any Windows Application log holds more than one record: one asked, more there.
             {"op": "event_query", "log": "Application", "providers": [], "ids": [], "since": None, "max_events": 1},
             {"op": "event_query", "log": "Application", "providers": [NO_PROVIDER], "ids": [], "since": None,
              "max_events": 5},
             {"op": "no_such_op"},
             {"op": "service_state", "name": "EventLog"},
             {"op": "service_restart", "name": "no-such-service-" + RUN},
             # A protected process: Win32_Process shows an administrator neither its path nor its owner.
             {"op": "process_list", "names": ["csrss.exe"]},
             {"op": "image_files", "name": "csrss.exe", "paths": []},
             # Relative and drive-relative paths would resolve against the agent's current directory: refused.
             {"op": "file_list", "path": "crashdump-test-" + RUN},
             {"op": "path_stat", "path": "C:crashdump-test-" + RUN},
             {"op": "dir_ensure", "path": "\\crashdump-test-" + RUN}],
}
RESTART = os.environ.get("CRASHDUMP_WINDOWS_RESTART_SERVICE") if REAL_HOST else "WerSvc"
if RESTART:
    BATCHES["restart"] = [{"op": "service_state", "name": RESTART}, {"op": "service_restart", "name": RESTART}]
CLEANUP = [reg("reg_delete_value", name=n) for n, _type, _data in VALUES + ODD + [CANONICAL[:3]]] + [
    reg("reg_delete_value", view=32, name="v"), reg("reg_delete_key", view=32), reg("reg_delete_key"),
    reg("reg_delete_key", key=ROOT)]


def run_suite(lab, tmp_path, host, inventory=None):
    data_file = tmp_path / "batches.json"
    data_file.write_text(json.dumps({"batches": BATCHES, "cleanup": CLEANUP}))
    tasks = ["    - crashdump_agent_batch:\n        ops: \"{{ batches['%s'] }}\"\n        stop_on_error: %s"
             % (name, "false" if name == "host" else "true") for name in BATCHES]
    tasks.append("    - crashdump_agent_batch:\n        ops: \"{{ cleanup }}\"\n        stop_on_error: false")
    book = tmp_path / "protocol.yml"
    book.write_text("- hosts: %s\n  gather_facts: false\n  vars_files: [%s]\n  tasks:\n%s\n"
                    % (host, data_file, "\n".join(tasks)))
    proc = lab.playbook(book, inventory=inventory, extra_vars=EXTRA_VARS or None,
                        env={"ANSIBLE_ACTION_PLUGINS": str(HERE / "action_plugins")})
    found = [r["results"] for _host, r in proc.results]
    assert len(found) == len(BATCHES) + 1, proc.stdout
    return dict(zip(list(BATCHES) + ["cleanup"], found))


@pytest.fixture
def replies(lab, tmp_path):
    if REAL_HOST:
        return run_suite(lab, tmp_path, REAL_HOST, os.environ["CRASHDUMP_WINDOWS_INVENTORY"])
    lab.host("win")
    return run_suite(lab, tmp_path, "win")


def data(result):
    assert result["ok"], result
    return result["data"]


def test_every_operation(replies):
    created = data(replies["create"][0])["created"]
    assert [c.rsplit("\\", 1)[-1] for c in created][-2:] == ["a", HOSTILE]

    write = replies["write"]
    read = data(write[len(VALUES)])
    got = {v["name"]: (v["type"], v["data"]) for v in read["values"]}
    assert got == {n: (t, d) for n, t, d in VALUES}
    assert read["subkeys"] == ["a"] and "last_write" not in read
    assert data(write[len(VALUES) + 1])["subkeys"] == [HOSTILE]
    # RegQueryInfoKey's last write time of the key just written, as UTC ISO 8601 with milliseconds.
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", data(write[-2])["last_write"])
    assert data(write[-1]) == {"exists": False, "values": [], "subkeys": [], "last_write": None}

    views = replies["views"]
    if data(views[3])["is_64bit"]:
        wow = data(views[2])
        assert wow["exists"] and wow["values"] == [{"name": "v", "type": "REG_DWORD", "data": 32}]

    odd = {v["name"]: v for v in data(replies["odd"][-1])["values"]}
    for name, value_type, raw in ODD:
        assert odd[name] == {"name": name, "type": value_type, "data": raw, "raw": True}
    assert odd[CANONICAL[0]] == {"name": CANONICAL[0], "type": CANONICAL[1], "data": CANONICAL[3]}

    stop = replies["stop"]
    error = stop[0]["error"]
    assert stop[0]["ok"] is False and error["op"] == "reg_set" and "missing" in error["path"]
    assert error["message"] and error["type"]
    assert stop[1] == {"ok": False, "skipped": True}

    deleted = [data(r) for r in replies["delete"]]
    assert deleted[0] == {"deleted": True} and deleted[1] == {"deleted": False}
    assert deleted[2] == {"deleted": False, "reason": "not_empty"}
    assert deleted[3] == {"deleted": True, "reason": None}
    assert deleted[4] == {"deleted": False, "reason": "absent"}

    files = [data(r) for r in replies["files"]]
    assert [p.lower() for p in files[0]["created"]][-2:] == [FOLDER.lower(), FOLDER.lower() + "\\sub"]
    assert files[1]["created"] == [] and files[1]["sddl_changed"] is False
    assert files[2]["exists"] and files[2]["type"] == "directory"
    assert files[3] == {"exists": True, "files": []}
    assert files[4] == {"removed": False}
    assert files[5]["removed"] and files[6]["removed"]
    assert files[7]["exists"] is False

    owner = [data(r) for r in replies["owner"]]
    assert "SeRestorePrivilege" in owner[0]["privileges"] and owner[0]["sddl_changed"] is True
    assert owner[1]["sddl"].startswith("O:SYG:SYD:P") and owner[2]["removed"]

    probes = data(replies["accounts"][0])["accounts"]
    assert [(p["exists"], p["sid"]) for p in probes] == [
        (True, "S-1-5-18"), (True, "S-1-5-19"), (True, "S-1-5-20"), (False, None)]
    assert all(p["account"] for p in probes[:3])

    host = replies["host"]
    facts = data(host[0])
    assert facts["arch"] in ("AMD64", "x86", "ARM64") and facts["build"] > 0 and facts["env"]["SystemRoot"]
    # The suite's file operations need a 64-bit agent on 64-bit Windows (a 32-bit one refuses them).
    assert facts["process_64bit"] is facts["is_64bit"]
    assert data(host[1])["exists"] is True and data(host[2])["exists"] is False
    assert data(host[3])["processes"] == []
    assert isinstance(data(host[4])["events"], list)
    one = data(host[5])
    assert len(one["events"]) == 1 and one["truncated"] is True
    # Get-WinEvent -ProviderName would fail the whole operation for a provider not registered.
    assert data(host[6]) == {"events": [], "truncated": False, "unregistered_providers": [NO_PROVIDER]}
    assert host[7]["ok"] is False and host[7]["error"]["op"] == "no_such_op"
    log = data(host[8])
    assert isinstance(log["shared_with"], list)
    assert all(set(d) == {"name", "status", "start_mode"} for d in log["dependents"])
    assert host[9]["ok"] is False and host[9]["error"]["op"] == "service_restart"
    csrss = data(host[10])["processes"]
    assert csrss and all(p["path"] is None or p["path"].lower().endswith("\\csrss.exe") for p in csrss)
    assert all(p["account"] is None or isinstance(p["account"], str) for p in csrss)
    sources = [s for f in data(host[11])["files"] for s in f["sources"]]
    assert "system32" in sources
    for refused in host[12:15]:
        assert refused["ok"] is False and refused["error"]["type"] == "System.ArgumentException"
        assert "fully qualified" in refused["error"]["message"]
    if not REAL_HOST:
        assert all(p["path"] is None and p["account"] is None for p in csrss)
        assert not any(s.startswith("process:") for s in sources)

    assert all(r["ok"] for r in replies["cleanup"][-4:]), replies["cleanup"]


def test_service_restart(replies):
    if "restart" not in replies:
        pytest.skip("set CRASHDUMP_WINDOWS_RESTART_SERVICE to a service harmless to restart on the real host")
    before, after = (data(r) for r in replies["restart"])
    assert after["status"] == "Running" and after["previous_status"] == before["status"]
    assert after["pid_before"] == before["pid"]
    assert after["restarted_dependents"] == [d["name"] for d in reversed(before["dependents"])
                                             if d["status"] != "Stopped"]
    if before["shared_with"]:
        assert after["restart_effective"] is False
    if after["restart_effective"]:
        assert after["pid"] != before["pid"]
