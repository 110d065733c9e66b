# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""crashdump.windows.service_restart: restart a service so new image flags take effect."""

from __future__ import annotations

import re

from ansible_collections.crashdump.windows.plugins.plugin_utils._base import ModuleFailure, WindowsAgentAction

# Service names cannot hold slashes; wildcards would make Get-Service match several.
_BAD_NAME = re.compile(r"[\\/*?\[\]\x00-\x1f]")


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


class ActionModule(WindowsAgentAction):

    argument_spec = dict(
        name=dict(type="str", required=True),
    )

    def validate(self, args):
        name = args["name"]
        if not name.strip() or _BAD_NAME.search(name):
            raise ModuleFailure("name: %r is not a service name (no slashes, wildcards or control characters)" % name)

    def run_module(self, args):
        before = self.read_batch([{"op": "service_state", "name": args["name"]}])[0]
        if not before.get("exists"):
            raise ModuleFailure("there is no service named %r on the host" % args["name"])
        again, effective = restart_plan(before)
        result = {"changed": True, "before": before, "after": before, "restarted_dependents": again,
                  "pid_before": before["pid"], "pid_after": None, "restart_effective": effective}
        if not self.check_mode:
            after = self.apply_batch([{"op": "service_restart", "name": args["name"]}])[0]
            result.update(after=after, restarted_dependents=after["restarted_dependents"],
                          pid_before=after["pid_before"], pid_after=after["pid"],
                          restart_effective=after["restart_effective"])
        if not result["restart_effective"]:
            after = result["after"]
            self.warn("service %s runs in process %s with other running services (%s): it keeps that process, so "
                      "new image flags such as page heap do not apply to it until every service in that process "
                      "has stopped or the host restarts"
                      % (after["name"], after["pid"], ", ".join(after["shared_with"]) or "unknown"))
        return result
