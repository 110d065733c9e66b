# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""crashdump.windows.gflags: image-file GlobalFlag and page heap, exactly and reversibly."""

from __future__ import annotations

from ansible_collections.crashdump.windows.plugins.plugin_utils import _gflags_plan, _plan
from ansible_collections.crashdump.windows.plugins.plugin_utils._base import WindowsAgentAction


class ActionModule(WindowsAgentAction):

    argument_spec = _gflags_plan.SPEC

    def validate(self, args):
        _gflags_plan.validate(args)

    def run_module(self, args):
        return _plan.run(self, [_gflags_plan.GflagsPlan(args, self)])[0]
