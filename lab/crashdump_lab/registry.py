"""The registry of a lab host, with the 64-bit and 32-bit (WOW64) views.

``state['registry']`` maps every existing key's physical path (parents too)
to ``{"values": {name: {"type", "data"}}}``; data is kept in the agent
protocol's encoding. Key and value names keep the case they were created
with and are looked up case-insensitively.

View 64 is the native registry. View 32 on a 64-bit host sees the keys the
WOW64 registry redirector redirects at their Wow6432Node copy and the keys it
shares at their native path (wow64.py has Microsoft's table). On an x86 host
both views are the native one.
"""

from __future__ import annotations

import re

from . import clock, errors, regdata, wow64

WOW_NODE = wow64.NODE
HIVES = {"HKLM": "HKLM", "HKEY_LOCAL_MACHINE": "HKLM", "HKU": "HKU", "HKEY_USERS": "HKU",
         "HKCU": "HKCU", "HKEY_CURRENT_USER": "HKCU", "HKCR": "HKCR", "HKEY_CLASSES_ROOT": "HKCR"}
# The hives the agent protocol accepts.
PROTOCOL_HIVES = ("HKLM", "HKU", "HKCU", "HKCR")
_HEX = re.compile(r"(?:[0-9a-fA-F]{2})*")
_LIMITS = {"REG_DWORD": 0xFFFFFFFF, "REG_QWORD": 0xFFFFFFFFFFFFFFFF}


def fold(text):
    return text.casefold()


def split_key(key, hives=PROTOCOL_HIVES):
    """[hive, component, ...] with the hive abbreviated; rejects empty components."""
    if not isinstance(key, str) or not key:
        raise errors.invalid_argument("The registry key is empty.")
    parts = key.rstrip("\\").split("\\")
    hive = HIVES.get(parts[0].upper())
    if hive not in hives:
        raise errors.invalid_argument("The registry key '%s' does not start with one of %s."
                                      % (key, ", ".join(hives)))
    if any(p == "" for p in parts[1:]):
        raise errors.invalid_argument("The registry key '%s' has an empty component." % key)
    return [hive] + parts[1:]


RAW_TYPES = ("REG_SZ", "REG_EXPAND_SZ", "REG_MULTI_SZ", "REG_DWORD", "REG_QWORD", "REG_BINARY", "REG_NONE",
             # winnt.h types RegistryValueKind has no name for: the agent reads and writes them as bytes only.
             "REG_DWORD_BIG_ENDIAN", "REG_LINK", "REG_RESOURCE_LIST", "REG_FULL_RESOURCE_DESCRIPTOR",
             "REG_RESOURCE_REQUIREMENTS_LIST")


def stored(value_type, data, raw=False):
    """The stored form of a reg_set: ``{"type", "data"}``, plus ``"raw": True`` for bytes that are not
    the canonical form of their type (lab/crashdump_lab/regdata.py)."""
    if not raw:
        return {"type": value_type, "data": check_value(value_type, data)}
    if value_type not in RAW_TYPES:
        raise errors.invalid_argument("Unknown registry value type %r." % (value_type,))
    if not isinstance(data, str) or not _HEX.fullmatch(data):
        raise errors.invalid_argument("field 'data' must be a hex string of whole bytes")
    converted = regdata.typed(value_type, bytes.fromhex(data))
    if converted is not None:
        return {"type": value_type, "data": converted}
    return {"type": value_type, "data": data.lower(), "raw": True}


def check_value(value_type, data):
    """Validate data for its type; returns it as stored (hex lower-cased)."""
    bad = errors.invalid_argument("Invalid data for a %s value." % value_type)
    if value_type in ("REG_SZ", "REG_EXPAND_SZ"):
        if not isinstance(data, str):
            raise bad
        return data
    if value_type == "REG_MULTI_SZ":
        if not isinstance(data, list) or not all(isinstance(s, str) for s in data):
            raise bad
        return list(data)
    if value_type in _LIMITS:
        if isinstance(data, bool) or not isinstance(data, int) or not 0 <= data <= _LIMITS[value_type]:
            raise bad
        return data
    if value_type in ("REG_BINARY", "REG_NONE"):
        if not isinstance(data, str) or not _HEX.fullmatch(data):
            raise bad
        return data.lower()
    raise errors.invalid_argument("Unknown registry value type %r." % (value_type,))


# RegQueryInfoKey's lpftLastWriteTime: "the last time this key or any of its values changed"
# (KEY_BASIC_INFORMATION.LastWriteTime, Microsoft Learn, wdm.h). A key the lab did not write
# (a seeded or default one) was last written before the lab's clock started. The times are kept beside the
# registry (state["key_write_times"]), so comparing registry contents ignores them, as restoring data can.
UNRECORDED_WRITE = "2000-01-01T00:00:00.000Z"


