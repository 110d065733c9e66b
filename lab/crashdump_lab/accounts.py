"""Who a process runs as: account lookup, the SIDs in its token, and the
environment WerFault expands DumpFolder with."""

from __future__ import annotations

import re

from . import sddl

# Names Windows tools use for the built-in accounts, folded.
_ALIASES = {
    "localsystem": "SYSTEM", "nt authority\\system": "SYSTEM", "system": "SYSTEM",
    "localservice": "LocalService", "local service": "LocalService", "nt authority\\localservice": "LocalService",
    "nt authority\\local service": "LocalService",
    "networkservice": "NetworkService", "network service": "NetworkService",
    "nt authority\\networkservice": "NetworkService", "nt authority\\network service": "NetworkService",
}
# USERNAME as the service accounts see it (SYSTEM sees the computer account, COMPUTER$).
_SERVICE_USERNAMES = {"LocalService": "LOCAL SERVICE", "NetworkService": "NETWORK SERVICE"}
_VAR = re.compile(r"%([^%]+)%")


def resolve(state, name):
    """The account key in ``state['accounts']`` for ``name`` (``.\\alice``, ``HOST\\alice``, ``LocalSystem``...)."""
    accounts = state["accounts"]
    folded = {k.casefold(): k for k in accounts}
    wanted = name.casefold()
    if wanted in _ALIASES and _ALIASES[wanted].casefold() in folded:
        return folded[_ALIASES[wanted].casefold()]
    if wanted in folded:
        return folded[wanted]
    short = wanted.rsplit("\\", 1)[-1]
    if "\\" in wanted and short in folded:
        return folded[short]
    raise KeyError("no account %r on this host (known: %s)" % (name, ", ".join(accounts)))


def default_user(state):
    """The interactive user a crash or start is attributed to when none is named."""
    for key, account in state["accounts"].items():
        if account.get("kind", "user") == "user" and not account.get("admin"):
            return key
    return next(iter(state["accounts"]))


def token_sids(state, key):
    """SIDs in the token of a process running as account ``key``."""
    account = state["accounts"][key]
    kind = account.get("kind", "user")
    held = {account["sid"], sddl.ALIASES["WD"], sddl.ALIASES["AU"], sddl.ALIASES["BU"]}
    if kind == "user":
        held.add(sddl.ALIASES["IU"])
    else:
        held.add(sddl.ALIASES["SU"])
    if account.get("admin") or kind == "system":
        held.add(sddl.ALIASES["BA"])
    held.update(sddl.sid(g) for g in account.get("groups", []))
    return held


def environment(state, key):
    """Machine environment plus the account's own variables (profile folders, USERNAME)."""
    account = state["accounts"][key]
    env = dict(state["env"])
    profile = account["profile"]
    env.update({
        "USERPROFILE": profile,
        "LOCALAPPDATA": profile + "\\AppData\\Local",
        "APPDATA": profile + "\\AppData\\Roaming",
        "TEMP": profile + "\\AppData\\Local\\Temp",
        "TMP": profile + "\\AppData\\Local\\Temp",
        "COMPUTERNAME": state["os"]["hostname"],
        "USERNAME": (state["os"]["hostname"] + "$" if account.get("kind") == "system"
                     else _SERVICE_USERNAMES.get(key, key)),
    })
    return env


def expand(text, env):
    """ExpandEnvironmentStrings: %NAME% case-insensitive, unknown names left as they are."""
    folded = {k.casefold(): v for k, v in env.items()}
    return _VAR.sub(lambda m: folded.get(m.group(1).casefold(), m.group(0)), text)
