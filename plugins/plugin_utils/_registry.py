# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the read batch saw of the registry, and how to show it.

Keys and value names are case-insensitive on Windows and keep the case they
were created with; values are ``{"type": "REG_...", "data": ...}`` in the
agent protocol's encoding, compared by type and data. A value whose bytes are
not the canonical form of its type (a REG_DWORD of 5 bytes, a REG_SZ with two
NULs) comes as ``{"type", "data": hex, "raw": True}``; the flag travels with it
into comparisons, undo records and the reg_set that restores it.
"""

from __future__ import annotations

import json


def fold(name):
    return name.casefold()


def parent_of(key):
    return key.rsplit("\\", 1)[0] if "\\" in key else None


def chain(key, root):
    """``key`` and its ancestors below ``root`` (root excluded), outermost first."""
    if not fold(key).startswith(fold(root) + "\\"):
        raise ValueError("%s is not below %s" % (key, root))
    parts = key[len(root) + 1:].split("\\")
    return ["%s\\%s" % (root, "\\".join(parts[:i + 1])) for i in range(len(parts))]


def read_op(key, view):
    return {"op": "reg_read", "key": key, "view": view}


class KeyState:
    def __init__(self, key, view, data):
        self.key = key
        self.view = view
        self.exists = bool(data.get("exists"))
        self.values = {fold(v["name"]): v for v in data.get("values") or []}
        self.subkeys = {fold(s): s for s in data.get("subkeys") or []}

    def value(self, name):
        v = self.values.get(fold(name))
        if not v:
            return None
        return dict({"type": v["type"], "data": v["data"]}, **({"raw": True} if v.get("raw") else {}))


class Snapshot:
    """Registry keys read in one batch, by (key, view)."""

    def __init__(self):
        self._keys = {}

    def add(self, key, view, data):
        self._keys[(fold(key), view)] = KeyState(key, view, data)

    def add_results(self, ops, datas):
        for op, data in zip(ops, datas):
            if op["op"] == "reg_read":
                self.add(op["key"], op["view"], data)

    def state(self, key, view):
        try:
            return self._keys[(fold(key), view)]
        except KeyError:
            raise KeyError("internal error: %s (%s-bit view) was not read" % (key, view)) from None

    def exists(self, key, view):
        return self.state(key, view).exists

    def value(self, key, view, name):
        return self.state(key, view).value(name)


def same_value(a, b):
    if a is None or b is None:
        return a is b
    return a["type"] == b["type"] and a["data"] == b["data"] and bool(a.get("raw")) == bool(b.get("raw"))


def format_data(value):
    """A value's type and data as a .reg export shows them, for diffs and messages."""
    shown = json.dumps(value["data"], ensure_ascii=False)
    if value.get("raw"):
        data = value["data"]
        shown = "hex:" + ",".join(data[i:i + 2] for i in range(0, len(data), 2))
    elif value["type"] in ("REG_DWORD", "REG_QWORD"):
        shown = "%d (0x%x)" % (value["data"], value["data"])
    return "%s:%s" % (value["type"], shown)


def format_value(name, value):
    """One line in the style of a .reg export, for diffs and messages."""
    return '"%s"=%s' % (name or "@", format_data(value))


def format_keys(entries):
    """Text for a diff side: ``entries`` maps (key, view) -> {name: value} or None (no key)."""
    lines = []
    for (key, view), values in entries.items():
        if values is None:
            continue
        lines.append("[%s] (%s-bit view)" % (key, view))
        lines.extend(format_value(n, v) for n, v in sorted(values.items(), key=lambda kv: fold(kv[0])))
        lines.append("")
    return "\n".join(lines)
