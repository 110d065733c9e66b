# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Composable plans: many modules' work on a host in one read batch and at most one apply batch.

A plan says what it must read (``reads``), decides from what was read what
it would change (``plan``: its ``ops``), and reports from what the apply did
(``report``). ``run`` puts any number of plans in one read batch, where an
operation asked by several plans is sent once, plans them in order on one
registry Snapshot and one undo Journal (so a later plan sees the changes of
an earlier one, as if they ran one after the other; a plan that plans to
change what a shared read returned, such as a folder it creates, updates
that data for the same reason), and sends one apply
batch when any plan changes something: the undo records first, then every
plan's operations in order, then the records' removal. The modules run one
plan each; the role-level module dump_capture runs all of a host's.
"""

from __future__ import annotations

import abc
import json

from ._registry import Snapshot
from ._undo import Journal


class Plan(abc.ABC):
    """A unit of planning; subclasses set ``records`` (the undo records they may save or forget)."""

    records: tuple = ()

    def __init__(self):
        self.ops = []

    @abc.abstractmethod
    def reads(self):
        """The read operations the plan needs, in the order ``plan`` receives their data."""

    @abc.abstractmethod
    def plan(self, datas, snap, journal):
        """Set ``self.ops`` from the data of ``reads`` (``datas``), the registry snapshot and the undo journal."""

    @abc.abstractmethod
    def report(self, results):
        """The plan's result; ``results`` holds the data of its ``ops`` once applied, else None."""


class Reads:
    """One read batch for several plans: an operation asked twice is sent once."""

    def __init__(self):
        self.ops = []
        self._index = {}

    def add(self, ops):
        """Positions in the batch of ``ops``."""
        positions = []
        for op in ops:
            ident = json.dumps(op, sort_keys=True)
            if ident not in self._index:
                self._index[ident] = len(self.ops)
                self.ops.append(op)
            positions.append(self._index[ident])
        return positions


def read_and_plan(action, plans):
    """The read batch and the planning of ``plans``; returns the apply batch (not sent) and the journal."""
    reads = Reads()
    positions = [reads.add(p.reads()) for p in plans]
    datas = action.read_batch(reads.ops)
    snap = Snapshot()
    snap.add_results(reads.ops, datas)
    # Plans that keep no undo record (preflight) read no journal.
    journal = Journal(snap) if any(p.records for p in plans) else None
    for p, where in zip(plans, positions):
        p.plan([datas[i] for i in where], snap, journal)
    return journal


def apply(action, plans, journal):
    """Send the one apply batch (not in check mode); every plan reports. Returns (changed, reports)."""
    head = journal.save_ops() if journal else []
    batch = head + [op for p in plans for op in p.ops] + (journal.forget_ops() if journal else [])
    results = action.apply_batch(batch) if batch and not action.check_mode else None
    reports = []
    offset = len(head)
    for p in plans:
        mine = results[offset:offset + len(p.ops)] if results is not None else None
        offset += len(p.ops)
        report = p.report(mine)
        report["changed"] = bool(p.ops) or any(journal.touches(name) for name in p.records)
        reports.append(report)
    return bool(batch), reports


def run(action, plans):
    """Read, plan and apply ``plans`` on the action's host: one read batch, at most one apply batch."""
    journal = read_and_plan(action, plans)
    return apply(action, plans, journal)[1]
