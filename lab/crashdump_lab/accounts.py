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
_SID = re.compile(r"S-1-\d+(-\d+)+", re.IGNORECASE)

# What LookupAccountSid / LookupAccountName (NTAccount.Translate) use for the
# built-in accounts: the names are localised with the system UI language, the
# SIDs are not (Microsoft Learn, "Well-known SIDs", en-us and de-de pages:
# S-1-5-18 is "NT-AUTORITÄT\SYSTEM" on German Windows). An English name does
# not resolve on a German host. "LocalSystem", "LocalService" and
# "NetworkService" are names only the service control manager knows
# (Microsoft Learn, "LocalSystem Account", "LocalService Account"): no
# language's LookupAccountName accepts them.
BUILTIN_NAMES = {
    "en-US": {"S-1-5-18": ("NT AUTHORITY", "SYSTEM"), "S-1-5-19": ("NT AUTHORITY", "LOCAL SERVICE"),
              "S-1-5-20": ("NT AUTHORITY", "NETWORK SERVICE"), "S-1-5-32-544": ("BUILTIN", "Administrators"),
              "S-1-5-32-545": ("BUILTIN", "Users")},
    "de-DE": {"S-1-5-18": ("NT-AUTORITÄT", "SYSTEM"), "S-1-5-19": ("NT-AUTORITÄT", "LOKALER DIENST"),
              "S-1-5-20": ("NT-AUTORITÄT", "NETZWERKDIENST"), "S-1-5-32-544": ("VORDEFINIERT", "Administratoren"),
              "S-1-5-32-545": ("VORDEFINIERT", "Benutzer")},
}


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


def _names(state):
    return BUILTIN_NAMES[state["os"].get("language", "en-US")]


def account_name(state, sid):
    """LookupAccountSid: ``DOMAIN\\name`` in the host's language, or None for a SID no account has."""
    if sid.upper() in _names(state):
        return "\\".join(_names(state)[sid.upper()])
    key = next((k for k, a in state["accounts"].items() if a["sid"].upper() == sid.upper()), None)
    return None if key is None else "%s\\%s" % (state["os"]["hostname"], key)


def lookup_sid(state, name):
    """LookupAccountName: the SID of ``name`` (``name``, ``DOMAIN\\name``), or None.

    Built-in names only in the host's language; local accounts by their name,
    alone or after the computer name. ``.\\name`` is no domain Windows knows.
    """
    domain, _, short = name.rpartition("\\")
    for sid, (builtin_domain, builtin) in _names(state).items():
        if short.casefold() == builtin.casefold() and domain.casefold() in ("", builtin_domain.casefold()):
            return sid
    if domain and domain.casefold() != state["os"]["hostname"].casefold():
        return None
    account = next((a for k, a in state["accounts"].items() if k.casefold() == short.casefold()
                    and a.get("kind", "user") == "user"), None)
    return account["sid"] if account else None


def key_for_sid(state, sid):
    """The account key holding ``sid``, or None."""
    return next((k for k, a in state["accounts"].items() if a["sid"].upper() == sid.upper()), None)


def is_sid(text):
    return bool(_SID.fullmatch(text))


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


# Privileges an elevated administrator's token holds, each disabled until the
# process enables it with AdjustTokenPrivileges (Microsoft Learn, "Privilege
# Constants" and "Enabling and Disabling Privileges in C++"); .NET's
# SetAccessControl enables none.
ADMIN_PRIVILEGES = ("SeBackupPrivilege", "SeRestorePrivilege", "SeTakeOwnershipPrivilege", "SeSecurityPrivilege")


class Token:
    """The access token of a process running as account ``key``: its SIDs and privileges."""

    def __init__(self, state, key):
        account = state["accounts"][key]
        admin = bool(account.get("admin")) or account.get("kind") == "system"
        self.user = account["sid"]
        self.sids = token_sids(state, key)
        # Owners it may assign: its user SID and the groups with SE_GROUP_OWNER, which in an
        # elevated administrator's token is Administrators (Microsoft Learn, "SID_AND_ATTRIBUTES",
        # SE_GROUP_OWNER; "Ownership of Objects"). Not every group in the token.
        self.owners = {self.user} | ({sddl.ALIASES["BA"]} if admin else set())
        # An account's "privileges" list stands for User Rights Assignment taking some away.
        held = account.get("privileges", ADMIN_PRIVILEGES if admin else ())
        self.privileges = {name: False for name in held}

    def adjust(self, name, enable):
        """AdjustTokenPrivileges for one privilege: False (ERROR_NOT_ALL_ASSIGNED) when the token lacks it."""
        if name not in self.privileges:
            return False
        self.privileges[name] = enable
        return True

    def enabled(self):
        return sorted(name for name, on in self.privileges.items() if on)

    def may_own(self, sid):
        """Whether SetSecurityInfo accepts ``sid`` as the owner this token writes (else ERROR_INVALID_OWNER).

        SeRestorePrivilege, enabled, "enables you to set any valid user or group SID as the owner of a
        file" (Microsoft Learn, "Privilege Constants", SE_RESTORE_NAME)."""
        return sddl.sid(sid) in self.owners or self.privileges.get("SeRestorePrivilege", False)


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
