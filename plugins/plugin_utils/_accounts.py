# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Accounts as the controller sends them to a host: the built-in service accounts by SID.

Windows localises the names of its built-in accounts (``NT-AUTORITÄT\\SYSTEM``
on German Windows) but not their SIDs, and ``LocalSystem``, ``LocalService``
and ``NetworkService`` are names only the service control manager knows
(Microsoft Learn, "Well-known SIDs", "LocalSystem Account"). So those
accounts travel as S-1-5-18, -19 and -20; any other name goes as given, and
the agent resolves ``.\\name``, ``HOST\\name`` and SID strings.
"""

from __future__ import annotations

import re

from ._preflight_acl import LOCAL_SERVICE, NETWORK_SERVICE, SYSTEM

_SID = re.compile(r"S-1-\d+(-\d+)+", re.IGNORECASE)
_NAMES = {
    SYSTEM: ("localsystem", "system", "nt authority\\system"),
    LOCAL_SERVICE: ("localservice", "local service", "nt authority\\localservice", "nt authority\\local service"),
    NETWORK_SERVICE: ("networkservice", "network service", "nt authority\\networkservice",
                      "nt authority\\network service"),
}
_WELL_KNOWN = {name: sid for sid, names in _NAMES.items() for name in names}


def is_sid(text):
    return bool(_SID.fullmatch(text or ""))


def well_known_sid(name):
    """S-1-5-18, -19 or -20 for a name or SID of SYSTEM, LOCAL SERVICE or NETWORK SERVICE; else None."""
    text = (name or "").strip()
    if is_sid(text):
        return text.upper() if text.upper() in _NAMES else None
    return _WELL_KNOWN.get(text.casefold())


def host_name(name):
    """How folder_probe is asked for ``name``: a built-in service account by its SID, others as given."""
    return well_known_sid(name) or name.strip()
