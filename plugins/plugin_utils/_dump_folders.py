# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The dump folders the collection configured, remembered on the host beyond cleanup.

Cleanup restores LocalDumps, and with it the DumpFolder value that told
fetch_dumps where the dumps are; the dumps stay. So local_dumps also writes
each folder it configures to ``HKLM\\SOFTWARE\\crashdump.windows\\DumpFolders``
(64-bit view), one REG_EXPAND_SZ value per scope (``netsh.exe``, or
``(global)``), kept outside the undo records. fetch_dumps searches these
folders too; cleanup forgets a folder once it holds no dump of its scope.
The folders the undo record created but cleanup had to keep (dumps were in
them) are remembered beside it, so the cleanup that forgets the folder also
removes them when empty.
"""

from __future__ import annotations

from ._registry import fold
from ._undo import JOURNAL_KEY, JOURNAL_ROOT, JOURNAL_VIEW

KEY = JOURNAL_ROOT + "\\DumpFolders"
GLOBAL = "(global)"


def source(scope):
    """A file_find folder spec: the folder remembered for ``scope``."""
    return {"key": KEY, "view": JOURNAL_VIEW, "name": scope}


def pattern(scope):
    """The dumps the folder of ``scope`` may hold: the image's, or any for the global folder."""
    return "*.dmp" if scope == GLOBAL else "%s.*.dmp" % scope


def remembered(snap, scope):
    state = snap.state(KEY, JOURNAL_VIEW)
    return state.value(scope) if state.exists else None


def remember_ops(snap, scope, folder):
    """Operations remembering ``folder`` for ``scope`` (none when it already is)."""
    value = remembered(snap, scope)
    if value is not None and value["type"] == "REG_EXPAND_SZ" and value["data"] == folder:
        return []
    state = snap.state(KEY, JOURNAL_VIEW)
    ops = [] if state.exists else [{"op": "reg_create_key", "key": KEY, "view": JOURNAL_VIEW}]
    return ops + [_set(state, scope, "REG_EXPAND_SZ", folder)]


def _set(state, name, type_, data):
    """The op writing ``name``, noted in the snapshot: a later plan of the same run sees it."""
    state.exists = True
    state.values[fold(name)] = {"name": name, "type": type_, "data": data}
    return {"op": "reg_set", "key": state.key, "view": state.view, "name": name, "type": type_, "data": data}


def _created(scope):
    return scope + " (created folders)"


def _holds_dumps(found):
    """Whether the remembered folder may still hold dumps: some listed, or it could not be listed or resolved."""
    return any(s.get("skipped") for s in found["sources"]) or any(
        f["files"] or f.get("error") for f in found["folders"])


def absent_ops(snap, scope, found, created_dirs):
    """Operations for cleanup of ``scope``, given ``found`` (the file_find of its remembered folder).

    While dumps may be there, the folder stays remembered, and so do
    ``created_dirs`` (those the undo record being restored created, which
    stay because they hold the dumps). Once none is left, the folder is
    forgotten and the folders created for it are removed if empty. These
    operations go before the undo journal's own forget operations, which
    delete the journal root once it is empty; the key goes with its last
    value, and the root too when no undo records are left.
    """
    state = snap.state(KEY, JOURNAL_VIEW)
    kept = state.value(_created(scope)) if state.exists else None
    kept_dirs = list(kept["data"]) if kept and kept["type"] == "REG_MULTI_SZ" else []
    if _holds_dumps(found):
        dirs = kept_dirs + [d for d in created_dirs if fold(d) not in {fold(k) for k in kept_dirs}]
        if remembered(snap, scope) is None or dirs == kept_dirs:
            return []
        return [_set(state, _created(scope), "REG_MULTI_SZ", dirs)]
    names = [n for n in (scope, _created(scope)) if state.exists and state.value(n) is not None]
    if not names:
        return []
    ops = [{"op": "dir_remove", "path": d} for d in reversed(kept_dirs)]
    ops += [{"op": "reg_delete_value", "key": KEY, "view": JOURNAL_VIEW, "name": n} for n in names]
    for n in names:
        del state.values[fold(n)]
    if not state.values and not state.subkeys:
        ops.append({"op": "reg_delete_key", "key": KEY, "view": JOURNAL_VIEW})
        state.exists = False
        if not snap.exists(JOURNAL_KEY, JOURNAL_VIEW):
            ops.append({"op": "reg_delete_key", "key": JOURNAL_ROOT, "view": JOURNAL_VIEW})
    return ops
