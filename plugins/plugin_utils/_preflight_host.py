# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Preflight findings about the host and the image: Windows version and its newest update, the image's files
and running instances."""

from __future__ import annotations

from ._image import is_sensitive

UPDATE_AGE_DAYS = 60


def os_findings(found, os_facts, updates):
    newest = updates.get("newest")
    text = "%s, version %s (build %s), %s; PowerShell %s in %s mode" % (
        os_facts.get("os_name"), os_facts.get("version"), os_facts.get("build"), os_facts.get("arch"),
        os_facts.get("ps_version"), os_facts.get("language_mode"))
    if newest:
        text += "; newest installed update %s of %s (%s days ago)" % (
            newest["id"], newest["installed_on"], updates.get("age_days"))
    else:
        text += "; no installed update has an installation date"
    text += "."
    found.add("os", "info", text, {"os_name": os_facts.get("os_name"), "version": os_facts.get("version"),
                                   "build": os_facts.get("build"), "arch": os_facts.get("arch"),
                                   "updates": updates})
    fix = ("Install the latest cumulative update (Windows Update or your patch tool) before collecting dumps, as "
           "the Microsoft crash troubleshooting guidance asks: the crash may already be fixed.")
    if not updates.get("count"):
        found.add("os_updates_old", "warning", "No installed update is listed on the host.", {"updates": updates},
                  fix)
    elif newest and (updates.get("age_days") or 0) > UPDATE_AGE_DAYS:
        found.add("os_updates_old", "warning", "The newest installed update, %s, is %d days old (installed %s)." % (
            newest["id"], updates["age_days"], newest["installed_on"]), {"updates": updates}, fix)


def image_findings(found, exe, files, processes, memory):
    """Findings about the image itself; returns its running instances."""
    if is_sensitive(exe):
        found.add("sensitive_image", "warning",
                  "%s is a sensitive system process: its dumps hold credentials, and security products alert on "
                  "dumping it; local_dumps, gflags and the enable role refuse it unless allow_sensitive_image=true."
                  % exe, {"image": exe},
                  "Collect dumps of it only with a reason and approval, and protect them like passwords.")
    present = [f for f in files["files"] if f["exists"]]
    missing = [f for f in files["files"] if not f["exists"]]
    if present:
        text = "%s is installed at %s." % (exe, "; ".join(
            "%s (version %s; %s)" % (f["path"], f["version"] or "unknown", ", ".join(f["sources"]))
            for f in present))
        versions = sorted({f["version"] for f in present if f["version"]})
        if len(versions) > 1:
            text += " The copies differ in version (%s): the crash may come from an older copy." % ", ".join(versions)
    else:
        text = ("%s was not found in System32, SysWOW64, App Paths, the services or the running processes; give "
                "paths where it is installed to check its version." % exe)
    if missing:
        text += " Registered but missing: %s." % "; ".join(
            "%s (%s)" % (f["path"], ", ".join(f["sources"])) for f in missing)
    found.add("image_files", "info", text, {"files": files["files"], "services": files["services"]},
              "Check that %s is the vendor's latest version, as the Microsoft guidance asks." % exe if present else
              None)
    private = {p["pid"]: p["private_bytes"] for p in memory["processes"]}
    instances = [dict(p, private_bytes=private.get(p["pid"])) for p in processes["processes"]]
    if instances:
        text = "%d running instance%s of %s: %s." % (len(instances), "" if len(instances) == 1 else "s", exe, "; ".join(
            "pid %s started %s as %s%s" % (p["pid"], p["start_time"], p["account"] or "an unknown account",
                                           " (service %s)" % ", ".join(p["services"]) if p["services"] else "")
            for p in instances))
    else:
        text = "%s is not running." % exe
    found.add("image_instances", "info", text, {"instances": instances})
    return instances
