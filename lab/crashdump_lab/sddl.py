"""A small SDDL model: enough to store what dir_ensure is given, compute what a
new folder or file inherits, and decide whether an account may add a file.

Not modelled: conditional ACEs, object ACEs, mandatory labels (the SACL is kept
as text), privileges such as SeBackupPrivilege that bypass the DACL. Who may be
made owner is decided by the writer's token (accounts.Token.may_own)."""

from __future__ import annotations

import re

ALIASES = {
    "WD": "S-1-1-0", "CO": "S-1-3-0", "CG": "S-1-3-1", "OW": "S-1-3-4", "IU": "S-1-5-4", "SU": "S-1-5-6",
    "AU": "S-1-5-11", "SY": "S-1-5-18", "LS": "S-1-5-19", "NS": "S-1-5-20", "BA": "S-1-5-32-544",
    "BU": "S-1-5-32-545", "BG": "S-1-5-32-546", "PU": "S-1-5-32-547",
}
CREATOR_OWNER = ALIASES["CO"]

_RIGHTS = {
    "CC": 0x1, "DC": 0x2, "LC": 0x4, "SW": 0x8, "RP": 0x10, "WP": 0x20, "DT": 0x40, "LO": 0x80, "CR": 0x100,
    "SD": 0x10000, "RC": 0x20000, "WD": 0x40000, "WO": 0x80000,
    "GA": 0x10000000, "GX": 0x20000000, "GW": 0x40000000, "GR": 0x80000000,
    "FA": 0x1F01FF, "FR": 0x120089, "FW": 0x120116, "FX": 0x1200A0,
    "KA": 0xF003F, "KR": 0x20019, "KW": 0x20006, "KX": 0x20019,
}
# File-object generic mapping: what GA/GR/GW/GX mean once an ACE lands on a file or folder.
_GENERIC = {0x10000000: 0x1F01FF, 0x80000000: 0x120089, 0x40000000: 0x120116, 0x20000000: 0x1200A0}
_NAMED = {0x1F01FF: "FA", 0x120089: "FR", 0x120116: "FW", 0x1200A0: "FX"}
FILE_ADD_FILE = 0x2
_ACE = re.compile(r"\(([^()]*)\)")
_COMPONENTS = "OGDS"


class SddlError(ValueError):
    pass


def sid(text):
    """Canonical SID string for an alias or a SID."""
    return ALIASES.get(text.upper(), text.upper())


def split(text):
    """{'O': owner, 'G': group, 'D': dacl text, 'S': sacl text} for the components present."""
    if not isinstance(text, str) or not text:
        raise SddlError("empty security descriptor")
    marks = []
    depth = 0
    for i, ch in enumerate(text):
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0 and ch in _COMPONENTS and text[i + 1:i + 2] == ":":
            marks.append(i)
    if not marks or marks[0] != 0:
        raise SddlError("the security descriptor must start with O:, G:, D: or S:")
    parts = {}
    for start, end in zip(marks, marks[1:] + [len(text)]):
        letter = text[start]
        if letter in parts:
            raise SddlError("component %s: given twice" % letter)
        parts[letter] = text[start + 2:end]
    for letter in "OG":
        if letter in parts and not re.fullmatch(r"[A-Z]{2}|S-1(-\d+)+", parts[letter], re.IGNORECASE):
            raise SddlError("invalid %s: component %r" % (letter, parts[letter]))
    for letter in "DS":
        if letter in parts:
            parse_acl(parts[letter])
    return parts


def join(parts):
    return "".join("%s:%s" % (c, parts[c]) for c in _COMPONENTS if c in parts)


def validate(text):
    split(text)


def parse_acl(acl):
    """(flags, [ace fields]) where an ace is [type, flags, rights, object, inherit_object, sid]."""
    first = acl.find("(")
    flags = acl if first < 0 else acl[:first]
    body = "" if first < 0 else acl[first:]
    if not re.fullmatch(r"(P|AI|AR|NO_ACCESS_CONTROL)*", flags):
        raise SddlError("invalid ACL flags %r" % flags)
    aces = _ACE.findall(body)
    if _ACE.sub("", body):
        raise SddlError("invalid ACE list %r" % body)
    parsed = []
    for ace in aces:
        fields = ace.split(";")
        if len(fields) < 6 or fields[0] not in ("A", "D", "AU", "AL", "OA", "OD", "ML", "XA", "XD"):
            raise SddlError("invalid ACE (%s)" % ace)
        if not re.fullmatch(r"([A-Z]{2})*", fields[1]):
            raise SddlError("invalid ACE flags in (%s)" % ace)
        rights_mask(fields[2])
        parsed.append(fields[:6])
    return flags, parsed


def _flags(text):
    return [text[i:i + 2] for i in range(0, len(text), 2)]


