# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet crash triage on the controller: crash_events results of many hosts -> one report.

Crashes are grouped by family key (the signature without versions, so one
bug across releases stays one line), ranked by the number of hosts it
crashed on, then by the number of crashes, then by the latest crash. Each
group says when it was first and last seen, on which versions, what the
exception is called and what to do next. Pure functions only.
"""

from __future__ import annotations

import datetime as dt

from ._image import image_problem, is_sensitive
from ._next_step import advice, command, harvest_command, next_step, suspect

SERIES = 5  # groups drawn on their own in the timeline; the rest are "other"
MAX_BINS = 60
_BIN_WIDTHS = [dt.timedelta(hours=h) for h in (1, 2, 3, 6, 12, 24, 48, 24 * 7, 24 * 14, 24 * 30, 24 * 91, 24 * 365)]
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# Ticks under the timeline: at most this many, one every few bins, so that
# labels of about 11 characters never meet on the 860-unit plot.
MAX_TICKS = 7


def _iso(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def human_time(text):
    """An ISO time as a person reads it: ``3 Dec 2026 21:00 UTC`` (the report keeps the ISO form too)."""
    if not text:
        return None
    moment = _parse(text).astimezone(dt.timezone.utc)
    # Month names by table, not strftime("%b"), which follows the controller's locale.
    return "%d %s %d %02d:%02d UTC" % (moment.day, _MONTHS[moment.month - 1], moment.year, moment.hour, moment.minute)


def _label(moment, seconds):
    """A timeline tick: the day for bins of a day or more, else day and hour."""
    if seconds >= 86400:
        return "%d %s %d" % (moment.day, _MONTHS[moment.month - 1], moment.year)
    return "%d %s %02d:00" % (moment.day, _MONTHS[moment.month - 1], moment.hour)


def _parse(text):
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _version_key(version):
    parts = version.split(".")
    return (0, tuple(int(p) for p in parts), version) if all(p.isdigit() for p in parts) else (1, (), version)


def _group(family, members):
    """One ranked line from the (host, crash) pairs of a family."""
    first = members[0][1]
    times = []
    per_host, latest = {}, {}
    versions, module_versions, signatures, fail_fast, dotnet, buckets = set(), set(), set(), set(), set(), set()
    # One pass over the family's crashes: this runs for every crash of the fleet.
    for host, crash in members:
        per_host[host] = per_host.get(host, 0) + 1
        when = crash["time"]
        if when:
            times.append(when)
            if host not in latest or when > latest[host]["time"]:
                latest[host] = crash
        signatures.add(crash["signature"])
        if crash["app_version"]:
            versions.add(crash["app_version"])
        if crash["module_version"]:
            module_versions.add(crash["module_version"])
        if crash["fail_fast"]:
            fail_fast.add(crash["fail_fast"])
        if crash["dotnet"] and crash["dotnet"].get("exception_type"):
            dotnet.add(crash["dotnet"]["exception_type"])
        if crash["wer"]:
            if crash["wer"].get("exception_type"):  # CLR20r3's P9
                dotnet.add(crash["wer"]["exception_type"])
            if crash["wer"].get("bucket"):
                buckets.add(crash["wer"]["bucket"])
    group = {
        "family": family,
        "kind": first["kind"],
        "image": first["image"],
        "app_name": first["app_name"],
        "module": first["module"],
        "exception_code": first["exception_code"],
        "exception_name": first["exception_name"],
        "offset": first["offset"],
        "victim": bool(first["victim"]),
        "stack_hash": bool(first["stack_hash"]),
        "module_unloaded": bool(first["module_unloaded"]),
        "count": len(members),
        "per_host": per_host,
        "hosts": sorted(per_host),
        "host_count": len(per_host),
        "first_seen": min(times) if times else None,
        "last_seen": max(times) if times else None,
        "versions": sorted(versions, key=_version_key),
        "module_versions": sorted(module_versions, key=_version_key),
        "signatures": sorted(signatures),
        "fail_fast": sorted(fail_fast),
        "dotnet_exceptions": sorted(dotnet),
        "buckets": sorted(buckets),
        # The newest crash per host: where to look for its dump.
        "latest": [{"host": host, "time": c["time"], "time_text": human_time(c["time"]), "pid": c["pid"],
                    "dump_file": c["dump_file"], "local_dump": c["local_dump"]} for host, c in sorted(latest.items())],
    }
    group["first_seen_text"] = human_time(group["first_seen"])
    group["last_seen_text"] = human_time(group["last_seen"])
    group["suspect"] = suspect(group)
    group["command"] = command(group)
    group["harvest_command"] = harvest_command(group)
    group["advice"] = advice(group)
    group["next_step"] = next_step(group)
    return group


def _rank_key(entry):
    return (-entry["host_count"], -entry["count"], _neg_time(entry["last_seen"]), entry.get("family") or entry["image"])


def _neg_time(text):
    # Newer first inside equal hosts and counts: compare on the negated epoch.
    return -(_parse(text) - _EPOCH).total_seconds() if text else 0.0


def _images(groups):
    images = {}
    for group in groups:
        if group["kind"] != "crash" or not group["image"]:
            continue
        key = group["image"].lower()
        entry = images.setdefault(key, {"image": group["image"], "count": 0, "per_host": {}, "families": 0,
                                        "first_seen": None, "last_seen": None})
        entry["count"] += group["count"]
        entry["families"] += 1
        for host, n in group["per_host"].items():
            entry["per_host"][host] = entry["per_host"].get(host, 0) + n
        for field, better in (("first_seen", min), ("last_seen", max)):
            values = [v for v in (entry[field], group[field]) if v]
            entry[field] = better(values) if values else None
    ranked = []
    for entry in images.values():
        entry["hosts"] = sorted(entry["per_host"])
        entry["first_seen_text"] = human_time(entry["first_seen"])
        entry["last_seen_text"] = human_time(entry["last_seen"])
        entry["host_count"] = len(entry["hosts"])
        ranked.append(entry)
    ranked.sort(key=_rank_key)
    for i, entry in enumerate(ranked, 1):
        entry["rank"] = i
    return ranked


def top_image(images):
    """The most widespread crashing image that LocalDumps can be configured for (not a sensitive one)."""
    for entry in images:
        if image_problem(entry["image"]) is None and not is_sensitive(entry["image"]):
            return {k: entry[k] for k in ("image", "hosts", "host_count", "count")}
    return None


def _hour(text):
    return int((_parse(text[:13] + ":00:00Z") - _EPOCH).total_seconds())


def timeline(groups, crashes_by_host, start=None, end=None):
    """Crash counts per time bin for the top groups (by rank) and the rest, at most MAX_BINS bins.

    The bins cover ``start`` to ``end`` (ISO times: the window read) and every
    crash. They are whole multiples of an hour from the Unix epoch, so a
    crash's hour decides its bin.
    """
    series = {g["family"]: i for i, g in enumerate(groups[:SERIES])}
    hours = {}
    for crashes in crashes_by_host.values():
        for crash in crashes:
            if crash["time"]:
                key = (crash["time"][:13], series.get(crash["family"], SERIES))
                hours[key] = hours.get(key, 0) + 1
    if not hours:
        return {"bin_seconds": None, "series": [], "bins": [], "ticks": [], "max": 0}
    starts = {hour: _hour(hour) for hour, _series in hours}
    bounds = list(starts.values()) + [_hour(t) for t in (start, end) if t]
    first, last = min(bounds), max(bounds)
    width = next((w for w in _BIN_WIDTHS if (last - first) / w.total_seconds() < MAX_BINS - 1), _BIN_WIDTHS[-1])
    seconds = int(width.total_seconds())
    base = first // seconds
    counts = [[0] * (SERIES + 1) for _bin in range(last // seconds - base + 1)]
    for (hour, index), n in hours.items():
        counts[starts[hour] // seconds - base][index] += n
    moments = [_EPOCH + dt.timedelta(seconds=(base + i) * seconds) for i in range(len(counts))]
    bins = [{"start": _iso(moment), "start_text": human_time(_iso(moment)), "counts": c, "total": sum(c)}
            for moment, c in zip(moments, counts)]
    every = -(-len(bins) // MAX_TICKS)
    ticks = [{"index": i, "text": _label(moments[i], seconds)} for i in range(0, len(bins), every)]
    labels = [{"rank": g["rank"], "family": g["family"]} for g in groups[:SERIES]]
    if any(c[SERIES] for c in counts):
        labels.append({"rank": None, "family": "other"})
    return {"bin_seconds": seconds, "series": labels, "bins": bins, "ticks": ticks,
            "max": max(b["total"] for b in bins)}


def _crashes_of(result):
    if isinstance(result, list):
        return result
    if isinstance(result, dict) and not result.get("failed") and not result.get("skipped"):
        return result.get("crashes") or []
    return None


def aggregate(results, failed_hosts=None, generated=None):
    """One report from ``{host: crash_events result}`` (or ``{host: [crash, ...]}``).

    Results that failed or were skipped count as failed hosts, and so do the
    names in ``failed_hosts`` (hosts that were unreachable or failed before).
    """
    crashes_by_host = {}
    failed = set(failed_hosts or [])
    truncated, since, unparsed = [], [], {}
    for host, result in results.items():
        crashes = _crashes_of(result)
        if crashes is None:
            failed.add(host)
            continue
        crashes_by_host[host] = crashes
        if isinstance(result, dict):
            if result.get("truncated"):
                truncated.append(host)
            if result.get("since"):
                since.append(result["since"])
            if result.get("unparsed"):
                unparsed[host] = len(result["unparsed"])
    families = {}
    for host, crashes in crashes_by_host.items():
        for crash in crashes:
            families.setdefault(crash["family"], []).append((host, crash))
    ranked = sorted((_group(f, members) for f, members in families.items()), key=_rank_key)
    for i, group in enumerate(ranked, 1):
        group["rank"] = i
    images = _images(ranked)
    generated = generated or _iso(dt.datetime.now(dt.timezone.utc))
    since = min(since) if since else None
    return {
        "generated": generated,
        "generated_text": human_time(generated),
        "since": since,
        "since_text": human_time(since),
        "hosts": sorted(crashes_by_host),
        "hosts_with_crashes": sorted(h for h, c in crashes_by_host.items() if c),
        "failed_hosts": sorted(failed - set(crashes_by_host)),
        "truncated_hosts": sorted(truncated),
        "unparsed": unparsed,
        "crash_count": sum(g["count"] for g in ranked if g["kind"] == "crash"),
        "hang_count": sum(g["count"] for g in ranked if g["kind"] == "hang"),
        "signatures": ranked,
        "images": images,
        "top_image": top_image(images),
        "timeline": timeline(ranked, crashes_by_host, since, generated),
    }
