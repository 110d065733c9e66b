# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Remote executions of each task on each lab host, from the lab's own
counters, and what crossed the wire for it when the hosts are served."""

from __future__ import annotations

import json
import os
import sys

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: lab_round_trips
type: aggregate
short_description: Remote executions per task and lab host
description:
  - Reads the C(round_trips) counter of every lab host in C(CRASHDUMP_LAB_STATE_DIR) when a task starts and
    when the playbook ends, and writes to the
    file named by C(CRASHDUMP_LAB_ROUND_TRIPS_FILE) a JSON list with one object per task, whose keys are
    C(task), C(action) and C(executions) (host name to count).
  - When C(CRASHDUMP_LAB_WIRE_COUNTERS) names the counters file of C(labctl serve --counters), each object also
    has C(wire), host name to what the task's requests added to that host's counters (C(requests),
    C(bytes_in), C(bytes_out), and C(commands) by kind).
  - The linear strategy finishes a task on every host before the next starts, so the difference between two
    readings is what that task sent, whatever the number of forks.
requirements:
  - lab hosts (connection crashdump_lab) and C(CRASHDUMP_LAB_STATE_DIR)
"""

_LAB_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _LAB_DIR not in sys.path:
    sys.path.insert(0, _LAB_DIR)

from crashdump_lab.state import default_state_dir  # noqa: E402


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "lab_round_trips"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self._task = None
        self._before = {}
        self._wire_before = {}
        self._tasks = []

    @staticmethod
    def _wire():
        """Every served host's wire counters (labctl serve --counters), or {} when not asked for."""
        path = os.environ.get("CRASHDUMP_LAB_WIRE_COUNTERS")
        if not path:
            return {}
        with open(path, encoding="utf-8") as f:
            return json.load(f)["hosts"]

    @staticmethod
    def _readings():
        """Every lab host's counter; a host with no state file yet has sent nothing."""
        state_dir = default_state_dir()
        readings = {}
        for name in os.listdir(state_dir) if os.path.isdir(state_dir) else []:
            if name.endswith(".json") and not name.startswith("."):
                with open(os.path.join(state_dir, name), encoding="utf-8") as f:
                    state = json.load(f)
                if isinstance(state, dict) and "counters" in state:
                    readings[name[:-len(".json")]] = state["counters"]["round_trips"]
        return readings

    def _close_task(self):
        if self._task is None:
            return
        now = self._readings()
        entry = {"task": self._task.get_name(), "action": self._task.action,
                 "executions": {h: n - self._before.get(h, 0) for h, n in sorted(now.items())}}
        wire = self._wire()
        if wire:
            entry["wire"] = {h: _minus(c, self._wire_before.get(h, {})) for h, c in sorted(wire.items())}
        self._tasks.append(entry)
        self._task = None

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._close_task()
        self._task = task
        self._before = self._readings()
        self._wire_before = self._wire()

    def v2_playbook_on_stats(self, stats):
        self._close_task()
        path = os.environ.get("CRASHDUMP_LAB_ROUND_TRIPS_FILE")
        if path:
            with open(path, "w", encoding="utf-8") as f:
                json.dump(self._tasks, f, indent=1)


def _minus(now, before):
    """``now`` less ``before``, key by key, into nested counters."""
    return {k: _minus(v, before.get(k, {})) if isinstance(v, dict) else v - before.get(k, 0) for k, v in now.items()}
