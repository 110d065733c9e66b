# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""May an account create a dump in a folder? Decided from the folder's DACL as SDDL.

WerFault writes the dump as the crashing process's account. The account's
token is approximated by its SID and the well-known groups every such token
holds (Everyone, Authenticated Users, Users, and SERVICE or INTERACTIVE);
SYSTEM also holds Administrators. Other group memberships (domain groups, a
user's local Administrators membership, which UAC makes deny-only anyway)
are not known here, so an ACE granting only through them is not counted.

A missing folder is created by the writer and inherits its parent's ACEs,
CREATOR OWNER becoming the account, as Windows does.

``differences`` tells whether a folder's descriptor holds the one asked for.
"""

from __future__ import annotations

import re

ALIASES = {
    "WD": "S-1-1-0", "CO": "S-1-3-0", "CG": "S-1-3-1", "OW": "S-1-3-4", "NU": "S-1-5-2", "IU": "S-1-5-4",
    "SU": "S-1-5-6", "AN": "S-1-5-7", "PS": "S-1-5-10", "AU": "S-1-5-11", "RC": "S-1-5-12", "SY": "S-1-5-18",
    "LS": "S-1-5-19", "NS": "S-1-5-20", "BA": "S-1-5-32-544", "BU": "S-1-5-32-545", "BG": "S-1-5-32-546",
    "PU": "S-1-5-32-547", "AC": "S-1-15-2-1",
}
SYSTEM, LOCAL_SERVICE, NETWORK_SERVICE = "S-1-5-18", "S-1-5-19", "S-1-5-20"
CREATOR_OWNER, OWNER_RIGHTS = ALIASES["CO"], ALIASES["OW"]

FILE_ADD_FILE = 0x2
FILE_ADD_SUBDIRECTORY = 0x4
_RIGHTS = {
    "CC": 0x1, "DC": 0x2, "LC": 0x4, "SW": 0x8, "RP": 0x10, "WP": 0x20, "DT": 0x40, "LO": 0x80, "CR": 0x100,
    "SD": 0x10000, "RC": 0x20000, "WD": 0x40000, "WO": 0x80000,
    "GA": 0x10000000, "GX": 0x20000000, "GW": 0x40000000, "GR": 0x80000000,
    "FA": 0x1F01FF, "FR": 0x120089, "FW": 0x120116, "FX": 0x1200A0,
}
# The file objects' generic mapping.
_GENERIC = ((0x10000000, 0x1F01FF), (0x80000000, 0x120089), (0x40000000, 0x120116), (0x20000000, 0x1200A0))


class SddlError(ValueError):
    pass


class Ace:
    """One access-control entry: kind (A, D, ...), flags (OI, CI, NP, IO, ID, ...), mask, trustee SID."""

    def __init__(self, kind, flags, mask, sid):
        self.kind = kind
        self.flags = frozenset(flags)
        self.mask = mask
        self.sid = sid

    def text(self):
        return "(%s;%s;0x%x;;;%s)" % (self.kind, "".join(sorted(self.flags)), self.mask, self.sid)


def sid_of(text):
    return ALIASES.get(text.upper(), text.upper())


def _mask(text):
    if re.fullmatch(r"0[xX][0-9a-fA-F]+|[0-9]+", text):
        mask = int(text, 0)
    elif len(text) % 2 == 0 and all(text[i:i + 2] in _RIGHTS for i in range(0, len(text), 2)):
        mask = 0
        for i in range(0, len(text), 2):
            mask |= _RIGHTS[text[i:i + 2]]
    else:
        raise SddlError("unknown access rights %r" % text)
    for generic, specific in _GENERIC:
        if mask & generic:
            mask = (mask & ~generic) | specific
    return mask


def _components(sddl):
    """{letter: text} of the O:, G:, D: and S: parts; ACE bodies in parentheses are skipped."""
    marks, depth = [], 0
    for i, ch in enumerate(sddl):
        depth += (ch == "(") - (ch == ")")
        if depth == 0 and ch in "OGDS" and sddl[i + 1:i + 2] == ":":
            marks.append(i)
    if not marks or marks[0] != 0:
        raise SddlError("a security descriptor starts with O:, G:, D: or S:, not %r" % sddl[:20])
    return {sddl[a]: sddl[a + 2:b] for a, b in zip(marks, marks[1:] + [len(sddl)])}


def parse(sddl):
    """(owner SID or None, ACEs of the DACL, or None when there is no DACL: everyone has full access)."""
    if not isinstance(sddl, str) or not sddl:
        raise SddlError("empty security descriptor")
    parts = _components(sddl)
    owner = sid_of(parts["O"]) if "O" in parts else None
    dacl = parts.get("D")
    if dacl is None or "NO_ACCESS_CONTROL" in dacl.split("(", 1)[0]:
        return owner, None
    aces = []
    for body in re.findall(r"\(([^()]*)\)", dacl):
        fields = body.split(";")
        if len(fields) < 6:
            raise SddlError("malformed ACE (%s)" % body)
        aces.append(Ace(fields[0].upper(), [fields[1][i:i + 2].upper() for i in range(0, len(fields[1]), 2)],
                        _mask(fields[2]), sid_of(fields[5])))
    return owner, aces


def token_sids(sid, service):
    """The SIDs assumed in the token of a process running as ``sid`` (see the module docstring)."""
    held = {sid, ALIASES["WD"], ALIASES["AU"], ALIASES["BU"], ALIASES["SU"] if service else ALIASES["IU"]}
    if sid == SYSTEM:
        held.add(ALIASES["BA"])
    return held


def check(owner, aces, sids, right):
    """(allowed, the deciding ACE as text or None): the first ACE for a held SID that names ``right`` decides."""
    if aces is None:
        return True, None
    for ace in aces:
        if "IO" in ace.flags or ace.kind not in ("A", "D"):
            continue
        trustee = owner if ace.sid == OWNER_RIGHTS else ace.sid
        if trustee in sids and ace.mask & right:
            return ace.kind == "A", ace.text()
    return False, None


def inherited(aces, creator, first_level):
    """The ACEs a new folder gets from a parent holding ``aces``: effective ones, then those it passes on.

    ``first_level``: the parent is an existing folder (its NP ACEs still reach this child).
    """
    effective, passed = [], []
    for ace in aces or []:
        if "CI" not in ace.flags or ("NP" in ace.flags and not first_level):
            continue
        flags = ace.flags - {"IO", "ID"}
        effective.append(Ace(ace.kind, (flags - {"OI", "CI", "NP"}) | {"ID"},
                             ace.mask, creator if ace.sid == CREATOR_OWNER else ace.sid))
        if "NP" not in ace.flags:
            passed.append(Ace(ace.kind, flags | {"ID"}, ace.mask, ace.sid))
    return effective, passed


def folder_access(levels, sid, service):
    """Whether the account ``sid`` can get a dump into the folder ``levels`` describes.

    ``levels`` is folder_probe's list: the folder, then its parents up to the
    first that exists. Returns {writable, creatable, checked, ace, reason}:
    ``writable`` (may add a file to the folder, once created), ``creatable``
    (may create the missing folders; None when none is missing), ``checked``
    (the folder whose DACL decided), ``ace`` (the deciding ACE), ``reason``
    (``is_file``, ``unreadable`` or None). Unknown answers are None.
    """
    sids = token_sids(sid, service)
    result = {"writable": None, "creatable": None, "checked": None, "ace": None, "reason": None}
    if not levels:
        return result
    existing = levels[-1]
    if any(level.get("type") == "file" for level in levels):
        result["reason"] = "is_file"
        result["writable"] = False
        return result
    if not existing.get("exists") or not existing.get("sddl"):
        result["reason"] = "unreadable"
        return result
    owner, aces = parse(existing["sddl"])
    result["checked"] = existing["path"]
    if len(levels) == 1:
        result["writable"], result["ace"] = check(owner, aces, sids, FILE_ADD_FILE)
        return result
    # Create each missing level in turn: the creator owns it and it inherits.
    result["creatable"], result["ace"] = check(owner, aces, sids, FILE_ADD_SUBDIRECTORY)
    parent_aces, first = aces, True
    for level in levels[-2::-1]:
        effective, passed = inherited(parent_aces, sid, first)
        if not effective:
            # Nothing to inherit: the creator's default DACL gives it full control.
            effective = [Ace("A", ["ID"], 0x1F01FF, sid)]
        parent_aces, first = passed, False
        owner, aces = sid, effective
        if level is not levels[0] and result["creatable"]:
            result["creatable"], result["ace"] = check(owner, aces, sids, FILE_ADD_SUBDIRECTORY)
    writable, ace = check(owner, aces, sids, FILE_ADD_FILE)
    result["writable"] = writable
    if result["creatable"] is not False:
        result["ace"] = ace
    return result


def _comparable_dacl(text, drop_inherited):
    """A DACL by meaning: its flags without the auto-inherit bits Windows adds, its ACEs in order
    (aliases and SIDs alike, rights as masks), without inherited ones when ``drop_inherited``."""
    flags = text.split("(", 1)[0].replace("AI", "").replace("AR", "")
    _owner, aces = parse("D:" + text)
    return flags, [(a.kind, a.flags, a.mask, a.sid) for a in aces or []
                   if not (drop_inherited and "ID" in a.flags)]


def differences(current, wanted):
    """The parts of ``wanted`` (``owner``, ``group``, ``DACL``) that the descriptor ``current`` lacks.

    Compared as dir_ensure compares them: only the parts ``wanted`` names; a
    DACL that is not protected is met by the explicit ACEs, whatever the
    folder inherits.
    """
    have, want = _components(current), _components(wanted)
    parts = [label for letter, label in (("O", "owner"), ("G", "group"))
             if letter in want and sid_of(want[letter]) != sid_of(have.get(letter, ""))]
    if "D" in want:
        protected = "P" in want["D"].split("(", 1)[0].replace("NO_ACCESS_CONTROL", "")
        if _comparable_dacl(want["D"], False) != _comparable_dacl(have.get("D", ""), not protected):
            parts.append("DACL")
    return parts
