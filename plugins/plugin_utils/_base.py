# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared base of the collection's Windows modules (action plugins).

The rules every module follows live here, once:

* the argument spec, and the module's own ``validate`` hook, run before
  anything is sent to the host: bad input fails with nothing sent;
* ``validate_only: true`` stops there, so a role can check the arguments of
  every task it will run, on every host, before the first change;
* one invocation makes one read batch and at most one apply batch;
* check mode never sends an apply batch;
* ``become`` is refused: the agent runs as the connecting account, and
  ansible-core's Windows ``runas`` become wraps only its own module wrapper,
  so a task asking for another user would silently run as the connecting one.
"""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ._agent import OperationError, check_results, execute_batch

BECOME_REFUSED = ("become is not supported (become_method %s, become_user %s): the collection's agent runs as the "
                  "account the connection logs on with, so connect as an administrator and set become: false "
                  "for this task")


class ModuleFailure(Exception):
    """Fail the task with a message and extra result fields."""

    def __init__(self, msg, **fields):
        super().__init__(msg)
        self.msg = msg
        self.fields = fields


class WindowsAgentAction(ActionBase):
    """Subclasses set ``argument_spec`` and implement ``run_module``."""

    TRANSFERS_FILES = False
    _requires_connection = True
    _supports_check_mode = True
    _supports_async = False

    argument_spec: dict = {}
    mutually_exclusive: list = []
    required_if: list = []
    required_by: dict = {}

    def validate(self, args):
        """Semantic checks beyond the spec; raise ModuleFailure. Nothing is sent yet."""

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        args = self.validate_argument_spec(
            dict(self.argument_spec, validate_only=dict(type="bool", default=False)),
            mutually_exclusive=self.mutually_exclusive,
            required_if=self.required_if,
            required_by=self.required_by,
        )[1]
        self.task_vars = task_vars or {}
        self.check_mode = bool(self._task.check_mode)
        self.diff_mode = bool(self._task.diff)
        self.warnings = []
        self._batches = []
        validate_only = args.pop("validate_only")
        try:
            if self._play_context.become:
                raise ModuleFailure(BECOME_REFUSED % (self._play_context.become_method or "become",
                                                      self._play_context.become_user or "the default user"))
            self.validate(args)
            if validate_only:
                result.update(changed=False, msg="the arguments are valid; nothing was sent to the host")
            else:
                result.update(self.run_module(args))
        except ModuleFailure as e:
            result.update(e.fields)
            result.update(failed=True, msg=e.msg)
        if self.warnings:
            result.setdefault("warnings", []).extend(self.warnings)
        return result

    def warn(self, message):
        if message not in self.warnings:
            self.warnings.append(message)

    def read_batch(self, ops):
        """The invocation's single read batch; a failed read fails the task."""
        if self._batches:
            raise AnsibleActionFail("internal error: a module makes one read batch, first")
        self._batches.append("read")
        results = execute_batch(self, ops, stop_on_error=False)
        try:
            check_results(ops, results)
        except OperationError as e:
            raise ModuleFailure(str(e)) from None
        return [r["data"] for r in results]

    def apply_batch(self, ops):
        """The invocation's single apply batch, stopping at the first failure.

        On failure the task fails, naming the operation, and says which of the
        batch's operations were carried out before it.
        """
        if self._batches != ["read"]:
            raise AnsibleActionFail("internal error: one apply batch, after the read batch")
        if self.check_mode:
            raise AnsibleActionFail("internal error: apply batch in check mode")
        self._batches.append("apply")
        results = execute_batch(self, ops, stop_on_error=True)
        try:
            check_results(ops, results)
        except OperationError as e:
            done = [op for op, r in zip(ops, results) if r.get("ok")]
            raise ModuleFailure(str(e), changed=bool(done), completed_operations=done) from None
        return [r["data"] for r in results]
