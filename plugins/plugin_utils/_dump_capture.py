# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""dump_capture: everything the enable and cleanup roles do on a host, as one read batch and at most one apply.

Every image and option is checked first (the modules' own checks, on a copy
of the options per image), then the plans of every image share one read:

* state=present: preflight of each image (on the host as read, with the
  values about to be written laid over it), then LocalDumps of each image,
  then page heap of each image. Preflight blockers, and a service to restart
  that is missing or disabled, stop the host before the apply.
* state=absent: the dumps of the images left on the host (and the removal of
  those harvested and verified), then the undo of LocalDumps and page heap.
"""

from __future__ import annotations

import os

from . import _dump_listing, _gflags, _gflags_plan, _harvest, _local_dumps_args, _plan, _preflight
from ._base import ModuleFailure
from ._image import image_problem
from ._local_dumps_plan import LocalDumpsPlan
from ._preflight_plan import PreflightPlan, planned_values
from ._registry import fold
from ._service_restart import check_name, restart_plan

_LOCAL_DUMPS_OPTIONS = ("dump_folder", "dump_count", "dump_type", "custom_dump_flags", "registry_views",
                        "create_folder", "folder_acl", "limit_to_image", "allow_sensitive_image", "unrecorded",
                        "force")
_PRESENT_ONLY = ("page_heap", "restart_service", "dump_folder", "dump_count", "dump_type", "custom_dump_flags",
                 "create_folder")
DEFAULT_DEST = "~/crash_dumps"
# A service to restart that cannot be restarted stops the host, override or not.
ALWAYS_BLOCKING = ("restart_service_missing", "restart_service_disabled")

SPEC = dict(
    exe=dict(type="list", elements="str", required=True),
    state=dict(type="str", default="present", choices=["present", "absent"]),
    page_heap=dict(type="str", choices=list(_gflags.PAGE_HEAP_MODES)),
    restart_service=dict(type="str"),
    preflight_override=dict(type="bool", default=False),
    full_dump_estimate_mb=dict(type="int", default=1024),
    account=dict(type="str"),
    harvest_dest=dict(type="path"),
    remove_dumps=dict(type="bool", default=False),
    **{name: _local_dumps_args.SPEC[name] for name in _LOCAL_DUMPS_OPTIONS},
)
# WER's own default, written to each image key: left out, the image would take the global DumpCount=0 that
# limit_to_image writes, and no dump would appear.
SPEC["dump_count"] = dict(type="int")
# Settings found without a record of the collection's are someone else's: kept unless the user says remove.
SPEC["unrecorded"] = dict(_local_dumps_args.SPEC["unrecorded"], default="keep")
DEFAULT_DUMP_COUNT = 10


def validate(args, host):
    """Check every image and option; adds ``images``: [(exe, local_dumps args, gflags args or None)]."""
    if not args["exe"]:
        raise ModuleFailure("exe must name at least one image, e.g. netsh.exe")
    absent = args["state"] == "absent"
    given = [name for name in _PRESENT_ONLY if absent and args[name] is not None]
    if absent and args["preflight_override"]:
        given.append("preflight_override")
    if given:
        raise ModuleFailure("%s only apply with state=present" % ", ".join(given))
    if not absent and (args["remove_dumps"] or args["harvest_dest"] is not None):
        raise ModuleFailure("harvest_dest and remove_dumps only apply with state=absent")
    if args["remove_dumps"] and not (args["harvest_dest"] or "").strip():
        raise ModuleFailure("remove_dumps removes from the host only the dumps already harvested: name the folder "
                            "the harvest wrote them to in harvest_dest. Nothing was changed.")
    if args["full_dump_estimate_mb"] < 1:
        raise ModuleFailure("full_dump_estimate_mb must be at least 1")
    if args["account"] is not None and not args["account"].strip():
        raise ModuleFailure("account must not be empty")
    if args["restart_service"] is not None:
        check_name("restart_service", args["restart_service"])
    if not absent and args["dump_count"] is None:
        args["dump_count"] = DEFAULT_DUMP_COUNT
    images, seen = [], set()
    for exe in args["exe"]:
        problem = image_problem(exe)
        if problem:
            raise ModuleFailure("exe: %s" % problem)
        if fold(exe) in seen:
            continue
        seen.add(fold(exe))
        local = dict({name: args[name] for name in _LOCAL_DUMPS_OPTIONS}, exe=exe, state=args["state"],
                     account=args["account"] or "SYSTEM", allow_global_full_dump=False)
        _local_dumps_args.validate(local)
        flags = None
        if absent or args["page_heap"] is not None:
            flags = dict(image=exe, flags=[], state=args["state"], page_heap=args["page_heap"],
                         allow_sensitive_image=args["allow_sensitive_image"], force=args["force"])
            _gflags_plan.validate(flags)
        images.append((exe, local, flags))
    args["images"], args["host"] = images, host
    if absent:
        # Without harvest_dest, the dumps are checked against the harvest playbook's default destination.
        try:
            args["host_folder"] = _harvest.host_folder(args["harvest_dest"] or os.path.expanduser(DEFAULT_DEST), host)
        except ValueError as e:
            raise ModuleFailure(str(e)) from None


def run(action, args):
    """The module's result: ``images`` [{exe, preflight, local_dumps, gflags}] (and ``dumps`` when absent)."""
    images = args["images"]
    listing = None
    if args["state"] == "absent":
        listing = _dump_listing.ListDumpsPlan(action, [exe for exe, _ld, _gf in images], args["host_folder"],
                                              args["host"], args["remove_dumps"])
    # A remembered dump folder is forgotten (and removed if created) once the dumps the listing removes were its last.
    local = [LocalDumpsPlan(ld, action, listing.removing if listing else frozenset()) for _exe, ld, _gf in images]
    flags = [_gflags_plan.GflagsPlan(gf, action) for _exe, _ld, gf in images if gf is not None]
    if args["state"] == "present":
        planned = planned_values(args["dump_folder"], args["dump_count"], args["dump_type"])
        checks = [PreflightPlan(exe, planned, account=args["account"],
                                restart_service=args["restart_service"] if i == 0 else None,
                                full_dump_bytes=args["full_dump_estimate_mb"] * _preflight.MIB,
                                guard=args["limit_to_image"], page_heap=args["page_heap"])
                  for i, (exe, _ld, _gf) in enumerate(images)]
        # Planned after the checks and before any change is planned: a blocked host stops with nothing planned.
        plans = checks + [_Gate(checks, args["preflight_override"], args["restart_service"])] + local + flags
    else:
        checks = []
        plans = [listing] + local + flags
    journal = _plan.read_and_plan(action, plans)
    changed, reports = _plan.apply(action, plans, journal)
    return _result(images, args["state"], changed, reports, len(checks), len(local))


