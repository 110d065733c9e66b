"""Symbols from a symbol server on loopback, for a real Wine mini dump of a clang-built program with a real PDB.

The dump, image and PDB come from tests/fixtures/symbols/make_symbols.sh; the line numbers are those of
tests/fixtures/symbols/symbols_crash.c.
"""

import json
import os
import stat
from pathlib import Path

import jsonschema
import pytest
from symbol_store import EXE, PDB, PDB_KEY, SymbolServer, lay_out, unpacked

from ansible_collections.crashdump.windows.plugins.action.analyze_dump import symbolizer
from ansible_collections.crashdump.windows.plugins.plugin_utils._minidump.analyze import analyze_file
from ansible_collections.crashdump.windows.plugins.plugin_utils._minidump.modules import read_modules
from ansible_collections.crashdump.windows.plugins.plugin_utils._minidump.reader import Minidump
from ansible_collections.crashdump.windows.plugins.plugin_utils._minidump.symbol_path import (
    SymbolPath,
    SymbolPathError,
    default_cache,
    parse,
)
from ansible_collections.crashdump.windows.plugins.plugin_utils._minidump.symbols import Symbolizer

SCHEMA = json.loads((Path(analyze_file.__code__.co_filename).parent / "schema.json").read_text())


@pytest.fixture(scope="module")
def dump(tmp_path_factory):
    path = tmp_path_factory.mktemp("dump") / "symbols_crash.mini.dmp"
    path.write_bytes(unpacked("symbols_crash.mini.dmp"))
    return str(path)


@pytest.fixture
def store(tmp_path):
    """Microsoft's layout: the image as it is, the PDB compressed (name.pd_, a CAB) as msdl serves it."""
    server = SymbolServer(lay_out(tmp_path / "server"))
    yield server
    server.stop()


def run(dump, text, **kw):
    path = SymbolPath(text, timeout=5, **kw)
    return analyze_file(dump, symbolizer=Symbolizer(path)), path


def test_frames_name_the_crashing_function_its_line_and_its_caller(dump, store, tmp_path):
    bare = analyze_file(dump)
    result, path = run(dump, "srv*%s*%s" % (tmp_path / "cache", store.url))
    jsonschema.validate(result, SCHEMA)
    frames = result["crashing_thread"]["frames"]
    assert (frames[0]["function"], os.path.basename(frames[0]["source_file"]), frames[0]["source_line"]) == (
        "store_value", "symbols_crash.c", 14)
    assert (frames[1]["function"], frames[1]["source_line"]) == ("update_record", 19)
    assert frames[0]["display"].startswith("symbols_crash.exe!store_value+0x")
    assert result["faulting_module"]["function"] == "store_value"
    assert result["signature"] == bare["signature"] and bare["crashing_thread"]["frames"][0]["function"] is None
    assert result["schema_version"] == SCHEMA["properties"]["schema_version"]["const"]
    assert result["warnings"] == bare["warnings"]
    assert "/%s/%s/symbols_crash.pd_" % (PDB, PDB_KEY) in store.requests


def test_the_image_from_the_symbol_server_unwinds_the_mini_dump_exactly(dump, store, tmp_path):
    # The mini dump holds no image: without symbols every caller is scanned; with the image's .pdata
    # from the server every frame of the program (and the return into kernel32) is exact, as in a full dump.
    bare = analyze_file(dump)["crashing_thread"]["frames"]
    assert [f["trust"] for f in bare[1:]] == ["scan"] * (len(bare) - 1)
    frames = run(dump, "srv*%s*%s" % (tmp_path / "cache", store.url))[0]["crashing_thread"]["frames"]
    assert [(f["trust"], f["module"]) for f in frames[:6]] == [("context", EXE)] + [("cfi", EXE)] * 4 + [
        ("cfi", "kernel32.dll")]
    assert [f["function"] for f in frames[:3]] == ["store_value", "update_record", "main"]
    assert frames[2]["source_line"] == 26