class Registry:
    def __init__(self, state):
        self._state = state
        self._keys = state["registry"]
        self._times = state.setdefault("key_write_times", {})
        self._is_64bit = state["os"]["arch"] != "x86"
        self._hkcu = "HKU\\" + next(a["sid"] for a in state["accounts"].values() if a.get("admin"))
        self._index = {fold(k): k for k in self._keys}

    # -- addressing -------------------------------------------------------

    def physical(self, key, view):
        """Physical path components (as given, not yet case-resolved) for ``key`` in ``view``."""
        if view not in (32, 64):
            raise errors.invalid_argument("The registry view must be 32 or 64, not %r." % (view,))
        parts = split_key(key)
        if parts[0] == "HKCU":
            parts = self._hkcu.split("\\") + parts[1:]
        elif parts[0] == "HKCR":
            parts = ["HKLM", "SOFTWARE", "Classes"] + parts[1:]
        if view == 32 and self._is_64bit:
            parts = wow64.redirect(parts)
        return parts

    def _real(self, parts):
        return self._index.get(fold("\\".join(parts)))

    def _children(self, real):
        prefix = fold(real) + "\\"
        return [k[len(prefix):] for f, k in self._index.items()
                if f.startswith(prefix) and "\\" not in f[len(prefix):]]

    def subkeys(self, key, view):
        """Names of the subkeys ``key`` shows in ``view``, sorted as RegEnumKeyEx returns them."""
        parts = self.physical(key, view)
        real = self._real(parts)
        names = self._children(real) if real else []
        if view == 32 and self._is_64bit:
            # A key the other rule applies to can show under a parent whose physical copy lacks it
            # (App Paths, shared, under the redirected CurrentVersion), and a name the physical
            # parent has can be missing from this view (CLSID, redirected, under the shared Classes).
            native = [fold(x) for x in self.physical(key, 64)]
            depth = len(native)
            names += [p.split("\\")[depth] for p in wow64.LISTED
                      if p.count("\\") >= depth and [fold(x) for x in p.split("\\")[:depth]] == native]
            names = [n for n in names if self.exists(key.rstrip("\\") + "\\" + n, view)]
        return sorted(set(names), key=fold)

    # -- reading ----------------------------------------------------------

    def entry(self, key, view):
        real = self._real(self.physical(key, view))
        return self._keys[real] if real else None

    def exists(self, key, view):
        return self.entry(key, view) is not None

    def value(self, key, view, name):
        entry = self.entry(key, view)
        if entry is None:
            return None
        found = _find(entry["values"], name)
        return entry["values"][found] if found is not None else None

    def get_value(self, key, view, name):
        """``{"type", "data"}`` as RegistryKey.GetValue converts it, for the agent's direct reads."""
        value = self.value(key, view, name)
        if value is None or not value.get("raw"):
            return value
        return {"type": value["type"], "data": regdata.dotnet(value["type"], bytes.fromhex(value["data"]))}

    def read(self, key, view, last_write=False):
        entry = self.entry(key, view)
        if entry is None:
            result = {"exists": False, "values": [], "subkeys": []}
        else:
            result = {"exists": True,
                      "values": [{"name": n, **v} for n, v in entry["values"].items()],
                      "subkeys": self.subkeys(key, view)}
        if last_write:
            real = self._real(self.physical(key, view))
            result["last_write"] = self._times.get(fold(real), UNRECORDED_WRITE) if entry is not None else None
        return result

    def _written(self, real):
        self._times[fold(real)] = clock.iso(clock.tick(self._state))

    # -- writing ----------------------------------------------------------

    def _ensure_physical(self, parts):
        for i in range(1, len(parts) + 1):
            if self._real(parts[:i]) is None:
                parent = self._real(parts[:i - 1]) if i > 1 else None
                real = (parent + "\\" if parent else "") + parts[i - 1]
                self._keys[real] = {"values": {}}
                self._written(real)
                self._index[fold(real)] = real

    def create(self, key, view):
        """Create ``key`` and missing parents; the logical paths created, outermost first."""
        logical = split_key(key)
        spelled = key.rstrip("\\").split("\\")
        created = []
        for i in range(1, len(logical) + 1):
            prefix = "\\".join(logical[:i])
            if not self.exists(prefix, view):
                self._ensure_physical(self.physical(prefix, view))
                created.append("\\".join(spelled[:i]))
        return created

    def set_value(self, key, view, name, value_type, data, raw=False):
        entry = self.entry(key, view)
        if entry is None:
            raise errors.key_not_found()
        if not isinstance(name, str):
            raise errors.invalid_argument("The value name must be a string.")
        value = stored(value_type, data, raw)
        found = _find(entry["values"], name)
        entry["values"][name if found is None else found] = value
        self._written(self._real(self.physical(key, view)))

    def delete_value(self, key, view, name):
        entry = self.entry(key, view)
        found = _find(entry["values"], name) if entry is not None else None
        if found is None:
            return False
        del entry["values"][found]
        self._written(self._real(self.physical(key, view)))
        return True

    def delete_key(self, key, view):
        """(deleted, reason) with reason None, 'absent' or 'not_empty'."""
        if len(split_key(key)) == 1:
            raise errors.invalid_argument("cannot delete a registry hive")
        real = self._real(self.physical(key, view))
        if real is None:
            return False, "absent"
        if self._keys[real]["values"] or self.subkeys(key, view):
            return False, "not_empty"
        del self._keys[real]
        del self._index[fold(real)]
        self._times.pop(fold(real), None)
        return True, None


def _find(values, name):
    wanted = fold(name)
    return next((n for n in values if fold(n) == wanted), None)
