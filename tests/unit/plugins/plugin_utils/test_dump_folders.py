"""The dump folders remembered on the host after cleanup: kept while they may hold dumps, then forgotten."""

from ansible_collections.crashdump.windows.plugins.plugin_utils import _dump_folders
from ansible_collections.crashdump.windows.plugins.plugin_utils._registry import Snapshot
from ansible_collections.crashdump.windows.plugins.plugin_utils._undo import JOURNAL_KEY, JOURNAL_ROOT

WER = {"name": "netsh.exe", "type": "REG_EXPAND_SZ", "data": "C:\\WER"}


def snapshot(values, undo=False):
    snap = Snapshot()
    snap.add(_dump_folders.KEY, 64, {"exists": True, "values": values})
    snap.add(JOURNAL_KEY, 64, {"exists": undo, "values": []})
    return snap


def found(files=(), error=None, skipped=None):
    return {"sources": [{"skipped": skipped}],
            "folders": [{"path": "C:\\WER", "files": list(files), "error": error}]}


def test_remembered_once():
    snap = snapshot([WER])
    assert _dump_folders.remember_ops(snap, "netsh.exe", "C:\\WER") == []
    assert _dump_folders.remember_ops(snap, "netsh.exe", "D:\\Dumps")[-1]["data"] == "D:\\Dumps"


def test_kept_while_it_may_hold_dumps():
    snap = snapshot([WER])
    assert _dump_folders.absent_ops(snap, "netsh.exe", found(files=[{"name": "netsh.exe.1.dmp"}]), []) == []
    assert _dump_folders.absent_ops(snap, "netsh.exe", found(error="Access denied"), []) == []
    assert _dump_folders.absent_ops(snap, "netsh.exe", found(skipped="no per-profile value for %USERNAME%"), []) == []


def test_forgotten_with_the_key_and_the_journal_root_when_nothing_else_is_there():
    ops = _dump_folders.absent_ops(snapshot([WER]), "netsh.exe", found(), [])
    assert [(op["op"], op.get("name") or op["key"]) for op in ops] == [
        ("reg_delete_value", "netsh.exe"), ("reg_delete_key", _dump_folders.KEY), ("reg_delete_key", JOURNAL_ROOT)]
    # Undo records still there: their own forget deletes the root later.
    ops = _dump_folders.absent_ops(snapshot([WER], undo=True), "netsh.exe", found(), [])
    assert [op["op"] for op in ops] == ["reg_delete_value", "reg_delete_key"]
    other = dict(WER, name="other.exe")
    ops = _dump_folders.absent_ops(snapshot([WER, other]), "netsh.exe", found(), [])
    assert [op["op"] for op in ops] == ["reg_delete_value"]


def test_folders_created_for_the_dumps_are_removed_with_the_last_dump():
    dumps = found(files=[{"name": "netsh.exe.1.dmp"}])
    (op,) = _dump_folders.absent_ops(snapshot([WER]), "netsh.exe", dumps, ["C:\\WER"])
    assert (op["op"], op["name"], op["data"]) == ("reg_set", "netsh.exe (created folders)", ["C:\\WER"])
    created = {"name": "netsh.exe (created folders)", "type": "REG_MULTI_SZ", "data": ["C:\\WER"]}
    assert _dump_folders.absent_ops(snapshot([WER, created]), "netsh.exe", dumps, []) == []
    ops = _dump_folders.absent_ops(snapshot([WER, created]), "netsh.exe", found(), [])
    assert [(op["op"], op.get("name") or op.get("path") or op["key"]) for op in ops] == [
        ("dir_remove", "C:\\WER"), ("reg_delete_value", "netsh.exe"),
        ("reg_delete_value", "netsh.exe (created folders)"), ("reg_delete_key", _dump_folders.KEY),
        ("reg_delete_key", JOURNAL_ROOT)]
