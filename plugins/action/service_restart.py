# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""crashdump.windows.service_restart: restart a service so new image flags take effect."""

from __future__ import annotations

import re

from ansible_collections.crashdump.windows.plugins.plugin_utils._base import ModuleFailure, WindowsAgentAction

# Service names cannot hold slashes; wildcards would make Get-Service match several.
_BAD_NAME = re.compile(r"[\\/*?\[\]\x00-\x1f]")


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
        result = {"changed": True, "before": before, "after": before}
        if not self.check_mode:
            result["after"] = self.apply_batch([{"op": "service_restart", "name": args["name"]}])[0]
        return result
