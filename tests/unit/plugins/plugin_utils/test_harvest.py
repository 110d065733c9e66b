"""fetch_dumps without a host: search sources, identification, event matching,
selection, and the controller's side of a transfer (receive, manifest)."""

from __future__ import annotations

import errno
import gzip
import hashlib
import json
import os
import stat

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.crashdump.windows.plugins.plugin_utils import _harvest, _wer

LD = _wer.LOCAL_DUMPS


def sha(data):
    return hashlib.sha256(data).hexdigest()


# -- where to look -----------------------------------------------------------------


def test_profile_vars_follow_the_layout_expand_for_account_uses():
    env = {"SystemRoot": "C:\\Windows", "SystemDrive": "C:"}
    profile = _wer.expand_for_account("%USERPROFILE%", "alice", env)
    for name, suffix in _harvest.PROFILE_VARS.items():
        if suffix is not None:
            expanded = _wer.expand_for_account("%" + name + "%", "alice", env)
            assert expanded == (profile + "\\" + suffix if suffix else profile), name
    assert set(_harvest.PROFILE_VARS) == {v.upper() for v in _wer.PER_ACCOUNT_VARIABLES}
    assert _harvest.PROFILE_VARS["USERNAME"] is None


def test_search_sources_cover_every_place_wer_writes():
    sources = _harvest.search_sources(["a.exe", "b.exe"], ["D:\\Extra"])
    specs = [source[1] for source in sources]
    for key in (LD + "\\a.exe", LD + "\\b.exe", LD):
        for view in (64, 32):
            assert {"key": key, "view": view, "name": "DumpFolder"} in specs
    paths = [s["path"] for s in specs if "path" in s]
    assert paths == ["%LOCALAPPDATA%\\CrashDumps",
                     "%SystemRoot%\\ServiceProfiles\\LocalService\\AppData\\Local\\CrashDumps",
                     "%SystemRoot%\\ServiceProfiles\\NetworkService\\AppData\\Local\\CrashDumps",
                     "%SystemRoot%\\System32\\config\\systemprofile\\AppData\\Local\\CrashDumps",
                     "D:\\Extra"]
    assert _harvest.patterns(["a.exe"]) == ["a.exe.*.dmp"]


@pytest.mark.parametrize("text, seconds", [("90", 90), ("45s", 45), ("30m", 1800), ("12h", 43200), ("7d", 604800),
                                           ("2w", 1209600), (" 3 D ", 259200), (None, None), (15, 15)])
def test_parse_duration(text, seconds):
    assert _harvest.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "7 days", "-1d", "1.5h", "d"])
def test_parse_duration_rejects(text):
    with pytest.raises(ValueError, match="is not a duration"):
        _harvest.parse_duration(text)


# -- what was found ------------------------------------------------------------------


@pytest.mark.parametrize("name, image, pid", [
    ("netsh.exe.4660.dmp", "netsh.exe", 4660),
    ("NETSH.EXE.12.DMP", "netsh.exe", 12),
    ("netsh.exe.old.dmp", "netsh.exe", None),
    ("app.exe.helper.exe.7.dmp", "app.exe.helper.exe", 7),
    ("app.exe.helper.exe.x.dmp", "app.exe.helper.exe", None),
    ("other.exe.1.dmp", None, None),
])
def test_identify(name, image, pid):
    assert _harvest.identify(name, ["netsh.exe", "app.exe", "app.exe.helper.exe"]) == (image, pid)


def _file(path, sha256="ab" * 32, mtime="2026-11-25T10:00:00.000Z", size=10, error=None):
    return {"name": path.rsplit("\\", 1)[1], "path": path, "size": size, "mtime": mtime, "ctime": mtime,
            "sha256": sha256, "error": error}


