# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""crashdump.windows.wait_for_dump: wait until a new dump of an image exists on the host."""

from __future__ import annotations

import datetime as dt
import time

from ansible_collections.crashdump.windows.plugins.plugin_utils import _harvest, _winpath
from ansible_collections.crashdump.windows.plugins.plugin_utils._agent import (
    OperationError,
    check_results,
    execute_batch,
)
from ansible_collections.crashdump.windows.plugins.plugin_utils._base import ModuleFailure, WindowsAgentAction
from ansible_collections.crashdump.windows.plugins.plugin_utils._image import image_problem

# A file with a later modification time than the newest dump seen at the start is hashed (and so checked for
# WerFault still writing it); the same millisecond cannot belong to a dump written after the listing.
AFTER_NEWEST = dt.timedelta(milliseconds=1)


def listed(found, images):
    """{path (case folded): mtime} of the dumps of ``images`` in a file_find result."""
    return {f["path"].casefold(): f["mtime"] for folder in found["folders"] for f in folder["files"]
            if _harvest.identify(f["name"], images)[0] is not None}


class ActionModule(WindowsAgentAction):

    argument_spec = dict(
        exe=dict(type="list", elements="str", required=True),
        timeout=dict(type="int", default=3600),
        poll_interval=dict(type="int", default=30),
        since=dict(type="str"),
        extra_folders=dict(type="list", elements="str", default=[]),
    )

    def validate(self, args):
        if not args["exe"]:
            raise ModuleFailure("exe must name at least one image, e.g. netsh.exe")
        for exe in args["exe"]:
            problem = image_problem(exe)
            if problem:
                raise ModuleFailure("exe: %s" % problem)
        if args["timeout"] < 0:
            raise ModuleFailure("timeout must not be negative")
        if args["poll_interval"] < 1:
            raise ModuleFailure("poll_interval must be at least 1 second")
        if args["since"] is not None:
            try:
                since = _harvest.parse_iso(args["since"])
            except ValueError:
                raise ModuleFailure("since: %r is not an ISO 8601 time such as 2026-11-01T08:00:00Z"
                                    % args["since"]) from None
            args["since"] = since if since.tzinfo else since.replace(tzinfo=dt.timezone.utc)
        for folder in args["extra_folders"]:
            problem = _winpath.path_problem(folder, variables=True)
            if problem:
                raise ModuleFailure("extra_folders: %r %s" % (folder, problem))

    def _poll(self, images, sources, since, hashed):
        """One remote execution: the dumps of ``images`` (modified at or after ``since``), as file_find lists them."""
        ops = [{"op": "file_find", "folders": [s[1] for s in sources], "profile_vars": _harvest.PROFILE_VARS,
                "patterns": _harvest.patterns(images), "since": _harvest.iso(since) if since else None,
                "sha256": hashed}]
        results = execute_batch(self, ops, stop_on_error=False)
        try:
            check_results(ops, results)
        except OperationError as e:
            raise ModuleFailure(str(e)) from None
        return results[0]["data"]

    def run_module(self, args):
        images, sources = args["exe"], _harvest.search_sources(args["exe"], args["extra_folders"])
        labels = [s[0] for s in sources]
        started = time.monotonic()
        baseline, since, polls = {}, args["since"], 0
        if since is None:
            # Without a time, new is what is not there now: list (without hashing) what is.
            baseline = listed(self._poll(images, sources, None, False), images)
            polls += 1
            newest = max((_harvest.parse_iso(m) for m in baseline.values()), default=None)
            since = newest + AFTER_NEWEST if newest else None
        result = {"changed": False, "baseline": len(baseline)}
        while True:
            found = self._poll(images, sources, since, True)
            polls += 1
            dumps, problems = _harvest.collect(found, labels, images)
            new = [d for d in dumps if baseline.get(d["remote_path"].casefold()) != d["mtime"]]
            ready = [d for d in new if d.get("status") != "being_written"]
            elapsed = round(time.monotonic() - started, 1)
            result.update(dumps=ready, dump=ready[0] if ready else None, being_written=[
                d["remote_path"] for d in new if d.get("status") == "being_written"], polls=polls, elapsed=elapsed)
            if ready:
                result["msg"] = "new dump %s after %s s" % (ready[0]["remote_path"], elapsed)
                return result
            if self.check_mode:
                # Nothing can crash because of a check run: report the state once instead of waiting.
                result.update(skipped_wait=True, msg="check mode: not waiting; no new dump of %s yet"
                              % ", ".join(images))
                return result
            remaining = args["timeout"] - (time.monotonic() - started)
            if remaining <= 0:
                for problem in problems:
                    self.warn(problem)
                raise ModuleFailure(
                    "timed out after %s s (%d polls): no new dump of %s on the host%s; %d were there when waiting "
                    "began" % (elapsed, polls, ", ".join(images),
                               " (still being written: %s)" % ", ".join(result["being_written"])
                               if result["being_written"] else "", len(baseline)),
                    timed_out=True, **{k: v for k, v in result.items() if k != "changed"})
            time.sleep(min(args["poll_interval"], remaining))
