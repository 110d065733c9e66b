# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""crashdump.windows.preflight: will a crash of an image leave a dump, and where? One read batch."""

from __future__ import annotations

from ansible_collections.crashdump.windows.plugins.plugin_utils import _plan, _preflight, _winpath
from ansible_collections.crashdump.windows.plugins.plugin_utils._agent import AgentError
from ansible_collections.crashdump.windows.plugins.plugin_utils._base import ModuleFailure, WindowsAgentAction
from ansible_collections.crashdump.windows.plugins.plugin_utils._image import image_problem
from ansible_collections.crashdump.windows.plugins.plugin_utils._preflight_plan import PreflightPlan, planned_values


class ActionModule(WindowsAgentAction):

    argument_spec = dict(
        exe=dict(type="str", required=True),
        paths=dict(type="list", elements="str", default=[]),
        account=dict(type="str"),
        dump_folder=dict(type="str"),
        dump_count=dict(type="int"),
        dump_type=dict(type="str", choices=["custom", "mini", "full", "0", "1", "2"]),
        full_dump_estimate_mb=dict(type="int", default=1024),
        limit_to_image=dict(type="bool", default=False),
        restart_service=dict(type="str"),
        page_heap=dict(type="str", choices=["full", "standard", "off"]),
    )

    def validate(self, args):
        problem = image_problem(args["exe"])
        if problem:
            raise ModuleFailure("exe: %s" % problem)
        if args["dump_count"] is not None and not 0 <= args["dump_count"] <= 1000:
            raise ModuleFailure("dump_count must be between 0 and 1000, got %d" % args["dump_count"])
        problem = args["dump_folder"] is not None and _winpath.path_problem(args["dump_folder"], variables=True)
        if problem:
            raise ModuleFailure("dump_folder %r %s" % (args["dump_folder"], problem))
        if args["full_dump_estimate_mb"] < 1:
            raise ModuleFailure("full_dump_estimate_mb must be at least 1")
        if args["account"] is not None and not args["account"].strip():
            raise ModuleFailure("account must not be empty")
        if args["restart_service"] is not None and not args["restart_service"].strip():
            raise ModuleFailure("restart_service must not be empty")

    def run_module(self, args):
        plan = PreflightPlan(args["exe"], planned_values(args["dump_folder"], args["dump_count"], args["dump_type"]),
                             paths=args["paths"], account=args["account"], restart_service=args["restart_service"],
                             full_dump_bytes=args["full_dump_estimate_mb"] * _preflight.MIB,
                             guard=args["limit_to_image"], page_heap=args["page_heap"])
        try:
            return _plan.run(self, [plan])[0]
        except AgentError as e:
            mode = _preflight.language_mode_refusal(str(e))
            if mode is None:
                raise
            return dict(_preflight.refused(mode, str(e)), changed=False)
