# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Restarting a service so new image flags take effect: the name's check and the restart's plan.

Shared by the service_restart module and dump_capture, which checks the service in its read batch.
"""

from __future__ import annotations

import re

from ._base import ModuleFailure

# Service names cannot hold slashes; wildcards would make Get-Service match several.
_BAD_NAME = re.compile(r"[\\/*?\[\]\x00-\x1f]")


def check_name(option, name):
    if not name.strip() or _BAD_NAME.search(name):
        raise ModuleFailure("%s: %r is not a service name (no slashes, wildcards or control characters)"
                            % (option, name))


def restart_plan(before):
    """What a restart will do, from the service as read: the dependents to start
    again (running ones; the host lists them in reverse start order) and whether
    the service keeps its process (other running services share it)."""
    for svc in [before] + [d for d in before["dependents"] if d["status"] != "Stopped"]:
        if svc["start_mode"] == "Disabled":
            raise ModuleFailure("service %r is disabled (start mode Disabled) and could not start again: "
                                "nothing was stopped" % svc["name"])
    again = [d["name"] for d in reversed(before["dependents"]) if d["status"] != "Stopped"]
    return again, not before["shared_with"]
