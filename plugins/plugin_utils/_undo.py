# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Exact undo: remember on the host what a change overwrites, restore it later.

Before a module changes anything it writes, in the same apply batch and first,
a record of every value it is about to touch (its prior type and data, or its
absence, and what it writes there), every key and folder it is about to
create. The records live on the host as REG_SZ JSON values under
``HKLM\\SOFTWARE\\crashdump.windows\\Undo`` (64-bit view), one per module and
scope, so any controller can undo. A restore puts back exactly those values,
deletes the created keys only when they are empty, and forgets the record
last: a restore cut short is finished by running it again.

A value someone else changed after the module wrote it (drift) is not ours to
erase: undo keeps it, or for a value of flag bits only those bits, and reports
it; ``force`` restores the prior anyway. Records of version 1 hold no written
data, so their restore cannot see drift and says so.

Planning works on a Snapshot of what the read batch saw, updated as
operations are planned, so later steps see the effect of earlier ones.
"""

from __future__ import annotations

import copy
import json

from ._registry import chain, fold, format_data, parent_of, same_value

JOURNAL_ROOT = "HKLM\\SOFTWARE\\crashdump.windows"
JOURNAL_KEY = JOURNAL_ROOT + "\\Undo"
JOURNAL_VIEW = 64
RECORD_VERSION = 2
READABLE_VERSIONS = (1, 2)


def journal_read_ops():
    return [{"op": "reg_read", "key": k, "view": JOURNAL_VIEW} for k in (JOURNAL_ROOT, JOURNAL_KEY)]


class Record:
    """What one module changed for one scope (e.g. ``local_dumps/netsh.exe``)."""

    def __init__(self, name, keys=None, values=None, dirs=None):
        self.name = name
        self.keys = keys or []          # [{"key", "view"}] created by us, outermost first
        self.values = values or []      # [{"key", "view", "name", "prior", "written"}]
        self.dirs = dirs or []          # [path] created by us, outermost first

    @classmethod
    def from_json(cls, name, text):
        data = json.loads(text)
        if data.get("version") not in READABLE_VERSIONS:
            raise ValueError("unsupported undo record version %r" % data.get("version"))
        return cls(name, data.get("keys"), data.get("values"), data.get("dirs"))

    def to_json(self):
        return json.dumps({"version": RECORD_VERSION, "keys": self.keys, "values": self.values,
                           "dirs": self.dirs}, sort_keys=True, separators=(",", ":"))

    def entry(self, key, view, name):
        """The remembered value ``name``, or None."""
        return next((v for v in self.values
                     if fold(v["key"]) == fold(key) and v["view"] == view and fold(v["name"]) == fold(name)), None)

    def remember_value(self, key, view, name, prior):
        if self.entry(key, view, name) is None:
            self.values.append({"key": key, "view": view, "name": name, "prior": prior})

    def remember_key(self, key, view):
        if not any(fold(k["key"]) == fold(key) and k["view"] == view for k in self.keys):
            self.keys.append({"key": key, "view": view})

    def remember_dir(self, path):
        if fold(path) not in {fold(d) for d in self.dirs}:
            self.dirs.append(path)

    def created_key(self, key, view):
        return any(fold(k["key"]) == fold(key) and k["view"] == view for k in self.keys)

    def created_dir(self, path):
        return fold(path) in {fold(d) for d in self.dirs}


class Journal:
    """The undo records found on the host by the read batch."""

    def __init__(self, snapshot):
        self.root_exists = snapshot.exists(JOURNAL_ROOT, JOURNAL_VIEW)
        state = snapshot.state(JOURNAL_KEY, JOURNAL_VIEW)
        self.key_exists = state.exists
        self.records = {}
        for value in state.values.values():
            if value["type"] == "REG_SZ":
                try:
                    self.records[fold(value["name"])] = Record.from_json(value["name"], value["data"])
                except (ValueError, TypeError):
                    continue  # not ours to interpret; left untouched
        self._saved = []
        self._forgotten = []

    def record(self, name):
        """A copy of the record ``name`` as planned so far, or a new empty one."""
        saved = [r for r in self._saved if fold(r.name) == fold(name)]
        found = saved[-1] if saved else self.records.get(fold(name))
        return copy.deepcopy(found) if found else Record(name)

    def has(self, name):
        return fold(name) in self.records

    def names(self, prefix):
        """The records whose name starts with ``prefix`` once this plan is applied (several plans share a journal)."""
        gone = {fold(n) for n in self._forgotten}
        names = {k: r.name for k, r in self.records.items() if k not in gone}
        names.update((fold(r.name), r.name) for r in self._saved)
        return sorted(n for k, n in names.items() if k.startswith(fold(prefix)))

    def touches(self, name):
        """Whether the apply saves or forgets the record ``name``."""
        return any(fold(n) == fold(name) for n in [r.name for r in self._saved] + self._forgotten)

    def save(self, record):
        self._saved.append(record)

    def forget(self, name):
        if self.has(name):
            self._forgotten.append(name)

    def save_ops(self):
        """Operations writing the saved records: they go first in an apply batch."""
        ops = []
        if self._saved and not self.key_exists:
            ops.append({"op": "reg_create_key", "key": JOURNAL_KEY, "view": JOURNAL_VIEW})
        for record in self._saved:
            ops.append({"op": "reg_set", "key": JOURNAL_KEY, "view": JOURNAL_VIEW, "name": record.name,
                        "type": "REG_SZ", "data": record.to_json()})
        return ops

    def forget_ops(self):
        """Operations deleting forgotten records: they go last, after the restore."""
        ops = [{"op": "reg_delete_value", "key": JOURNAL_KEY, "view": JOURNAL_VIEW, "name": n}
               for n in self._forgotten]
        remaining = set(self.records) - {fold(n) for n in self._forgotten} | {fold(r.name) for r in self._saved}
        if ops and not remaining:
            ops += [{"op": "reg_delete_key", "key": k, "view": JOURNAL_VIEW} for k in (JOURNAL_KEY, JOURNAL_ROOT)]
        return ops


def keep_current(_name, _prior, _written, current):
    """Drift in a plain value: someone else's data is kept whole."""
    return current