def test_collect_dedupes_sorts_and_reports_problems():
    found = {
        "sources": [{"found": True, "template": "%USERNAME%\\d", "skipped": "no per-profile value for %USERNAME%"},
                    {"found": True, "template": "C:\\WER", "skipped": None},
                    {"found": True, "template": "c:\\wer", "skipped": None}],
        "folders": [
            {"path": "C:\\WER", "profile": None, "sources": [1, 2], "exists": True, "error": None,
             "files": [_file("C:\\WER\\a.exe.1.dmp", mtime="2026-11-25T09:00:00.000Z"),
                       _file("C:\\WER\\a.exe.2.dmp", sha256=None, error="locked"),
                       _file("C:\\WER\\z.exe.3.dmp")]},
            {"path": "C:\\Users\\x\\AppData\\Local\\CrashDumps", "profile": "S-1-5-21-1", "sources": [0],
             "exists": True, "error": None,
             "files": [_file("C:\\Users\\x\\AppData\\Local\\CrashDumps\\a.exe.4.dmp"),
                       _file("C:\\wer\\A.EXE.1.DMP")]},
            {"path": "C:\\Denied", "profile": None, "sources": [1], "exists": True, "error": "Access is denied",
             "files": []}],
    }
    dumps, problems = _harvest.collect(found, ["one", "two", "three"], ["a.exe"])
    assert [d["remote_path"] for d in dumps] == [
        "C:\\Users\\x\\AppData\\Local\\CrashDumps\\a.exe.4.dmp", "C:\\WER\\a.exe.1.dmp"]
    assert dumps[0]["profile"] == "S-1-5-21-1" and dumps[0]["pid"] == 4
    assert dumps[1]["found_by"] == ["three", "two"]
    assert problems == ["one is %USERNAME%\\d: no per-profile value for %USERNAME%; it was not searched",
                        "cannot read C:\\WER\\a.exe.2.dmp (locked): skipped, try again later",
                        "cannot list C:\\Denied: Access is denied"]


def _event(pid, time, app="svc.exe", record=1, props_len=15, provider="Application Error"):
    props = [app, "1.0", "5f000000", "svc.exe", "1.0", "5f000000", "c0000005", "1234", pid, "01d9", "C:\\svc.exe",
             "C:\\svc.exe", "rid-%d" % record, "", ""]
    return {"record_id": record, "time": time, "provider": provider, "properties": props[:props_len]}


def test_match_event_by_image_pid_and_time():
    dump = {"image": "svc.exe", "pid": 0x1AB0, "mtime": "2026-11-25T10:00:05.000Z"}
    events = [_event("1ab0", "2026-11-24T10:00:00.000Z", record=1),
              _event("0x0x1AB0", "2026-11-25T10:00:04.000Z", record=2),
              _event("1ab1", "2026-11-25T10:00:04.500Z", record=3),
              _event("1ab0", "2026-11-25T10:00:04.900Z", app="other.exe", record=4),
              _event("1ab0", "2026-11-25T10:00:04.900Z", props_len=8, record=5),
              # Another provider's Event 1000 (an installer's, say) is no crash record.
              _event("1ab0", "2026-11-25T10:00:05.000Z", provider="MsiInstaller", record=6)]
    match = _harvest.match_event(dump, events)
    assert match["record_id"] == 2 and match["exception_code"] == "0xc0000005" and match["report_id"] == "rid-2"
    assert _harvest.match_event(dict(dump, pid=None), events) is None
    suffixed = [_event("0x1ab0", "2026-11-25T10:00:00.000Z", app="\u200eSVC.exe_AppXSvc", record=9)]
    assert _harvest.match_event(dump, suffixed)["record_id"] == 9
    assert _harvest.match_event(dump, [_event("zz", "2026-11-25T10:00:00.000Z")]) is None


def test_event_summary_of_a_short_record():
    summary = _harvest.event_summary({"record_id": 3, "time": "t", "properties": ["a.exe", "1.0"]})
    assert summary["app"] == "a.exe" and summary["exception_code"] is None and summary["report_id"] is None


# -- what to move ------------------------------------------------------------------------


def _wired(name, size, wire, compressed=True):
    return {"remote_path": name, "size": size, "wire": {"size": wire, "compressed": compressed}}


def test_select_takes_whole_dumps_newest_first_within_the_limit():
    dumps = [_wired("new", 100, 60), _wired("mid", 100, 50), _wired("old", 100, 30)]
    selected, deferred = _harvest.select(dumps, 100)
    assert [d["remote_path"] for d in selected] == ["new", "old"]
    assert [d["remote_path"] for d in deferred] == ["mid"]
    assert _harvest.select(dumps, None) == (dumps, [])


