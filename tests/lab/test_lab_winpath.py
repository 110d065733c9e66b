"""Paths as .NET Framework's GetFullPath reads them ("File path formats on Windows systems"), and the agent's
refusal of every path that would resolve against its current directory."""

from __future__ import annotations

import pytest

from crashdump_lab import errors, execute_batch, open_host, winpath

CWD = "C:\\Users\\Administrator\\Documents"


@pytest.mark.parametrize("path, kind, full", [
    ("C:\\WER", "drive", "C:\\WER"),
    ("c:/wer/./x/../y", "drive", "C:\\wer\\y"),
    ("\\\\?\\C:\\x", "drive", "C:\\x"),
    ("\\\\srv\\share\\d\\..\\..\\e", "unc", "\\\\srv\\share\\e"),  # never above the share
    ("\\\\?\\UNC\\srv\\s\\x", "unc", "\\\\srv\\s\\x"),
    ("\\\\srv\\share", "unc", "\\\\srv\\share"),
    ("C:foo", "drive_relative", CWD + "\\foo"),  # the current directory of its drive
    ("D:foo", "drive_relative", "D:\\foo"),  # another drive: its root
    ("\\foo", "rooted", "C:\\foo"),
    ("foo\\bar", "relative", CWD + "\\foo\\bar"),
    ("..\\x", "relative", "C:\\Users\\Administrator\\x"),
    ("C:\\a.\\b. ", "drive", "C:\\a\\b"),  # trailing period of a segment, periods and spaces at the end
])
def test_get_full_path(path, kind, full):
    assert winpath.kind(path) == kind
    assert winpath.norm(path, CWD) == full
    if kind not in ("drive", "unc"):
        with pytest.raises(errors.WinError, match="not an absolute path"):
            winpath.norm(path)


def test_device_paths_and_share_roots():
    for device in ("\\\\.\\pipe\\x", "\\\\?\\Volume{1}\\x", "\\\\.\\C:\\x"):
        assert winpath.kind(device) == "device"
        with pytest.raises(errors.WinError, match="device path"):
            winpath.norm(device, CWD)
    assert winpath.is_root("\\\\srv\\share") and winpath.parent("\\\\srv\\share\\d") == "\\\\srv\\share"
    assert winpath.chain("\\\\srv\\share\\d") == ["\\\\srv\\share", "\\\\srv\\share\\d"]


def test_the_agent_refuses_paths_it_would_resolve_against_its_current_directory(state_dir):
    ops = [{"op": "file_list", "path": "dumps"}, {"op": "file_remove", "path": "C:x.dmp"},
           {"op": "dir_ensure", "path": "\\WER"}, {"op": "file_compress", "path": "C:\\a", "dest": "a.gz"},
           {"op": "path_stat", "path": "\\\\srv\\share\\WER"}]
    with open_host(state_dir, "paths") as lab:
        results = execute_batch(lab, {"version": 1, "stop_on_error": False, "ops": ops})["results"]
    for refused in results[:4]:
        error = refused["error"]
        assert error["type"] == "System.ArgumentException" and "fully qualified" in error["message"]
    assert results[4] == {"ok": True, "data": {"exists": False, "type": None, "size": None, "mtime": None,
                                               "sddl": None}}
