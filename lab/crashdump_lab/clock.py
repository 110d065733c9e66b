"""Lab time: ISO 8601 UTC with milliseconds, as the agent reports times.

Every new timestamp a host hands out is later than the previous one, so two
crashes in the same millisecond still have an order (DumpCount rotation and
the event log depend on it)."""

from __future__ import annotations

import datetime as dt

_EPOCH_1601 = dt.datetime(1601, 1, 1, tzinfo=dt.timezone.utc)
_MS = dt.timedelta(milliseconds=1)


def iso(moment):
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (moment.microsecond // 1000)


def parse(text):
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc)


def tick(state):
    """A fresh timestamp for ``state``'s host, later than any handed out before."""
    now = dt.datetime.now(dt.timezone.utc)
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)
    last = state.get("clock")
    if last and now <= parse(last):
        now = parse(last) + _MS
    state["clock"] = iso(now)
    return now


def filetime(moment):
    """100 ns intervals since 1601-01-01 (Windows FILETIME)."""
    delta = moment - _EPOCH_1601
    return (delta.days * 86400 + delta.seconds) * 10_000_000 + delta.microseconds * 10


def unix(moment):
    return int(moment.timestamp())
