"""crashdump.windows.analyze_dump through real ansible-playbook, against a Windows host it must never contact."""

import gzip
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[4]
FIXTURES = REPO / "tests" / "fixtures" / "dumps"
SYMBOLS = REPO / "tests" / "fixtures" / "symbols"

PLAY = """
- hosts: winbox
  gather_facts: false
  tasks:
    - name: A folder of dumps, one of them junk
      crashdump.windows.analyze_dump:
        path: dumps
      register: folder
    - name: Recursing, without module lists, in check mode
      crashdump.windows.analyze_dump:
        path: dumps
        recurse: true
        modules: false
        max_frames: 3
      check_mode: true
      register: recursed
    - name: One file
      crashdump.windows.analyze_dump:
        path: dumps/b_null_read.dmp
      register: one
    - name: A path that does not exist
      crashdump.windows.analyze_dump:
        path: nowhere
      register: missing
      ignore_errors: true
    - name: Too many frames asked
      crashdump.windows.analyze_dump:
        path: dumps
        max_frames: 5000
      register: frames
      ignore_errors: true
    - name: Symbols from a folder of binaries and PDBs, and the report beside the dump (check mode first)
      crashdump.windows.analyze_dump:
        path: symbols_crash.dmp
        symbol_path: binaries
        report: true
      check_mode: true
      register: report_check
    - name: Symbols from a folder of binaries and PDBs, and the report beside the dump
      crashdump.windows.analyze_dump:
        path: symbols_crash.dmp
        symbol_path: binaries
        report: true
      register: symbols
    - name: The same report again
      crashdump.windows.analyze_dump:
        path: symbols_crash.dmp
        symbol_path: binaries
        report: true
      register: report_again
    - name: A symbol path that is not WinDbg's syntax
      crashdump.windows.analyze_dump:
        path: dumps
        symbol_path: "foo*bar"
      register: bad_symbols
      ignore_errors: true
    - name: Keep the results
      ansible.builtin.copy:
        content: "{{ {'folder': folder, 'recursed': recursed, 'one': one, 'missing': missing, 'frames': frames,
          'symbols': symbols, 'bad_symbols': bad_symbols, 'report_check': report_check,
          'report_again': report_again} | to_json }}"
        dest: results.json
        mode: "0600"
      delegate_to: localhost
"""

# A host that does not exist: any use of the connection would fail the play.
INVENTORY = """
all:
  hosts:
    winbox:
      ansible_host: 192.0.2.1
      ansible_connection: winrm
      ansible_port: 5986
      ansible_user: nobody
      ansible_password: nothing
      ansible_winrm_connection_timeout: 2
      ansible_winrm_read_timeout_sec: 3
      ansible_winrm_operation_timeout_sec: 2
"""


def unpack(name, target):
    target.write_bytes(gzip.decompress((FIXTURES / name).read_bytes()))


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    root = tmp_path_factory.mktemp("play")
    dumps = root / "dumps"
    (dumps / "web01").mkdir(parents=True)
    unpack("null_read.mini.dmp.gz", dumps / "b_null_read.dmp")
    unpack("heap_corruption.slim.dmp.gz", dumps / "A_HEAP.DMP")
    unpack("cxx_throw.mini.dmp.gz", dumps / "web01" / "cxx.dmp")
    (dumps / "c_junk.dmp").write_bytes(b"PK\x03\x04 not a dump")
    (dumps / "notes.txt").write_text("not looked at")
    (root / "binaries").mkdir()
    for name in ("symbols_crash.exe", "symbols_crash.pdb"):
        unpack(SYMBOLS / (name + ".gz"), root / "binaries" / name)
    unpack(SYMBOLS / "symbols_crash.mini.dmp.gz", root / "symbols_crash.dmp")
    (root / "play.yml").write_text(PLAY)
    (root / "inventory.yml").write_text(INVENTORY)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / ".ansible" / "collections"),
               ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    proc = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", "inventory.yml", "play.yml"],
                          cwd=root, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads((root / "results.json").read_text()), root


