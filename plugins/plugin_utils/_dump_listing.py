# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The dumps of some images on a host, against what the controller holds: find, classify, remove verified copies.

Shared by fetch_dumps (which then fetches what is new) and, as a plan (see
_plan), by dump_capture's state=absent, which lists what cleanup leaves on
the host and removes the dumps already harvested in the same apply batch as
the registry's undo.
"""

from __future__ import annotations

import datetime as dt

from . import _harvest
from ._base import ModuleFailure
from ._plan import Plan
from ._registry import fold

MAX_EVENTS = 1000
# Event 1000 is logged just before WER writes the dump.
EVENT_SLACK = dt.timedelta(hours=1)
# What a dump's result shows.
PUBLIC_KEYS = ("remote_path", "image", "pid", "size", "sha256", "mtime", "profile", "status", "local_path",
               "duplicate_of", "event", "error", "removed_from_host", "found_by")


def find_ops(images, extra_folders, since):
    """The reads that find the dumps (hashed) and the Event 1000 records they may belong to."""
    sources = _harvest.search_sources(images, extra_folders)
    return [
        {"op": "file_find", "folders": [source[1] for source in sources], "profile_vars": _harvest.PROFILE_VARS,
         "patterns": _harvest.patterns(images), "since": _harvest.iso(since) if since else None, "sha256": True},
        # The provider is matched on the controller (match_event), as crash_events does: Get-WinEvent fails
        # the whole query when a provider it is asked for is not registered.
        {"op": "event_query", "log": "Application", "providers": [], "ids": [1000],
         "since": _harvest.iso(since - EVENT_SLACK) if since else None, "max_events": MAX_EVENTS},
    ]


def load_manifest(folder, host):
    try:
        return _harvest.Manifest.load(folder, host)
    except (OSError, ValueError) as e:
        raise ModuleFailure("cannot read the manifest in %s: %s" % (folder, e)) from None


def classify(warn, found, events, images, extra_folders, manifest, trust_manifest, fetch_new):
    """The dumps found, each with its status against the manifest, and those to fetch (when ``fetch_new``)."""
    if events.get("truncated"):
        oldest = min((e["time"] for e in events["events"] if e.get("time")), default=None)
        warn("the Application log holds more than %d Event 1000 records in the period searched: only those back "
             "to %s were read, so an older dump may be reported without its event" % (MAX_EVENTS, oldest))
    labels = [source[0] for source in _harvest.search_sources(images, extra_folders)]
    dumps, problems = _harvest.collect(found, labels, images)
    for problem in problems:
        warn(problem)
    for d in dumps:
        d["event"] = _harvest.match_event(d, events["events"])
    candidates, firsts = [], {}
    for d in dumps:
        if d.get("status") == "being_written":
            continue
        entry = manifest.held(d["sha256"], trust=trust_manifest)
        if entry is not None:
            d["status"] = "held"
            if manifest.has_file(entry):
                d["local_path"] = manifest.local_path(entry)
        elif d["sha256"] in firsts:
            d.update(status="duplicate", duplicate_of=firsts[d["sha256"]]["remote_path"])
        elif not fetch_new:
            d["status"] = "not_harvested"
        else:
            firsts[d["sha256"]] = d
            candidates.append(d)
    return dumps, candidates


def verified(dumps, fetched, warn):
    """The dumps whose controller copy is verified: fetched now (``fetched``: their hashes), or held and hashed
    again now; a held copy that no longer matches is named and kept."""
    verified_shas = set(fetched)
    for d in dumps:
        if d["status"] == "held" and d["sha256"] not in verified_shas:
            if "local_path" not in d:
                # Held by the manifest only (trust_manifest): nothing here to verify.
                continue
            if _harvest.sha256_file(d["local_path"]) == d["sha256"]:
                verified_shas.add(d["sha256"])
            else:
                warn("the controller copy %s of %s no longer matches its hash: the remote copy is kept"
                     % (d["local_path"], d["remote_path"]))
    return [d for d in dumps if d["sha256"] in verified_shas and d["status"] in ("fetched", "held", "duplicate")]


def mark_removed(d, manifest):
    d["removed_from_host"] = True
    entry = manifest.by_sha(d["sha256"])
    if entry is not None:
        entry["removed_from_host"] = True


def public(d):
    return {k: d[k] for k in PUBLIC_KEYS if k in d}


class ListDumpsPlan(Plan):
    """The dumps of ``images`` left on the host; with ``remove``, those harvested and verified are removed.

    ``action`` gives ``warn`` and ``check_mode``; ``folder`` is the host's folder under the harvest destination.
    """

    def __init__(self, action, images, folder, host, remove):
        super().__init__()
        self.action, self.images, self.folder, self.host, self.remove = action, images, folder, host, remove
        # Filled when planned: the folded paths this plan removes, for the plans after it.
        self.removing = set()

    def reads(self):
        return find_ops(self.images, [], None)

    def plan(self, datas, snap, journal):
        self.found, events = datas
        self.manifest = load_manifest(self.folder, self.host)
        self.dumps = classify(self.action.warn, self.found, events, self.images, [], self.manifest, False, False)[0]
        self.targets = verified(self.dumps, (), self.action.warn) if self.remove else []
        self.ops = [{"op": "file_remove", "path": d["remote_path"]} for d in self.targets]
        self.removing.update(fold(d["remote_path"]) for d in self.targets)

    def report(self, results):
        removed = []
        for d in self.targets if results is not None else ():
            mark_removed(d, self.manifest)
            removed.append(d["remote_path"])
        if removed:
            self.manifest.save()
        result = {"dest": self.folder, "manifest": self.manifest.path, "dumps": [public(d) for d in self.dumps],
                  "removed": removed,
                  "searched": [{"path": f["path"], "exists": f["exists"], "profile": f["profile"]}
                               for f in self.found["folders"]]}
        if self.action.check_mode:
            result["would_remove"] = [d["remote_path"] for d in self.targets]
        return result