def test_a_scanned_address_that_follows_no_call_is_no_frame(dump, store, tmp_path):
    # Without the image a scan takes any word pointing into the program's code; with it, the bytes before
    # each candidate are decoded, and the words where a function starts (by the PDB) are not frames.
    symbols = Symbolizer(SymbolPath("srv*%s*%s" % (tmp_path / "cache", store.url), timeout=5))
    frames = analyze_file(dump, symbolizer=symbols)["crashing_thread"]["frames"]
    with Minidump.open(dump) as opened:
        module = read_modules(opened).modules[0]
    bare = [f for f in analyze_file(dump)["crashing_thread"]["frames"] if f["module"] == EXE and f["trust"] == "scan"]
    found = [symbols.lookup(module, int(f["module_offset"], 16)) for f in bare]
    starts = {f["pc"] for f, symbol in zip(bare, found) if symbol is not None and symbol.offset == 0}
    assert starts and not starts & {f["pc"] for f in frames}
    assert [f["trust"] for f in frames if f["module"] == EXE] == ["context"] + ["cfi"] * 4


def test_an_image_of_another_build_is_not_used(dump, tmp_path):
    folder = tmp_path / "binaries"
    folder.mkdir()
    other = bytearray(unpacked(EXE))
    nt = int.from_bytes(other[0x3C:0x40], "little")
    other[nt + 8] ^= 1  # another TimeDateStamp
    (folder / EXE).write_bytes(bytes(other))
    (folder / PDB).write_bytes(unpacked(PDB))
    result, path = run(dump, str(folder))
    assert result["crashing_thread"]["frames"][0]["function"] is None
    assert any("is another build" in p for p in path.problems)


def test_a_warm_cache_works_offline_and_nothing_is_fetched_twice(dump, store, tmp_path):
    text = "srv*%s*%s" % (tmp_path / "cache", store.url)
    first, path = run(dump, text)
    asked = len(store.requests)
    analyze_file(dump, symbolizer=Symbolizer(path))  # the same symbol path again: no new request
    assert len(store.requests) == asked
    store.stop()
    second, offline = run(dump, text)
    # The image and PDB come from the cache; the first module not cached finds the server down, once.
    assert len(offline.fetched) == 1 and "symbols_crash" not in offline.fetched[0]
    assert len(offline.problems) == 1 and "not asked again" in offline.problems[0]
    assert second["crashing_thread"]["frames"][:2] == first["crashing_thread"]["frames"][:2]
    cached = tmp_path / "cache" / PDB / PDB_KEY / PDB
    assert stat.S_IMODE(cached.stat().st_mode) == 0o600
    folders = (tmp_path / "cache", cached.parent.parent, cached.parent)
    assert {stat.S_IMODE(p.stat().st_mode) for p in folders} == {0o700}


def test_a_missing_symbol_gives_no_function_and_no_failure(dump, store, tmp_path):
    (tmp_path / "empty").mkdir()
    empty = SymbolServer(tmp_path / "empty")
    try:
        result, path = run(dump, "srv*%s*%s" % (tmp_path / "cache", empty.url))
    finally:
        empty.stop()
    assert [f["function"] for f in result["crashing_thread"]["frames"][:2]] == [None, None]
    assert result["faulting_module"]["function"] is None and path.problems == []


def test_an_unreachable_store_is_a_warning(dump, tmp_path):
    result, _path = run(dump, "srv*%s*http://127.0.0.1:9" % (tmp_path / "cache"))
    assert result["crashing_thread"]["frames"][0]["function"] is None
    assert any(w.startswith("symbols: http://127.0.0.1:9/") for w in result["warnings"])


def test_downloads_have_a_size_limit(dump, store, tmp_path):
    result, path = run(dump, "srv*%s*%s" % (tmp_path / "cache", store.url), max_bytes=1000)
    assert result["crashing_thread"]["frames"][0]["function"] is None
    assert any("larger than 1000 bytes" in p for p in path.problems)