def test_space_needed_counts_the_largest_compressed_copy_once():
    dumps = [_wired("a", 1000, 100), _wired("b", 500, 300), _wired("c", 50, 50, compressed=False)]
    assert _harvest.space_needed(dumps) == 1550 + 300


def test_fetch_round_trips_like_winrm():
    chunk = _harvest.FETCH_CHUNK
    assert [_harvest.fetch_round_trips(n) for n in (0, 1, chunk - 1, chunk, chunk + 1)] == [1, 1, 1, 2, 2]


def test_free_space_problem(tmp_path):
    assert _harvest.free_space_problem(str(tmp_path), 0, 0) is None
    problem = _harvest.free_space_problem(str(tmp_path), 1, 2**62)
    assert problem.startswith("not enough free space on the controller in %s" % tmp_path)
    assert _harvest.existing_ancestor(str(tmp_path / "a" / "b")) == str(tmp_path)


# -- the controller's copy --------------------------------------------------------------


@pytest.mark.parametrize("host", ["", ".", "..", "a/b", "a\0b"])
def test_host_folder_rejects_names_that_are_not_one_component(host):
    with pytest.raises(ValueError, match="cannot name a folder"):
        _harvest.host_folder("/d", host)


def test_ensure_private_dir(tmp_path):
    folder = tmp_path / "dest" / "host"
    _harvest.ensure_private_dir(str(folder))
    assert stat.S_IMODE(folder.stat().st_mode) == stat.S_IMODE(folder.parent.stat().st_mode) == 0o700
    folder.chmod(0o755)
    _harvest.ensure_private_dir(str(folder))
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_ensure_private_dir_when_another_host_creates_dest_first(tmp_path, monkeypatch):
    """Hosts run in parallel forks: DEST made by one between another's check and create is fine."""
    dest = tmp_path / "dest"
    real_mkdir = os.mkdir

    def mkdir_racing(path, mode=0o777):
        if path == str(dest) and not dest.exists():
            real_mkdir(path, 0o700)  # the other host's fork wins the race
        return real_mkdir(path, mode)

    monkeypatch.setattr(os, "mkdir", mkdir_racing)
    _harvest.ensure_private_dir(str(dest / "host"))
    assert stat.S_IMODE((dest / "host").stat().st_mode) == 0o700


def test_ensure_private_dir_keeps_the_mode_of_a_dest_it_did_not_create(tmp_path):
    dest = tmp_path / "dest"
    dest.mkdir(0o755)
    _harvest.ensure_private_dir(str(dest / "host"))
    assert stat.S_IMODE(dest.stat().st_mode) == 0o755
    assert stat.S_IMODE((dest / "host").stat().st_mode) == 0o700


def _dump(data, compressed, wire=None):
    packed = gzip.compress(data) if compressed else data
    wire = packed if wire is None else wire
    return {"remote_path": "C:\\WER\\a.exe.1.dmp", "size": len(data), "sha256": sha(data),
            "wire": {"path": "C:\\T\\x.gz", "size": len(wire), "sha256": sha(packed), "compressed": compressed}}, wire


def _writer(payload):
    def fetch(path):
        with open(path, "wb") as f:
            f.write(payload)
    return fetch


@settings(max_examples=25, deadline=None)
@given(data=st.binary(max_size=4096), compressed=st.booleans())
def test_receive_writes_the_verified_dump_owner_only(tmp_path_factory, data, compressed):
    folder = tmp_path_factory.mktemp("recv")
    dump, wire = _dump(data, compressed)
    final = folder / "a.exe.1.dmp"
    _harvest.receive(_writer(wire), dump, str(final))
    assert final.read_bytes() == data
    assert stat.S_IMODE(final.stat().st_mode) == 0o600
    assert os.listdir(folder) == ["a.exe.1.dmp"]


@pytest.mark.parametrize("compressed, damage, message", [
    (False, lambda w: w[:-1] + b"!", "SHA-256 mismatch for C:\\T\\x.gz"),
    (True, lambda w: w[:10] + b"\xff" + w[11:], "SHA-256 mismatch for C:\\T\\x.gz"),
])
def test_receive_rejects_damaged_bytes_and_leaves_nothing(tmp_path, compressed, damage, message):
    dump, wire = _dump(b"MDMP" * 1000, compressed)
    with pytest.raises(_harvest.VerifyError, match=message.replace("\\", "\\\\")):
        _harvest.receive(_writer(damage(wire)), dump, str(tmp_path / "a.dmp"))
    assert os.listdir(tmp_path) == []


