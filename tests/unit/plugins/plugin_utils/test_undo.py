"""The undo planner: priors and written data in the record, drift kept and reported, force, old records."""

import copy
import json

from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.crashdump.windows.plugins.plugin_utils import _gflags
from ansible_collections.crashdump.windows.plugins.plugin_utils._registry import Snapshot, chain
from ansible_collections.crashdump.windows.plugins.plugin_utils._undo import (
    JOURNAL_KEY,
    JOURNAL_ROOT,
    ChangeSet,
    Journal,
    Record,
    drift_warning,
    keep_current,
)

ROOT = "HKLM\\SOFTWARE"
KEY = ROOT + "\\Vendor\\app.exe"
IFEO = _gflags.image_key("netsh.exe")


def sz(data):
    return {"type": "REG_SZ", "data": data}


def dword(data):
    return {"type": "REG_DWORD", "data": data}


def snapshot(keys):
    """A Snapshot of ``keys``: {key: {name: value}} for keys that exist, None for keys that do not."""
    snap = Snapshot()
    for key, values in keys.items():
        snap.add(key, 64, {"exists": values is not None, "subkeys": [],
                           "values": [dict(v, name=n) for n, v in (values or {}).items()]})
    return snap


def host(key, root, values):
    """A snapshot of ``key`` holding ``values`` (None: no key), its parents below ``root`` existing."""
    return snapshot({**{k: {} for k in chain(key, root)[:-1]}, key: values})


def enable(values, writes, key=KEY, root=ROOT, merge=keep_current):
    """A record made by writing ``writes`` over ``values`` (the key's values before enable, None: no key)."""
    record = Record("test/app.exe")
    cs = ChangeSet(host(key, root, values), record, root, merge=merge)
    cs.ensure_key(key, 64)
    for name, value in writes.items():
        cs.set_value(key, 64, name, value)
    return Record.from_json(record.name, record.to_json())


def cleanup(record, now, force=False, key=KEY, root=ROOT, merge=keep_current):
    """The ChangeSet of a restore of ``record`` when the key holds ``now`` (None: no key)."""
    cs = ChangeSet(host(key, root, now), copy.deepcopy(record), root, merge=merge)
    cs.restore(force)
    return cs


def values_after(cs, key=KEY):
    return cs.after()[(key, 64)]


def test_record_remembers_prior_and_what_was_written():
    record = enable({"DumpCount": dword(3)}, {"DumpCount": dword(10), "DumpType": dword(2)})
    data = json.loads(record.to_json())
    assert data["version"] == 2
    assert [(v["name"], v["prior"], v["written"]) for v in data["values"]] == [
        ("DumpCount", dword(3), dword(10)), ("DumpType", None, dword(2))]


def test_unchanged_values_are_restored_exactly():
    record = enable({"DumpCount": dword(3)}, {"DumpCount": dword(10), "DumpType": dword(2)})
    cs = cleanup(record, {"DumpCount": dword(10), "DumpType": dword(2)})
    assert values_after(cs) == {"DumpCount": dword(3)}
    assert cs.drift == [] and cs.unchecked is False


def test_a_value_changed_by_someone_else_is_kept_and_reported():
    record = enable(None, {"DumpCount": dword(10), "DumpType": dword(2)})
    cs = cleanup(record, {"DumpCount": dword(20), "DumpType": dword(2)})
    # DumpType was ours and goes; DumpCount=20 is someone else's: kept, and so is the key holding it.
    assert values_after(cs) == {"DumpCount": dword(20)}
    assert not any(op["op"] == "reg_delete_key" and op["key"] == KEY for op in cs.ops)
    assert cs.drift == [{"key": KEY, "view": 64, "name": "DumpCount", "written": dword(10), "current": dword(20),
                         "kept": True}]
    assert "Vendor\\app.exe\\DumpCount was changed since crashdump.windows wrote it (64-bit view; wrote " \
           "REG_DWORD:10 (0xa), now REG_DWORD:20 (0x14)): someone else's change is kept" in drift_warning(cs.drift[0])


def test_a_type_change_or_a_deletion_is_drift_too():
    record = enable({"DumpFolder": sz("C:\\Old")}, {"DumpFolder": {"type": "REG_EXPAND_SZ", "data": "C:\\WER"}})
    cs = cleanup(record, {"DumpFolder": sz("C:\\WER")})
    assert values_after(cs) == {"DumpFolder": sz("C:\\WER")} and cs.drift[0]["current"] == sz("C:\\WER")
    cs = cleanup(record, {})
    assert values_after(cs) == {} and cs.drift[0]["current"] is None
    # Someone put the prior back by hand: nothing of theirs to keep, nothing to report.
    cs = cleanup(record, {"DumpFolder": sz("C:\\Old")})
    assert values_after(cs) == {"DumpFolder": sz("C:\\Old")} and cs.drift == [] and cs.ops == []


def test_force_restores_the_prior_and_still_reports():
    record = enable(None, {"DumpCount": dword(10)})
    cs = cleanup(record, {"DumpCount": dword(20)}, force=True)
    assert values_after(cs) is None
    assert [(d["name"], d["kept"]) for d in cs.drift] == [("DumpCount", False)]
    assert "overwritten with the prior value, as force=true asks" in drift_warning(cs.drift[0])


