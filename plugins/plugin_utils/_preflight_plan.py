# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The preflight of one image as a plan (see _plan): it reads, changes nothing, and reports its findings.

Planned before any plan that changes the snapshot, it sees the host as read
and judges it with the values about to be written laid over it, so its
verdict is on the state the apply leaves.
"""

from __future__ import annotations

from . import _preflight
from ._plan import Plan


def planned_values(dump_folder=None, dump_count=None, dump_type=None):
    """The LocalDumps values about to be written, as preflight judges them."""
    planned = {}
    if dump_folder is not None:
        planned["DumpFolder"] = dump_folder
    if dump_count is not None:
        planned["DumpCount"] = dump_count
    if dump_type is not None:
        planned["DumpType"] = _preflight.dump_type_value(str(dump_type))
    return planned


class PreflightPlan(Plan):

    def __init__(self, exe, planned, paths=(), account=None, restart_service=None,
                 full_dump_bytes=1024 * _preflight.MIB, guard=False, page_heap=None):
        super().__init__()
        self.exe = exe
        self.planned = planned
        self.account = account
        self.evaluate_args = dict(account=account, full_dump_bytes=full_dump_bytes, guard=guard, page_heap=page_heap)
        self.named, self.registry = _preflight.batch(exe, list(paths), account, planned.get("DumpFolder"),
                                                     restart_service)

    def reads(self):
        return list(self.named.values()) + self.registry

    def plan(self, datas, snap, journal):
        self.facts = facts = dict(zip(self.named, datas))
        facts["ifeo_last_write"] = _preflight.last_write(self.registry, datas[len(self.named):])
        self.result = _preflight.evaluate(facts, snap, self.exe, self.planned, **self.evaluate_args)

    def report(self, results):
        return dict(self.result)