def test_receive_rejects_a_copy_that_does_not_decompress_to_the_dump(tmp_path):
    data = b"MDMP" * 1000
    dump = _dump(data, True)[0]
    other = gzip.compress(b"not the dump")
    dump["wire"].update(sha256=sha(other), size=len(other))
    with pytest.raises(_harvest.VerifyError, match="after decompression"):
        _harvest.receive(_writer(other), dump, str(tmp_path / "a.dmp"))
    broken = b"\x1f\x8b\x08\x00garbage"
    dump["wire"].update(sha256=sha(broken), size=len(broken))
    with pytest.raises(_harvest.VerifyError, match="does not decompress"):
        _harvest.receive(_writer(broken), dump, str(tmp_path / "a.dmp"))
    assert os.listdir(tmp_path) == []


def test_receive_on_a_full_disk_leaves_nothing(tmp_path, monkeypatch):
    data = os.urandom(1 << 16)
    dump, wire = _dump(data, True)
    real_fdopen = os.fdopen

    class Full:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def write(self, block):
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_harvest.os, "fdopen", lambda fd, mode: Full(real_fdopen(fd, mode)))
    with pytest.raises(_harvest.DiskFull, match="ran out of space in %s while writing" % tmp_path):
        _harvest.receive(_writer(wire), dump, str(tmp_path / "a.dmp"))
    assert os.listdir(tmp_path) == []


def test_receive_passes_transport_errors_on_and_cleans_up(tmp_path):
    dump, wire = _dump(b"x", False)

    def broken(path):
        with open(path, "wb") as f:
            f.write(b"half")
        raise ConnectionError("dropped")
    with pytest.raises(ConnectionError):
        _harvest.receive(broken, dump, str(tmp_path / "a.dmp"))
    assert os.listdir(tmp_path) == []


def test_manifest_round_trip_held_and_names(tmp_path):
    folder = str(tmp_path)
    manifest = _harvest.Manifest.load(folder, "h")
    assert manifest.entries == [] and manifest.held("ab") is None
    (tmp_path / "a.exe.1.dmp").write_bytes(b"12345")
    entry = {"file": "a.exe.1.dmp", "sha256": "s1", "size": 5, "remote_mtime": "t"}
    manifest.put(entry)
    manifest.save()
    assert stat.S_IMODE(os.stat(manifest.path).st_mode) == 0o600
    again = _harvest.Manifest.load(folder, "h")
    assert again.held("s1") == entry
    (tmp_path / "a.exe.1.dmp").write_bytes(b"1234")
    assert again.held("s1") is None and again.held("s1", trust=True) == entry
    # Names: the same content keeps its name, other content gets its hash added.
    assert _harvest.local_name("a.exe.1.dmp", "s1", again, folder) == "a.exe.1.dmp"
    assert _harvest.local_name("a.exe.1.dmp", "ffff" * 16, again, folder) == "a.exe.1.ffffffffffff.dmp"
    (tmp_path / "b.exe.2.dmp").write_bytes(b"stranger")
    assert _harvest.local_name("b.exe.2.dmp", "ee" * 32, again, folder) == "b.exe.2.eeeeeeeeeeee.dmp"
    assert _harvest.local_name("..\\c d.exe.3.dmp", "dd" * 32, again, folder) == "_c_d.exe.3.dmp"


def test_manifest_refuses_other_versions_and_ignores_foreign_names(tmp_path):
    path = tmp_path / _harvest.MANIFEST
    path.write_text(json.dumps({"version": 99, "dumps": []}))
    with pytest.raises(ValueError, match="version 99"):
        _harvest.Manifest.load(str(tmp_path), "h")
    path.write_text(json.dumps({"version": 1, "dumps": [{"file": "../x", "sha256": "a", "size": 1},
                                                        {"file": "ok.dmp", "sha256": "b", "size": 1}, "junk"]}))
    assert [e["file"] for e in _harvest.Manifest.load(str(tmp_path), "h").entries] == ["ok.dmp"]
