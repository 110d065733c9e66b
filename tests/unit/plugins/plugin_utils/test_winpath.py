"""Host paths the user gives are fully qualified, or refused with the reason before anything is sent."""

import pytest

from ansible_collections.crashdump.windows.plugins.plugin_utils._winpath import path_problem


@pytest.mark.parametrize("path", ["C:\\WER", "c:/WER", "\\\\srv\\share\\dumps", "\\\\?\\C:\\WER",
                                  "\\\\?\\UNC\\srv\\share\\d", "C:\\"])
def test_fully_qualified_paths_pass(path):
    assert path_problem(path) is None


@pytest.mark.parametrize("path, reason", [
    ("C:WER", "drive-relative: Windows would resolve C:WER against the current directory of drive C:, write C:\\WER"),
    ("\\WER", "relative to the root of the current drive"),
    ("WER\\dumps", "is relative: Windows would resolve it against the current directory"),
    ("..\\WER", "is relative"),
    ("\\\\srv", "names no share"),
    ("\\\\.\\pipe\\x", "device path"),
    ("\\\\?\\Volume{1}\\x", "device path"),
    ("C:\\WER|x", "character Windows does not allow"),
    ("C:\\a:b", "character Windows does not allow"),
    ("  ", "is empty"),
])
def test_what_windows_would_resolve_elsewhere_is_refused(path, reason):
    assert reason in path_problem(path)


def test_variables_only_where_asked():
    assert path_problem("%LOCALAPPDATA%\\CrashDumps", variables=True) is None
    assert "relative" in path_problem("%LOCALAPPDATA%\\CrashDumps")
