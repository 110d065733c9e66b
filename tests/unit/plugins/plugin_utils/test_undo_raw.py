"""Exact undo of registry data of odd size: the prior bytes and type come back as they were (issue 13, defect 6)."""

from __future__ import annotations

import json

import pytest

from ansible_collections.crashdump.windows.plugins.plugin_utils._gflags import parse_number
from ansible_collections.crashdump.windows.plugins.plugin_utils._registry import Snapshot, format_value, same_value
from ansible_collections.crashdump.windows.plugins.plugin_utils._undo import ChangeSet, Record

ROOT = "HKLM\\SOFTWARE\\Microsoft\\Windows\\Windows Error Reporting"
KEY = ROOT + "\\LocalDumps"
ODD = {"type": "REG_DWORD", "data": "0a00000000", "raw": True}


def snapshot(values):
    snap = Snapshot()
    snap.add(KEY, 64, {"exists": True, "values": [dict(v, name=n) for n, v in values.items()], "subkeys": []})
    return snap


def test_a_raw_value_keeps_its_flag_and_differs_from_any_typed_one():
    snap = snapshot({"DumpCount": ODD})
    assert snap.value(KEY, 64, "DumpCount") == ODD
    assert not same_value(ODD, {"type": "REG_DWORD", "data": "0a00000000"})
    assert not same_value(ODD, {"type": "REG_DWORD", "data": 10})


def test_overwriting_then_restoring_a_raw_value_writes_the_same_bytes_and_type():
    record = Record("local_dumps/app.exe")
    change = ChangeSet(snapshot({"DumpCount": ODD}), record, ROOT)
    change.set_value(KEY, 64, "DumpCount", {"type": "REG_DWORD", "data": 10})
    assert change.ops == [{"op": "reg_set", "key": KEY, "view": 64, "name": "DumpCount", "type": "REG_DWORD",
                           "data": 10}]
    # The record travels as JSON on the host.
    record = Record.from_json(record.name, record.to_json())
    assert record.values[0]["prior"] == ODD
    restore = ChangeSet(snapshot({"DumpCount": {"type": "REG_DWORD", "data": 10}}), record, ROOT)
    restore.restore()
    assert restore.ops == [{"op": "reg_set", "key": KEY, "view": 64, "name": "DumpCount", "type": "REG_DWORD",
                            "data": "0a00000000", "raw": True}]
    assert json.loads(json.dumps(restore.ops))[0]["raw"] is True


def test_a_raw_value_is_shown_as_its_bytes():
    assert format_value("DumpCount", ODD) == '"DumpCount"=REG_DWORD:hex:0a,00,00,00,00'


def test_a_raw_global_flag_is_not_read_as_a_number():
    # "0x2" with two NULs: its hex is all digits, which must not pass for a decimal flag value.
    with pytest.raises(ValueError, match="odd size"):
        parse_number({"type": "REG_SZ", "data": "300078003200000000000000", "raw": True})
