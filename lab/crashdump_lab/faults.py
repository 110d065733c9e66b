"""Armed connection faults of a lab host, kept in ``state['faults']`` and
consumed when they fire.

Specs (counted from the moment they are armed):

``exec:N``        the Nth command is lost before the host runs it;
``exec:N:after``  the Nth command runs, then its reply is lost;
``fetch:N``       the connection drops after N more fetch chunks
                  (``fetch:0``: the next chunk already fails);
``corrupt:N``     the chunk after N more fetch chunks arrives with one
                  byte changed (``corrupt:0``: the next one);
``receive:KIND:N:EFFECT[:R]``
                  at the WinRM endpoint (labctl serve): the Nth command of
                  KIND (agent, fetch_file or put_file: see
                  wsman/counters.py) runs, then the Rth Receive of its
                  output (default 1; a psrp pipeline streams a whole file
                  over many Receives) meets EFFECT: ``reset`` (the
                  connection is reset), ``http500`` (the shell's host
                  process is gone: HTTP 500 with Windows' fault) or
                  ``timeout`` (the operation times out, as when the output
                  is late); see wsman/shell.py;
``clear``         disarm everything.
"""

from __future__ import annotations

import re

_SPEC = re.compile(r"(exec):(\d+)(?::(before|after))?|(fetch|corrupt):(\d+)"
                   r"|receive:(agent|fetch_file|put_file):(\d+):(reset|http500|timeout)(?::(\d+))?")


def parse(spec):
    m = _SPEC.fullmatch(spec.strip())
    if not m:
        raise ValueError("fault spec must be exec:N, exec:N:after, fetch:N, corrupt:N, receive:KIND:N:EFFECT[:R] or "
                         "clear, not %r" % spec)
    if m.group(6):
        if int(m.group(7)) < 1 or int(m.group(9) or 1) < 1:
            raise ValueError("receive:KIND:N:EFFECT:R counts commands and Receives from 1")
        return {"on": "receive:" + m.group(6), "remaining": int(m.group(7)) - 1, "effect": m.group(8),
                "receive": int(m.group(9) or 1)}
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
    """Count one ``on`` event ("exec", "fetch", "corrupt" or "receive:KIND"); returns the fault that fires now,
    if any."""
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
