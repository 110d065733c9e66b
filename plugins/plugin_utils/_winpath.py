# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host paths a user gives: fully qualified, or refused before anything is sent.

.NET Framework 4.x (System.IO.Path.GetFullPath, and so every File and
Directory call of the agent) resolves a relative path (``dumps``), a
drive-relative one (``C:dumps``: the current directory of drive C:) and a
rooted one (``\\dumps``: the root of the current drive) against the current
directory of the process, silently; ``\\\\.\\`` and ``\\\\?\\`` device paths
are not folders ("File path formats on Windows systems", learn.microsoft.com).
The agent refuses them too; this says why in the user's terms, first.
"""

from __future__ import annotations

import re

_DRIVE = re.compile(r"[A-Za-z]:\\")
_UNC = re.compile(r"\\\\[^\\.?][^\\]*\\[^\\]+")
_BAD = re.compile(r'[<>"|?*\x00-\x1f]')
_VARIABLE = re.compile(r"%[^%\\]+%")


def path_problem(path, variables=False):
    """None when ``path`` is a fully qualified Windows path (``C:\\dir``, ``\\\\server\\share\\dir``), or,
    with ``variables``, starts with an environment variable (``%LOCALAPPDATA%\\dir``); else why not."""
    if not isinstance(path, str) or not path.strip():
        return "is empty"
    text = path.replace("/", "\\")
    if text[:8].upper() == "\\\\?\\UNC\\":
        text = "\\\\" + text[8:]
    elif text.startswith("\\\\?\\") and _DRIVE.match(text[4:]):
        text = text[4:]
    if variables and _VARIABLE.match(text):
        return None
    if text.startswith(("\\\\.\\", "\\\\?\\")):
        return "is a device path (\\\\.\\ or \\\\?\\), not a folder"
    if text.startswith("\\\\"):
        if not _UNC.match(text):
            return "names no share: write \\\\server\\share\\folder"
    elif re.match(r"[A-Za-z]:(?!\\)", text):
        return ("is drive-relative: Windows would resolve %s against the current directory of drive %s, "
                "write %s\\%s" % (path, text[:2].upper(), text[:2].upper(), text[2:].lstrip("\\")))
    elif text.startswith("\\"):
        return ("is relative to the root of the current drive: write it with its drive, such as C:%s" % text)
    elif not _DRIVE.match(text):
        return ("is relative: Windows would resolve it against the current directory of the process that reads "
                "it; write a full path such as C:\\%s" % text)
    rest = text[2:] if _DRIVE.match(text) else text
    if _BAD.search(rest) or ":" in rest[1:]:
        return 'holds a character Windows does not allow in a path (<>"|?*: or a control character)'
    return None