def test_a_folder_gives_one_entry_per_dump_and_reports_junk_per_file(results):
    res, root = results
    folder = res["folder"]
    assert not folder["changed"] and not folder.get("failed")
    assert [Path(d["path"]).name for d in folder["dumps"]] == ["A_HEAP.DMP", "b_null_read.dmp", "c_junk.dmp"]
    assert (folder["analyzed"], folder["errors"]) == (2, 1)
    heap, null_read, junk = folder["dumps"]
    assert heap["ok"] and heap["analysis"]["faulting_module"]["name"] == "ntdll.dll"
    assert null_read["analysis"]["exception"]["access"] == {
        "type": "read", "address": "0x0000000000000000", "record_type": "read"}
    assert null_read["analysis"]["modules"]
    assert junk == {"path": str(root / "dumps" / "c_junk.dmp"), "ok": False,
                    "error": "%s: not a minidump (signature b'PK\\x03\\x04', expected 'MDMP')" % junk["path"]}
    assert folder["warnings"] == ["1 of 3 dumps could not be analyzed; dumps[].error says why"]


def test_recurse_without_modules_in_check_mode(results):
    recursed = results[0]["recursed"]
    names = [Path(d["path"]).name for d in recursed["dumps"]]
    assert names == ["A_HEAP.DMP", "b_null_read.dmp", "c_junk.dmp", "cxx.dmp"]
    cxx = recursed["dumps"][3]["analysis"]
    assert cxx["exception"]["code"] == "0xe06d7363"
    assert cxx["modules"] == [] and cxx["unloaded_modules"] == [] and cxx["counts"]["modules"] > 0
    assert all(len(d["analysis"]["crashing_thread"]["frames"]) <= 3 for d in recursed["dumps"] if d["ok"])


def test_one_file(results):
    one = results[0]["one"]
    assert (one["analyzed"], one["errors"]) == (1, 0) and "warnings" not in one
    assert one["dumps"][0]["analysis"]["signature"].startswith("null_read.exe@0.0.0.0!null_read.exe@0.0.0.0!")


def test_bad_arguments_fail_the_task(results):
    res, root = results
    assert res["missing"]["failed"] and res["missing"]["msg"] == (
        "path %s does not exist on the controller" % (root / "nowhere"))
    assert res["frames"]["failed"] and res["frames"]["msg"] == "max_frames must be between 1 and 1000, got 5000"


def test_report_beside_the_dump(results):
    res, root = results
    report = root / "symbols_crash.dmp.analysis.txt"
    check, written, again = res["report_check"], res["symbols"], res["report_again"]
    assert check["changed"] and check["dumps"][0]["report"] == str(report)
    assert written["changed"] and written["dumps"][0]["report"] == str(report)
    assert not again["changed"] and "warnings" not in again
    assert stat.S_IMODE(report.stat().st_mode) == 0o600
    text = report.read_text()
    assert text.startswith("*" * 79 + "\n") and "Exception Analysis" in text
    assert "Attempt to write to address 00000000`00000008\n" in text
    assert "\nSYMBOL_NAME:  symbols_crash.exe!store_value+0x16\n" in text
    stack = text.split("STACK_TEXT:\n")[1].split("\n\n")[0].splitlines()
    assert stack[1].split()[3] == "symbols_crash.exe!store_value+0x16"
    assert stack[1].endswith("symbols_crash.c @ 14]") and stack[2].endswith("symbols_crash.c @ 19]")
    assert sorted(p.name for p in root.glob("*.analysis.txt")) == [report.name]  # check mode wrote nothing else


def test_symbol_path(results):
    res, _root = results
    frame = res["symbols"]["dumps"][0]["analysis"]["crashing_thread"]["frames"][0]
    assert (frame["function"], frame["source_line"]) == ("store_value", 14)
    assert res["bad_symbols"]["failed"] and res["bad_symbols"]["msg"] == (
        "symbol path element 'foo*bar': expected srv*..., cache*DIR or a folder")