def rights_mask(text):
    if re.fullmatch(r"0[xX][0-9a-fA-F]+|\d+", text):
        return int(text, 0)
    codes = _flags(text)
    if len(text) % 2 or any(c not in _RIGHTS for c in codes):
        raise SddlError("invalid access rights %r" % text)
    mask = 0
    for code in codes:
        mask |= _RIGHTS[code]
    return mask


def _map_generic(mask):
    for generic, specific in _GENERIC.items():
        if mask & generic:
            mask = (mask & ~generic) | specific
    return mask


def _rights_text(mask):
    return _NAMED.get(mask, "0x%x" % mask)


def inherit(parent_sddl, container, owner, group=None):
    """The descriptor a new folder (``container``) or file created by ``owner`` gets below ``parent_sddl``.

    Effective inherited ACEs get the ID flag and generic rights mapped to file
    rights; CREATOR OWNER becomes ``owner``; NP stops further propagation.
    """
    parts = split(parent_sddl)
    aces = []
    if "D" in parts:
        for kind, flags, rights, obj, inh, who in parse_acl(parts["D"])[1]:
            codes = set(_flags(flags))
            oi, ci, np = "OI" in codes, "CI" in codes, "NP" in codes
            applies = ci if container else oi
            if applies:
                effective_sid = owner if sid(who) == CREATOR_OWNER else who
                mapped = _rights_text(_map_generic(rights_mask(rights)))
                keep = [] if (np or not container) else [f for f in ("OI", "CI") if f in codes]
                if sid(who) == CREATOR_OWNER:
                    aces.append([kind, "ID", mapped, obj, inh, effective_sid])
                    if keep:
                        aces.append([kind, "".join(keep) + "IOID", rights, obj, inh, who])
                else:
                    aces.append([kind, "".join(keep) + "ID", mapped, obj, inh, who])
            elif container and oi and not np:
                aces.append([kind, "OIIOID", rights, obj, inh, who])
    # The group of a new object comes from the creator's token; the creator stands in for it.
    child = {"O": owner, "G": group or owner,
             "D": "AI" + "".join("(%s)" % ";".join(a) for a in aces)}
    return join(child)


def allows_add_file(sddl_text, token_sids):
    """Whether a token holding ``token_sids`` may create a file in the folder.

    ACEs are walked in order; the first one that mentions FILE_ADD_FILE decides
    (deny or allow), as in a canonical DACL. No DACL at all means full access.
    """
    parts = split(sddl_text)
    if "D" not in parts:
        return True
    flags, aces = parse_acl(parts["D"])
    if "NO_ACCESS_CONTROL" in flags:
        return True
    owner = sid(parts.get("O", ""))
    held = {sid(s) for s in token_sids}
    for kind, ace_flags, rights, _obj, _inh, who in aces:
        if "IO" in _flags(ace_flags) or kind not in ("A", "D"):
            continue
        trustee = sid(who)
        if trustee in (CREATOR_OWNER, ALIASES["OW"]):
            trustee = owner
        if trustee not in held or not _map_generic(rights_mask(rights)) & FILE_ADD_FILE:
            continue
        return kind == "A"
    return False


def _comparable_dacl(text, drop_inherited):
    """A DACL as Windows means it: flags without the auto-inherit bits, ACEs by
    meaning (aliases and SIDs alike, rights as masks), optionally without inherited ones."""
    flags, aces = parse_acl(text)
    flags = flags.replace("AR", "").replace("AI", "")
    return flags, [(kind, frozenset(_flags(f)), rights_mask(r), o.upper(), i.upper(), sid(who))
                   for kind, f, r, o, i, who in aces if not (drop_inherited and "ID" in _flags(f))]


def apply(current, wanted, inherited_aces):
    """(descriptor, changed) after asking for ``wanted`` on an object holding ``current``.

    Only the components ``wanted`` names are compared and written. A written
    DACL is auto-inherited (AI); unless protected (P) it keeps
    ``inherited_aces``, the ACEs the object inherits from its parent.
    """
    have, want = split(current), split(wanted)
    new = dict(have)
    changed = False
    for letter in "OG":
        if letter in want and sid(want[letter]) != sid(have.get(letter, "")):
            new[letter] = want[letter]
            changed = True
    if "D" in want:
        protected = "P" in parse_acl(want["D"])[0]
        if _comparable_dacl(want["D"], False) != _comparable_dacl(have.get("D", ""), not protected):
            explicit = [a for a in parse_acl(want["D"])[1] if "ID" not in _flags(a[1])]
            aces = explicit + ([] if protected else inherited_aces)
            new["D"] = ("P" if protected else "") + "AI" + "".join("(%s)" % ";".join(a) for a in aces)
            changed = True
    return join(new), changed


def inherited_aces(parent_sddl, owner):
    """The inherited ACEs a new folder below ``parent_sddl`` gets."""
    return parse_acl(split(inherit(parent_sddl, True, owner))["D"])[1]