def drift_warning(drift):
    """The warning for one drift entry of a restore."""
    shown = {k: "absent" if drift[k] is None else format_data(drift[k]) for k in ("written", "current")}
    return "%s\\%s was changed since crashdump.windows wrote it (%s-bit view; wrote %s, now %s): %s" % (
        drift["key"], drift["name"], drift["view"], shown["written"], shown["current"],
        "overwritten with the prior value, as force=true asks" if not drift["kept"] else
        "someone else's change is kept; force=true restores the value from before crashdump.windows")


UNCHECKED_WARNING = ("the undo record %s was written by an older version of crashdump.windows: changes made since by "
                     "others cannot be told apart and are replaced by the values from before it")


class ChangeSet:
    """Plans registry changes for one record on a snapshot, remembering priors and what it writes.

    ``merge(name, prior, written, current)`` says what undo keeps of a value
    someone changed after we wrote it; keep_current keeps it whole.
    """

    def __init__(self, snapshot, record, root, merge=keep_current):
        self.snapshot = snapshot
        self.record = record
        self.root = root
        self.merge = merge
        self.ops = []
        self.before = {}   # (key, view) -> {name: value} or None, at first touch
        self.drift = []    # values restore kept (or forced) though someone changed them since we wrote them
        self.unchecked = False  # restore met values whose written data the record lacks

    def _touch(self, key, view):
        ident = (key, view)
        if ident not in self.before:
            state = self.snapshot.state(key, view)
            self.before[ident] = {v["name"]: state.value(v["name"]) for v in state.values.values()} \
                if state.exists else None

    def after(self):
        result = {}
        for key, view in self.before:
            state = self.snapshot.state(key, view)
            result[(key, view)] = {v["name"]: state.value(v["name"]) for v in state.values.values()} \
                if state.exists else None
        return result

    def set_value(self, key, view, name, value, remember=True):
        """Make ``name`` hold ``value`` (None: absent); a value the record holds notes it as written.

        With ``remember`` the record also gets the value's prior, if it has none yet.
        """
        self._touch(key, view)
        state = self.snapshot.state(key, view)
        current = state.value(name) if state.exists else None
        if same_value(current, value):
            return
        if remember:
            self.record.remember_value(key, view, name, current)
        entry = self.record.entry(key, view, name)
        if entry is not None:
            if remember:
                # Overwriting someone else's change: undo gives back what it would have kept.
                entry["prior"] = self.undo_target(entry, current, force=False)[0]
            entry["written"] = value
        if value is None:
            self.ops.append({"op": "reg_delete_value", "key": key, "view": view, "name": name})
            del state.values[fold(name)]
            return
        if not state.exists:
            self._create_key(key, view, remember)
        op = {"op": "reg_set", "key": key, "view": view, "name": name, "type": value["type"], "data": value["data"]}
        if value.get("raw"):
            op["raw"] = True  # prior bytes of odd size: written back byte for byte with their type
        self.ops.append(op)
        state.values[fold(name)] = dict(value, name=name)

    def ensure_key(self, key, view):
        """Create ``key`` (and missing parents below the root) if it does not exist."""
        self._touch(key, view)
        if not self.snapshot.exists(key, view):
            self._create_key(key, view, remember=True)

    def _create_key(self, key, view, remember):
        for k in chain(key, self.root):
            state = self.snapshot.state(k, view)
            if state.exists:
                continue
            self._touch(k, view)
            if remember:
                self.record.remember_key(k, view)
            state.exists = True
            parent = parent_of(k)
            if parent and fold(parent) != fold(self.root):
                self.snapshot.state(parent, view).subkeys[fold(k.rsplit("\\", 1)[1])] = k.rsplit("\\", 1)[1]
        self.ops.append({"op": "reg_create_key", "key": key, "view": view})

    def delete_key_if_empty(self, key, view):
        """Delete ``key`` if the plan leaves it without values and subkeys."""
        state = self.snapshot.state(key, view)
        if not state.exists or state.values or state.subkeys:
            return
        self._touch(key, view)
        self.ops.append({"op": "reg_delete_key", "key": key, "view": view})
        self.snapshot.add(key, view, {"exists": False})
        parent = parent_of(key)
        if parent and fold(parent) != fold(self.root):
            self.snapshot.state(parent, view).subkeys.pop(fold(key.rsplit("\\", 1)[1]), None)

    def undo_target(self, entry, current, force):
        """(what undoing ``entry`` writes now, its drift entry or None).

        The prior comes back where the value still holds what we wrote (or the
        record cannot tell); else what ``merge`` keeps of the change, unless
        ``force``.
        """
        if "written" not in entry or same_value(current, entry["written"]):
            return entry["prior"], None
        kept = self.merge(entry["name"], entry["prior"], entry["written"], current)
        if same_value(kept, entry["prior"]):
            return entry["prior"], None
        drift = {"key": entry["key"], "view": entry["view"], "name": entry["name"], "written": entry["written"],
                 "current": current, "kept": not force}
        return (entry["prior"] if force else kept), drift

    def restore(self, force=False):
        """Undo every remembered value (see undo_target), then delete the keys we created if empty."""
        for v in self.record.values:
            state = self.snapshot.state(v["key"], v["view"])
            target, drift = self.undo_target(v, state.value(v["name"]) if state.exists else None, force)
            self.unchecked = self.unchecked or "written" not in v
            if drift:
                self.drift.append(drift)
            self.set_value(v["key"], v["view"], v["name"], target, remember=False)
        for k in reversed(self.record.keys):
            self.delete_key_if_empty(k["key"], k["view"])


def chain_read_ops(keys, root):
    """Read ops for each (key, view) and its ancestors below ``root``, once each."""
    seen, ops = set(), []
    for key, view in keys:
        for k in chain(key, root):
            if (fold(k), view) not in seen:
                seen.add((fold(k), view))
                ops.append({"op": "reg_read", "key": k, "view": view})
    return ops
