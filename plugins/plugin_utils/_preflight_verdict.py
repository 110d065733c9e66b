# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The preflight's verdict, in the words a summary needs: will a crash of the image leave a dump, where and of what
type; is the image on the host at all; what does a crash of any other process leave; can the service named for a
restart be restarted. Pure functions on what the preflight read and the values about to be written."""

from __future__ import annotations

import datetime as dt

from . import _gflags, _wer


def other_processes(global_state, planned, guard):
    """What a crash of a process without a LocalDumps key of its own leaves, once ``planned`` is written.

    ``guard``: the writer sets a global DumpCount=0 when it creates LocalDumps (local_dumps' limit_to_image).
    Returns None when no dump is written, else {dump_folder, dump_count, dump_type, source}; source ``global``
    when the host's global LocalDumps values decide it, ``default`` when WER's defaults do (the key exists, or
    is about to be created, with no values of its own).
    """
    if not global_state.exists:
        if not planned or guard:
            return None
        global_state = None
    eff = _wer.effective(global_state, None)
    if eff["DumpCount"]["value"] == 0:
        return None
    source = "global" if any(e["source"] == "global" for e in eff.values()) else "default"
    return {"dump_folder": eff["DumpFolder"]["value"], "dump_count": eff["DumpCount"]["value"],
            "dump_type": _wer.DUMP_TYPE_NAMES.get(eff["DumpType"]["value"], eff["DumpType"]["value"]),
            "source": source}


def image_found(files, instances):
    """Whether the image is anywhere the preflight looked: a file, a service or a running instance."""
    return bool(instances or files["services"] or any(f["exists"] for f in files["files"]))


def _time(text):
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def page_heap(ifeo_state, last_write, instances, planned):
    """Page heap of the image once ``planned`` (a page_heap mode, or None: nothing) is written.

    A process reads its image's IFEO flags when it starts (windows-facts.md), so a running instance has the
    flags written before its start: it lacks page heap written after it started (or about to be written).
    ``last_write``: the IFEO key's last write time. Returns {mode, pending}: pending lists the running instances
    that do not have it yet (one whose start time is unknown counts as pending).
    """
    try:
        mask = _gflags.parse_number(ifeo_state.value("GlobalFlag") if ifeo_state.exists else None)
        flags = _gflags.parse_number(ifeo_state.value("PageHeapFlags") if ifeo_state.exists else None)
        now = _gflags.page_heap_mode(mask, flags)
    except ValueError:
        now = "off"
    mode = planned or now
    if mode == "off":
        return {"mode": mode, "pending": []}
    written = _time(last_write)
    pending = [p for p in instances if mode != now or written is None or p.get("start_time") is None
               or _time(p["start_time"]) < written]
    return {"mode": mode, "pending": [{k: p.get(k) for k in ("pid", "start_time", "services")} for p in pending]}


def verdict(findings, eff, locations, found, others, heap=None):
    """{dump, blockers, dump_type, dump_count, files, image_found, other_processes, page_heap}."""
    blockers = [f["message"] for f in findings if f["severity"] == "blocker"]
    files = []
    for loc in locations:
        if loc["file_pattern"] and loc["file_pattern"] not in files:
            files.append(loc["file_pattern"])
    dump = not blockers and bool(files)
    return {"dump": dump, "blockers": blockers,
            "dump_type": _wer.DUMP_TYPE_NAMES.get(eff["DumpType"]["value"], eff["DumpType"]["value"]),
            "dump_count": eff["DumpCount"]["value"], "files": files, "image_found": found,
            "other_processes": others, "page_heap": heap}


def restart_service_findings(add, service, exe, instances):
    """Findings about the service to restart, from its service_state: it must exist and may not be disabled."""
    name = service["name"]
    if not service.get("exists"):
        add("restart_service_missing", "warning",
            "There is no service named %r on the host, so it cannot be restarted for page heap to take effect."
            % name, {"service": service},
            "Give restart_service the service's name as Get-Service lists it (its Name, not its display name).")
        return
    if str(service.get("start_mode") or "").casefold() == "disabled":
        add("restart_service_disabled", "warning",
            "The service %s is disabled: it cannot be started again after a restart." % name, {"service": service},
            "Set-Service -Name %s -StartupType Manual, or name another service." % name)
        return
    pids = {p["pid"] for p in instances}
    if service.get("pid") and service["pid"] not in pids:
        add("restart_service_other_image", "warning",
            "The service %s runs as pid %s, which is not an instance of %s: restarting it does not give %s page "
            "heap." % (name, service["pid"], exe, exe), {"service": service, "instances": sorted(pids)},
            "Name the service whose process is %s." % exe)
