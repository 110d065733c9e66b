# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""crashdump.windows.crash_events: application crashes and hangs from the Application log, in one round trip."""

from __future__ import annotations

import datetime as dt

from ansible_collections.crashdump.windows.plugins.plugin_utils import _events
from ansible_collections.crashdump.windows.plugins.plugin_utils._base import ModuleFailure, WindowsAgentAction
from ansible_collections.crashdump.windows.plugins.plugin_utils._image import image_problem

DEFAULT_DAYS = 7


def parse_since(text):
    """ISO 8601 (a date, or a time with or without offset; no offset means UTC) -> aware UTC datetime."""
    text = text.strip()
    try:
        moment = dt.datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in "Zz" and text else text)
    except ValueError:
        raise ModuleFailure("since must be an ISO 8601 date or time such as 2026-11-01 or 2026-11-01T08:00:00Z, "
                            "got %r" % text) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc)


def iso(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (moment.microsecond // 1000)


class ActionModule(WindowsAgentAction):

    argument_spec = dict(
        since=dict(type="str"),
        days=dict(type="int"),
        images=dict(type="list", elements="str", default=[]),
        max_events=dict(type="int", default=2000),
    )
    mutually_exclusive = [["since", "days"]]

    def validate(self, args):
        if args["days"] is not None and args["days"] < 1:
            raise ModuleFailure("days must be 1 or more, got %d" % args["days"])
        if args["max_events"] < 1:
            raise ModuleFailure("max_events must be 1 or more, got %d" % args["max_events"])
        for image in args["images"]:
            problem = image_problem(image)
            if problem:
                raise ModuleFailure("images: %s" % problem)
        if args["since"] is not None:
            args["since"] = parse_since(args["since"])
        else:
            days = args["days"] if args["days"] is not None else DEFAULT_DAYS
            args["since"] = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=days)

    def run_module(self, args):
        since = iso(args["since"])
        # Providers are filtered here, not on the host: Get-WinEvent fails the
        # whole query when a named provider is not registered there.
        op = {"op": "event_query", "log": "Application", "providers": [], "ids": list(_events.EVENT_IDS),
              "since": since, "max_events": args["max_events"]}
        found = self.read_batch([op])[0]
        events = found["events"]
        parsed = _events.parse_events(events, images=args["images"])
        # The host reads one event more than asked: exactly max_events events is not a truncation.
        truncated = found["truncated"]
        if truncated:
            oldest = min((e["time"] for e in events if e.get("time")), default=since)
            self.warn("only the newest %d events since %s were read (back to %s): raise max_events or narrow "
                      "since/days to see all crashes" % (args["max_events"], since, oldest))
        if parsed["unparsed"]:
            first = parsed["unparsed"][0]
            self.warn("%d event(s) could not be read and are listed in unparsed (the first, record %s: %s)"
                      % (len(parsed["unparsed"]), first["record_id"], first["reason"]))
        return {
            "changed": False,
            "since": since,
            "truncated": truncated,
            "crashes": parsed["crashes"],
            "unparsed": parsed["unparsed"],
            "stats": parsed["stats"],
        }
