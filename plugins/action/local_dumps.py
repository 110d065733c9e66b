# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""crashdump.windows.local_dumps: WER LocalDumps for one image, exactly and reversibly."""

from __future__ import annotations

from ansible_collections.crashdump.windows.plugins.plugin_utils import _local_dumps_args, _plan
from ansible_collections.crashdump.windows.plugins.plugin_utils._base import WindowsAgentAction
from ansible_collections.crashdump.windows.plugins.plugin_utils._local_dumps_plan import LocalDumpsPlan


class ActionModule(WindowsAgentAction):

    argument_spec = _local_dumps_args.SPEC

    def validate(self, args):
        _local_dumps_args.validate(args)

    def run_module(self, args):
        return _plan.run(self, [LocalDumpsPlan(args, self)])[0]
