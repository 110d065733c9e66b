"""Windows path spelling the way .NET Framework 4.x's System.IO.Path.GetFullPath reads it ("File path
formats on Windows systems", learn.microsoft.com/dotnet/standard/io/file-path-formats): comparison is
case-insensitive.

Kinds of path (``kind``):

* ``drive``: ``C:\\dir`` (also ``\\\\?\\C:\\dir``), fully qualified;
* ``unc``: ``\\\\server\\share\\dir`` (also ``\\\\?\\UNC\\server\\share``), fully qualified, its root
  the share: ``..`` never climbs above it;
* ``drive_relative``: ``C:dir``, relative to the current directory of drive C: (the process's own when
  it is on C:, else C:'s root, as a process holds no other drive's directory unless ``=C:`` is set);
* ``rooted``: ``\\dir``, relative to the root of the current directory's drive;
* ``relative``: ``dir`` or ``..\\dir``, relative to the current directory;
* ``device``: ``\\\\.\\`` and other ``\\\\?\\`` paths (pipes, volumes): not files here.

A relative, drive-relative or rooted path is the surprise: GetFullPath (and every File and Directory
method) resolves it against the current directory of the process, silently. ``norm`` takes fully qualified
paths only unless given that directory (``cwd``).
"""

from __future__ import annotations

import re

from . import errors

_DRIVE = re.compile(r"^[A-Za-z]:\\")
_DRIVE_RELATIVE = re.compile(r"^[A-Za-z]:(?!\\)")
_UNC = re.compile(r"^\\\\([^\\]+)\\([^\\]+)")
_BAD = re.compile(r'[<>"|?*\x00-\x1f]')


def fold(path):
    return path.casefold()


def _plain(path):
    """``path`` with forward slashes as separators and the \\\\?\\ prefix of a drive or UNC path removed."""
    text = path.replace("/", "\\")
    if text[:8].upper() == "\\\\?\\UNC\\":
        return "\\\\" + text[8:]
    if text.startswith("\\\\?\\") and _DRIVE.match(text[4:]):
        return text[4:]
    return text


def kind(path):
    """drive, unc, drive_relative, rooted, relative or device (see the module's text)."""
    text = _plain(path)
    if _DRIVE.match(text):
        return "drive"
    if text.startswith("\\\\"):
        return "device" if text[2:4] in (".\\", "?\\") or not _UNC.match(text) else "unc"
    if _DRIVE_RELATIVE.match(text):
        return "drive_relative"
    return "rooted" if text.startswith("\\") else "relative"


def _resolve(text, cwd):
    """A relative spelling made absolute against the current directory ``cwd``, as GetFullPath does."""
    where = kind(text)
    if where == "drive_relative":
        on_drive = cwd[:2].casefold() == text[:2].casefold()
        return join(cwd if on_drive else text[:2].upper() + "\\", text[2:])
    if where == "rooted":
        return join(root(norm(cwd)), text.lstrip("\\"))
    return join(cwd, text)


def root(path):
    """``C:\\`` or ``\\\\server\\share`` of a normalised path."""
    if _DRIVE.match(path):
        return path[:3]
    m = _UNC.match(path)
    return "\\\\%s\\%s" % (m.group(1), m.group(2))


def _segments(rest):
    """The folder names after the root, with '.' and '..' applied (never above the root), and the dots and
    spaces GetFullPath trims: one trailing period of any segment, all trailing periods and spaces of the last
    ("File path formats on Windows systems", Normalization: trim characters)."""
    parts = []
    for part in rest.split("\\"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        if part.endswith(".") and not part.endswith(".."):
            part = part[:-1]
        parts.append(part)
    if parts and not rest.endswith("\\"):
        parts[-1] = parts[-1].rstrip(" .") or parts[-1]
    return parts


def norm(path, cwd=None):
    """A fully qualified path with single backslashes and no trailing one (except a drive's root).

    Without ``cwd`` a path that is not fully qualified is refused (the lab's callers say where they stand);
    with it, resolved against it as GetFullPath resolves it against the current directory."""
    if not isinstance(path, str) or not path:
        raise errors.invalid_argument("The path is empty.")
    text = _plain(path)
    where = kind(text)
    if where == "device":
        raise errors.invalid_argument("The path '%s' is a device path, not a file path." % path)
    if where not in ("drive", "unc"):
        if cwd is None:
            raise errors.invalid_argument("The path '%s' is not an absolute path with a drive letter or a UNC "
                                          "share." % path)
        return norm(_resolve(text, cwd))
    base = root(text)
    rest = text[len(base):]
    if _BAD.search(rest) or ":" in rest or _BAD.search(base[2:]):
        raise errors.invalid_argument("Illegal characters in path '%s'." % path)
    if where == "drive":
        base = base[0].upper() + ":\\"
    parts = _segments(rest)
    if not parts:
        return base
    return (base if base.endswith("\\") else base + "\\") + "\\".join(parts)


def is_root(path):
    return (len(path) == 3 and path.endswith(":\\")) or (path.startswith("\\\\") and path == root(path))


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
