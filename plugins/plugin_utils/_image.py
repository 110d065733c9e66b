# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Image (executable file) names as WER LocalDumps and IFEO key them."""

from __future__ import annotations

import re

# Dumping or hooking these is what credential thieves and persistence tools
# do; EDR products alert on it. Refused unless explicitly allowed.
SENSITIVE_IMAGES = frozenset(
    ["lsass.exe", "csrss.exe", "wininit.exe", "winlogon.exe", "smss.exe", "services.exe"])

_FORBIDDEN = re.compile(r'[\x00-\x1f<>:"/\\|?*]')
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)


def image_problem(name):
    """Why ``name`` is not a usable image file name, or None."""
    if not isinstance(name, str) or not name.strip():
        return "the image name is empty"
    if "\\" in name or "/" in name:
        return "%r is a path: give the file name only, e.g. netsh.exe" % name
    if "*" in name or "?" in name:
        return "%r has a wildcard: give one file name, e.g. netsh.exe" % name
    bad = _FORBIDDEN.search(name)
    if bad:
        return "%r has the character %r, which Windows forbids in file names" % (name, bad.group())
    if name != name.strip() or name.endswith("."):
        return "%r starts or ends with a space or ends with a dot, which Windows strips" % name
    if _RESERVED.match(name):
        return "%r is a reserved device name" % name
    if len(name) > 255:
        return "the image name is longer than 255 characters"
    if "." not in name.strip("."):
        # WER LocalDumps and IFEO both match the image's exact file name, extension included
        # (windows-facts.md): "netsh" never matches netsh.exe.
        return ("%r has no extension: WER and IFEO match the image's exact file name, such as %s.exe"
                % (name, name))
    return None


def is_sensitive(name):
    return name.casefold() in SENSITIVE_IMAGES


def image_refusal(option, name, allow_sensitive, risk):
    """Why the module must refuse ``name`` given as ``option``, or None.

    ``risk`` says what the module would do to a sensitive image.
    """
    problem = image_problem(name)
    if problem:
        return "%s: %s" % (option, problem)
    if is_sensitive(name) and not allow_sensitive:
        return ("%s: %s is a sensitive system process; %s. Set allow_sensitive_image=true if you really mean it."
                % (option, name, risk))
    return None
