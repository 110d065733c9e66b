"""An agent protocol operation's fields, checked as the agent checks them."""

from __future__ import annotations

from . import errors, winpath


class _Args:
    """An operation's fields; a missing or mistyped one is an ArgumentException."""

    def __init__(self, op):
        self._op = op

    def get(self, name, kind, default=None, required=True):
        value = self._op.get(name)
        if value is None:
            value = default
        if value is None and not required:
            return None
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise errors.invalid_argument("field '%s' is missing or has the wrong type" % name)
        return value

    def raw(self, name):
        return self._op.get(name)

    def view(self):
        return self.get("view", int, 64)

    def qualified(self, name):
        """A path field, refused unless fully qualified (drive or UNC): GetFullPath would resolve anything else
        against the agent's current directory (lab/crashdump_lab/winpath.py), so the agent refuses it."""
        value = self.get(name, str)
        if winpath.kind(value) not in ("drive", "unc"):
            raise errors.invalid_argument("field '%s' must be a fully qualified path, not '%s'" % (name, value))
        return value

    def existing_path(self):
        """The normalised path, or None where Windows' Exists() would say false for any reason."""
        value = self.qualified("path")
        try:
            return winpath.norm(value)
        except errors.WinError:
            return None
