"""Windows path spelling: validation and normalisation the way .NET's
GetFullPath does it (separators, '.' and '..'), comparison case-insensitive."""

from __future__ import annotations

import re

from . import errors

_DRIVE = re.compile(r"^[A-Za-z]:\\")
_BAD = re.compile(r'[<>"|?*\x00-\x1f]')


def fold(path):
    return path.casefold()


def norm(path):
    """Absolute path with single backslashes and no trailing one (except a root)."""
    if not isinstance(path, str) or not path:
        raise errors.invalid_argument("The path is empty.")
    text = path.replace("/", "\\")
    if text.startswith("\\\\?\\"):
        text = text[4:]
    if not _DRIVE.match(text):
        raise errors.invalid_argument("The path '%s' is not an absolute path with a drive letter." % path)
    if _BAD.search(text) or ":" in text[2:]:
        raise errors.invalid_argument("Illegal characters in path '%s'." % path)
    parts = []
    for part in text[3:].split("\\"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return "\\".join([text[0].upper() + ":"] + parts) if parts else text[0].upper() + ":\\"


def is_root(path):
    return len(path) == 3 and path.endswith(":\\")


def parent(path):
    if is_root(path):
        return None
    head = path.rsplit("\\", 1)[0]
    return head + "\\" if len(head) == 2 else head


def name(path):
    return path if is_root(path) else path.rsplit("\\", 1)[1]


def join(directory, leaf):
    return directory + leaf if directory.endswith("\\") else directory + "\\" + leaf


def chain(path):
    """``path`` and its ancestors, root first."""
    out = [path]
    while (up := parent(out[-1])) is not None:
        out.append(up)
    return out[::-1]


def wildcard(pattern):
    """A compiled matcher for a Windows wildcard (``*`` and ``?``), case-insensitive."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern or "*")
    return re.compile(body + r"\Z", re.IGNORECASE | re.DOTALL)
