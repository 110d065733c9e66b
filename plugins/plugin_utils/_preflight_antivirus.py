# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Preflight findings about antivirus: the products Security Center lists, Microsoft Defender's signatures, and
whether its real-time protection scans the dump folders."""

from __future__ import annotations

import re

from ._preflight_location import ENV_VAR
from ._registry import fold

SIGNATURE_AGE_DAYS = 7


def _expand(text, env):
    folded = {k.casefold(): v for k, v in env.items() if isinstance(v, str)}
    folded.setdefault("allusersprofile", folded.get("programdata"))
    return ENV_VAR.sub(lambda m: folded.get(m.group(1).casefold()) or m.group(0), text)


def excluded(folder, exclusions, env):
    """Whether Defender's path exclusions cover ``folder``: an excluded folder covers what is below it; * and ?
    match within the path; an exclusion matching the dump files themselves (``C:\\WER\\*.dmp``) counts."""
    parts = fold(folder.rstrip("\\")).split("\\")
    candidates = ["\\".join(parts[:i]) for i in range(1, len(parts) + 1)] + ["\\".join(parts) + "\\x.dmp"]
    for raw in exclusions:
        text = fold(_expand(raw, env).rstrip("\\"))
        pattern = re.compile(re.escape(text).replace("\\*", ".*").replace("\\?", "."))
        if any(pattern.fullmatch(c) for c in candidates):
            return True
    return False


def _product_state(state):
    """(enabled, up to date) from Security Center's productState (the decoding the community uses)."""
    if not isinstance(state, int):
        return None, None
    return (state >> 12) & 0xF == 1, (state >> 4) & 0xF == 0


def antivirus_findings(found, defender, av, folders, env):
    parts = []
    if av.get("available"):
        listed = []
        for product in av.get("products") or []:
            enabled, current = _product_state(product.get("product_state"))
            listed.append("%s (%s, %s)" % (product.get("name"), "on" if enabled else "off",
                                           "up to date" if current else "out of date"))
            if enabled is False or current is False:
                found.add("antivirus_outdated", "warning", "The antivirus product %s reports that it is %s." % (
                    product.get("name"), "turned off" if enabled is False else "out of date"), {"product": product},
                    "Bring it up to date and turn it on, as the Microsoft crash troubleshooting guidance asks.")
        parts.append("Security Center lists %s" % (", ".join(listed) or "no antivirus product"))
    else:
        parts.append("Security Center: %s" % av.get("reason"))
    if not defender.get("available"):
        parts.append("Microsoft Defender: %s" % defender.get("reason"))
    else:
        mode = defender.get("am_running_mode") or "unknown mode"
        parts.append("Microsoft Defender: real-time protection %s, %s, signatures %s days old" % (
            {True: "on", False: "off"}.get(defender.get("real_time_protection"), "unknown"), mode,
            defender.get("signature_age_days")))
        age = defender.get("signature_age_days")
        if isinstance(age, int) and age > SIGNATURE_AGE_DAYS:
            found.add("antivirus_outdated", "warning", "Microsoft Defender's signatures are %d days old." % age,
                      {"defender": defender}, "Update-MpSignature")
        scanning = defender.get("real_time_protection") and "passive" not in mode.casefold()
        if not defender.get("exclusions_visible"):
            parts.append("its exclusions are hidden from local administrators, so whether the dump folder is "
                         "excluded is unknown")
        elif scanning:
            scanned = sorted({f for f in folders if not excluded(f, defender.get("exclusion_paths") or [], env)},
                             key=fold)
            if scanned:
                found.add("defender_scans_dump_folder", "warning",
                          "Microsoft Defender real-time protection scans %s: a dump of several GiB is scanned as it "
                          "is written, which slows the write, can lock the file, and can quarantine it." %
                          " and ".join(scanned), {"folders": scanned,
                                                  "exclusion_paths": defender.get("exclusion_paths")},
                          "; ".join('Add-MpPreference -ExclusionPath "%s"' % f for f in scanned) +
                          " (the dumps hold process memory: keep the folder readable by administrators only).")
    found.add("antivirus", "info", "; ".join(parts) + ".", {"defender": defender, "security_center": av})