def test_a_plain_folder_and_file_ptr(dump, store, tmp_path):
    folder = tmp_path / "binaries"
    folder.mkdir()
    (folder / EXE).write_bytes(unpacked(EXE))
    (tmp_path / PDB).write_bytes(unpacked(PDB))
    pointer = tmp_path / "server2" / PDB / PDB_KEY
    pointer.mkdir(parents=True)
    (pointer / "file.ptr").write_text("PATH:%s" % (tmp_path / PDB))
    second = SymbolServer(tmp_path / "server2")
    try:
        result, _path = run(dump, "%s;cache*%s;srv*%s" % (folder, tmp_path / "c", second.url))
    finally:
        second.stop()
    assert result["crashing_thread"]["frames"][0]["source_line"] == 14
    assert (tmp_path / "c" / PDB / PDB_KEY / PDB).is_file()
    (pointer / "file.ptr").write_text("PATH:/etc/passwd")  # not the file asked for: not read
    second = SymbolServer(tmp_path / "server2")
    try:
        path = SymbolPath("srv*%s*%s" % (tmp_path / "c2", second.url), timeout=5)
        assert path.find(PDB, PDB_KEY) is None
    finally:
        second.stop()
    assert path.problems == ["%s/%s/%s/: file.ptr says PATH:/etc/passwd" % (second.url, PDB, PDB_KEY)]


def test_a_cache_folder_made_by_another_host_at_the_same_moment_is_used(tmp_path, monkeypatch):
    """Each host analyses in its own fork with one cache: a folder may appear between a check and a create."""
    (tmp_path / "binaries").mkdir()
    (tmp_path / "binaries" / PDB).write_bytes(unpacked(PDB))
    real_mkdir = os.mkdir

    def mkdir_racing(path, mode=0o777):
        if not os.path.exists(path):
            real_mkdir(path, 0o700)  # the other host's fork wins the race
        return real_mkdir(path, mode)

    monkeypatch.setattr(os, "mkdir", mkdir_racing)
    path = SymbolPath("cache*%s;%s" % (tmp_path / "c", tmp_path / "binaries"), timeout=5)
    assert path.find(PDB, PDB_KEY) == str(tmp_path / "c" / PDB / PDB_KEY / PDB)


def test_breakpad_symbol_files_are_read_too(dump, tmp_path):
    # What Crashpad/Sentry users have instead of the PDB: the same function and line as text.
    (tmp_path / EXE).write_bytes(unpacked(EXE))
    (tmp_path / "symbols_crash.sym").write_text(
        "MODULE windows x86_64 %s symbols_crash.pdb\nFILE 0 C:\\src\\symbols_crash.c\n"
        "FUNC 1570 20 0 store_value\n1570 16 13 0\n1586 a 14 0\n" % PDB_KEY)
    frame = run(dump, str(tmp_path))[0]["crashing_thread"]["frames"][0]
    assert (frame["function"], frame["function_offset"], frame["source_file"], frame["source_line"]) == (
        "store_value", "0x16", "C:\\src\\symbols_crash.c", 14)


def test_symbol_path_syntax(tmp_path):
    assert parse("srv*C:\\sym*https://msdl.microsoft.com/download/symbols") == [
        ("store", ["C:\\sym", "https://msdl.microsoft.com/download/symbols"])]
    assert parse("srv*https://s") == [("store", [default_cache(), "https://s"])]
    assert parse("cache*/c;/bin;symsrv*symsrv.dll*/d*https://s") == [
        ("folder", ["/c", "/bin"]), ("store", ["/c", "/d", "https://s"])]
    for bad in ("srv*", "https://s", "foo*bar"):
        with pytest.raises(SymbolPathError):
            parse(bad)


def test_nt_symbol_path_is_used_when_no_symbol_path_is_given(monkeypatch, tmp_path):
    monkeypatch.setenv("_NT_SYMBOL_PATH", "srv*%s*https://s" % tmp_path)
    assert symbolizer(None, 5, 1000).path.elements == [("store", [str(tmp_path), "https://s"])]
    assert symbolizer("", 5, 1000) is None
    monkeypatch.delenv("_NT_SYMBOL_PATH")
    assert symbolizer(None, 5, 1000) is None


def test_without_symbolic_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "symbolic", None)
    with pytest.raises(SymbolPathError, match="needs the Python package symbolic"):
        Symbolizer(SymbolPath("srv*/tmp/x*https://s"))


def test_without_cabarchive_a_compressed_file_is_a_warning(dump, store, tmp_path, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "cabarchive", None)
    result, _path = run(dump, "srv*%s*%s" % (tmp_path / "cache", store.url))
    assert result["crashing_thread"]["frames"][0]["function"] is None
    assert "symbols: a symbol store sent symbols_crash.pdb compressed (symbols_crash.pd_): reading it needs the " \
        "Python package cabarchive on the controller (pip install 'cabarchive>=0.2,<0.3')" in result["warnings"]
