"""Armed connection faults of a lab host, kept in ``state['faults']`` and
consumed when they fire.

Specs (counted from the moment they are armed):

``exec:N``        the Nth command is lost before the host runs it;
``exec:N:after``  the Nth command runs, then its reply is lost;
``fetch:N``       the connection drops after N more fetch chunks
                  (``fetch:0``: the next chunk already fails);
``corrupt:N``     the chunk after N more fetch chunks arrives with one
                  byte changed (``corrupt:0``: the next one);
``clear``         disarm everything.
"""

from __future__ import annotations

import re

_SPEC = re.compile(r"(exec):(\d+)(?::(before|after))?|(fetch|corrupt):(\d+)")


def parse(spec):
    m = _SPEC.fullmatch(spec.strip())
    if not m:
        raise ValueError("fault spec must be exec:N, exec:N:after, fetch:N, corrupt:N or clear, not %r" % spec)
    if m.group(1):
        if int(m.group(2)) < 1:
            raise ValueError("exec:N counts commands from 1")
        return {"on": "exec", "remaining": int(m.group(2)) - 1, "phase": m.group(3) or "before"}
    return {"on": m.group(4), "remaining": int(m.group(5))}


def arm(state, spec):
    """Arm a fault (or disarm all with ``clear``); returns the armed list."""
    if spec.strip() == "clear":
        state["faults"] = []
    else:
        state.setdefault("faults", []).append(parse(spec))
    return state["faults"]


def fire(state, on):
    """Count one ``on`` event ("exec", "fetch" or "corrupt"); returns the fault that fires now, if any."""
    fired = None
    for fault in list(state.get("faults", [])):
        if fault["on"] != on:
            continue
        if fault["remaining"] == 0 and fired is None:
            state["faults"].remove(fault)
            fired = fault
        elif fault["remaining"] > 0:
            fault["remaining"] -= 1
    return fired
