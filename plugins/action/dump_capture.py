# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""crashdump.windows.dump_capture: crash dumps and page heap for any number of images, in one read and one apply."""

from __future__ import annotations

from ansible_collections.crashdump.windows.plugins.plugin_utils import _dump_capture
from ansible_collections.crashdump.windows.plugins.plugin_utils._base import WindowsAgentAction


class ActionModule(WindowsAgentAction):

    argument_spec = _dump_capture.SPEC

    def validate(self, args):
        _dump_capture.validate(args, self.task_vars.get("inventory_hostname") or self._play_context.remote_addr)

    def run_module(self, args):
        return _dump_capture.run(self, args)
