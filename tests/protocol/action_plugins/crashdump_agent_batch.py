"""Test-only action: send one raw batch to the agent over the task's connection.

It lets the protocol suite drive every agent operation through the real
transport, against the lab or a real Windows host.
"""

from ansible.plugins.action import ActionBase

from ansible_collections.crashdump.windows.plugins.plugin_utils._agent import execute_batch


class ActionModule(ActionBase):
    _requires_connection = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = self._task.args
        result["results"] = execute_batch(self, args["ops"], stop_on_error=args.get("stop_on_error", True))
        return result