def test_version_1_records_restore_as_before_and_say_drift_is_unchecked():
    old = json.dumps({"version": 1, "dirs": [], "keys": [{"key": KEY, "view": 64}],
                      "values": [{"key": KEY, "view": 64, "name": "DumpCount", "prior": None}]})
    record = Record.from_json("test/app.exe", old)
    cs = cleanup(record, {"DumpCount": dword(20)})
    assert values_after(cs) is None
    assert cs.drift == [] and cs.unchecked is True


def test_journal_reads_both_versions_and_skips_others():
    v1 = json.dumps({"version": 1, "values": [], "keys": [], "dirs": []})
    v2 = Record("b").to_json()
    v9 = json.dumps({"version": 9})
    snap = snapshot({JOURNAL_ROOT: {}, JOURNAL_KEY: {"a": sz(v1), "b": sz(v2), "c": sz(v9)}})
    journal = Journal(snap)
    assert journal.has("a") and journal.has("b") and not journal.has("c")


def test_written_follows_the_last_write():
    snap = snapshot({ROOT + "\\Vendor": {}, KEY: {}})
    record = Record("test/app.exe")
    cs = ChangeSet(snap, record, ROOT)
    cs.set_value(KEY, 64, "DumpCount", dword(10))
    cs.set_value(KEY, 64, "DumpCount", dword(5))
    assert [(v["prior"], v["written"]) for v in record.values] == [(None, dword(5))]


def test_overwriting_someone_elses_change_makes_it_the_prior():
    """Enable again after drift: undo gives back what the second write replaced, not the first prior."""
    record = enable({"DumpCount": dword(3)}, {"DumpCount": dword(10)})
    snap = snapshot({ROOT + "\\Vendor": {}, KEY: {"DumpCount": dword(20)}})
    cs = ChangeSet(snap, record, ROOT)
    cs.set_value(KEY, 64, "DumpCount", dword(10))
    assert [(v["prior"], v["written"]) for v in record.values] == [(dword(20), dword(10))]


# -- GlobalFlag and PageHeapFlags: only the bits we set ---------------------

def gflags_enable(values, writes):
    return enable(values, writes, key=IFEO, root=_gflags.IFEO_KEY, merge=_gflags.undo_bits)


def gflags_cleanup(record, now, force=False):
    return cleanup(record, now, force, key=IFEO, root=_gflags.IFEO_KEY, merge=_gflags.undo_bits)


def test_issue_case_clears_only_hpa_and_keeps_ust_and_the_key():
    record = gflags_enable(None, {"GlobalFlag": sz("0x02000000"), "PageHeapFlags": sz("0x3")})
    cs = gflags_cleanup(record, {"GlobalFlag": sz("0x02001000"), "PageHeapFlags": sz("0x3")})
    assert values_after(cs, IFEO) == {"GlobalFlag": sz("0x00001000")}
    assert not any(op["op"] == "reg_delete_key" for op in cs.ops)
    assert [(d["name"], d["written"], d["current"], d["kept"]) for d in cs.drift] == [
        ("GlobalFlag", sz("0x02000000"), sz("0x02001000"), True)]
    forced = gflags_cleanup(record, {"GlobalFlag": sz("0x02001000"), "PageHeapFlags": sz("0x3")}, force=True)
    assert values_after(forced, IFEO) is None


def test_bits_back_to_the_prior_give_the_prior_value_exactly():
    record = gflags_enable({"GlobalFlag": dword(0x1000)}, {"GlobalFlag": dword(0x02001000)})
    # Someone cleared ust, which was there before us: theirs, kept.
    cs = gflags_cleanup(record, {"GlobalFlag": dword(0x02000000)})
    assert values_after(cs, IFEO) == {"GlobalFlag": dword(0)} and cs.drift[0]["kept"]
    # Someone rewrote the same bits as REG_SZ: no bit changed, the prior comes back exactly.
    cs = gflags_cleanup(record, {"GlobalFlag": sz("0x02001000")})
    assert values_after(cs, IFEO) == {"GlobalFlag": dword(0x1000)} and cs.drift == []


@given(prior=st.one_of(st.none(), st.integers(0, 0xFFFFFFFF)), written=st.integers(0, 0xFFFFFFFF),
       current=st.integers(0, 0xFFFFFFFF))
def test_undo_bits_keeps_changed_bits_and_restores_the_others(prior, written, current):
    prior_value = None if prior is None else sz(_gflags.format_global_flag(prior))
    kept = _gflags.undo_bits("GlobalFlag", prior_value, sz(_gflags.format_global_flag(written)),
                             dword(current))
    number = _gflags.parse_number(kept) or 0
    changed = written ^ current
    assert number & changed == current & changed
    assert number & ~changed == (prior or 0) & ~changed
    if number == (prior or 0):
        assert kept == prior_value
    else:
        assert kept == dword(number)


def test_undo_bits_keeps_a_value_created_deleted_or_unreadable_whole():
    assert _gflags.undo_bits("PageHeapFlags", None, None, sz("0x2")) == sz("0x2")
    assert _gflags.undo_bits("PageHeapFlags", sz("0x2"), sz("0x3"), None) is None
    assert _gflags.undo_bits("GlobalFlag", None, sz("0x02000000"), sz("lots")) == sz("lots")
    assert _gflags.undo_bits("PageHeapFlags", sz("0x2"), sz("0x3"), sz("0x1")) == sz("0x0")
