# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""crashdump.windows.service_restart: restart a service so new image flags take effect."""

from __future__ import annotations

from ansible_collections.crashdump.windows.plugins.plugin_utils._base import ModuleFailure, WindowsAgentAction
from ansible_collections.crashdump.windows.plugins.plugin_utils._service_restart import check_name, restart_plan

__all__ = ("ActionModule", "restart_plan")


class ActionModule(WindowsAgentAction):

    argument_spec = dict(
        name=dict(type="str", required=True),
    )

    def validate(self, args):
        check_name("name", args["name"])

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
