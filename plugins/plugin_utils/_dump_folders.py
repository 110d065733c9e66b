# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The dump folders the collection configured, remembered on the host beyond cleanup.

Cleanup restores LocalDumps, and with it the DumpFolder value that told
fetch_dumps where the dumps are; the dumps stay. So local_dumps also writes
each folder it configures to ``HKLM\\SOFTWARE\\crashdump.windows\\DumpFolders``
(64-bit view), one REG_EXPAND_SZ value per scope (``netsh.exe``, or
``(global)``), kept outside the undo records. fetch_dumps searches these
folders too; cleanup forgets a folder once it holds no dump of its scope.
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
    ops = [] if snap.exists(KEY, JOURNAL_VIEW) else [{"op": "reg_create_key", "key": KEY, "view": JOURNAL_VIEW}]
    return ops + [{"op": "reg_set", "key": KEY, "view": JOURNAL_VIEW, "name": scope, "type": "REG_EXPAND_SZ",
                   "data": folder}]


def forget_ops(snap, scope, found):
    """Operations forgetting the folder of ``scope`` when ``found`` (its file_find result) lists no dump.

    They go before the undo journal's own forget operations, which delete the
    journal root once it is empty. The key goes with its last value; when no
    undo records are left either, so does the root.
    """
    # A folder that could not be listed, or not resolved (skipped), may still hold dumps.
    if remembered(snap, scope) is None or any(s.get("skipped") for s in found["sources"]) \
            or any(f["files"] or f.get("error") for f in found["folders"]):
        return []
    ops = [{"op": "reg_delete_value", "key": KEY, "view": JOURNAL_VIEW, "name": scope}]
    others = [v for v in snap.state(KEY, JOURNAL_VIEW).values if v != fold(scope)]
    if not others and not snap.state(KEY, JOURNAL_VIEW).subkeys:
        ops.append({"op": "reg_delete_key", "key": KEY, "view": JOURNAL_VIEW})
        if not snap.exists(JOURNAL_KEY, JOURNAL_VIEW):
            ops.append({"op": "reg_delete_key", "key": JOURNAL_ROOT, "view": JOURNAL_VIEW})
    return ops