class _Gate(_plan.Plan):
    """Stops the host on preflight blockers (unless overridden) and on a service that cannot be restarted."""

    def __init__(self, checks, override, restart_service):
        super().__init__()
        self.checks, self.override, self.restart_service = checks, override, restart_service

    def reads(self):
        return []

    def plan(self, datas, snap, journal):
        _stop_on_blockers(self.checks, self.override, self.restart_service)

    def report(self, results):
        return {}


def _stop_on_blockers(checks, override, restart_service):
    lines, always = [], False
    for check in checks:
        for f in check.result["findings"]:
            if f["id"] in ALWAYS_BLOCKING:
                always = True
            if f["id"] in ALWAYS_BLOCKING or (f["severity"] == "blocker" and not override):
                lines.append("%s: %s Fix: %s" % (check.exe, f["message"], f["fix"]))
    service = checks[0].facts.get("restart_service") if restart_service else None
    if service and service.get("exists") and not always:
        try:
            restart_plan(service)
        except ModuleFailure as e:
            lines.append("%s: %s" % (checks[0].exe, e.msg))
            always = True
    if not lines:
        return
    if always:
        lines.append("Nothing was changed. Name a service that exists and is not disabled, or leave "
                     "restart_service empty.")
    else:
        lines.append("No dump would appear, so nothing was changed. Fix the blockers, or set "
                     "preflight_override=true to configure anyway.")
    raise ModuleFailure("\n".join(lines), changed=False, blocked=True,
                        images=[{"exe": c.exe, "preflight": c.result} for c in checks])


def _result(images, state, changed, reports, n_checks, n_local):
    checks, rest = reports[:n_checks], reports[n_checks + 1:] if n_checks else reports
    listing = rest.pop(0) if state == "absent" else None
    local, flags = rest[:n_local], iter(rest[n_local:])
    out = []
    for i, (exe, _ld, gf) in enumerate(images):
        out.append({"exe": exe, "preflight": checks[i] if checks else None, "local_dumps": local[i],
                    "gflags": next(flags) if gf is not None else None})
    settings = local + [i["gflags"] for i in out if i["gflags"]]
    result = {"changed": changed, "images": out, "drift": [d for r in settings for d in r["drift"]]}
    diffs = [r["diff"] for r in settings if "diff" in r]
    if diffs:
        result["diff"] = diffs
    if listing is not None:
        result["dumps"] = listing
    return result
