# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""fetch_dumps without the host: where WER may have put dumps, which to move,
and the controller's side of a transfer (receive, verify, write, manifest).

Nothing here talks to the host; the action plugin does, and hands the host's
answers to these functions.
"""

from __future__ import annotations

import datetime as dt
import errno
import gzip
import hashlib
import json
import os
import re
import shutil
import tempfile
import zlib

from . import _dump_folders, _events, _wer
from ._ntstatus import parse_code, parse_hex

# winrm's fetch_file moves this much per round trip.
FETCH_CHUNK = 512 * 1024
# The agent account's private folder for compressed copies (agent op temp_dir).
TEMP_NAME = "crashdump.windows-harvest"
MANIFEST = "manifest.json"
MANIFEST_VERSION = 1
DEFAULT_SUBFOLDER = "AppData\\Local\\CrashDumps"
# How each per-account variable of a DumpFolder continues below a profile
# folder (the layout _wer.expand_for_account assumes); None: not expressible.
PROFILE_SUFFIXES = {"userprofile": "", "localappdata": "AppData\\Local", "appdata": "AppData\\Roaming",
                    "temp": "AppData\\Local\\Temp", "tmp": "AppData\\Local\\Temp"}
PROFILE_VARS = {name.upper(): PROFILE_SUFFIXES.get(name) for name in sorted(_wer.PER_ACCOUNT_VARIABLES)}
_DURATION = re.compile(r"(\d+)\s*([smhdw]?)", re.IGNORECASE)
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DUMP_NAME = re.compile(r"(?P<image>.+)\.(?P<pid>\d+)\.dmp", re.IGNORECASE)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


class VerifyError(Exception):
    """The bytes that arrived are not the dump the host hashed."""


class DiskFull(Exception):
    """The controller ran out of space while writing."""


# -- where to look --------------------------------------------------------------


def search_sources(images, extra_folders=()):
    """[(label, file_find folder spec)]: every place WER may have written a dump of ``images``.

    The DumpFolder values of each image key and of the global key in both
    registry views (all of them, not only the one in effect: dumps written
    under an earlier setting are found too), the default folder in every
    profile, the built-in service accounts' default folders (in case a
    profile is missing from ProfileList), the folders local_dumps configured
    (remembered after cleanup restored LocalDumps), then ``extra_folders``.
    """
    sources = []
    for key, scope in [(_wer.image_key(i), i) for i in images] + [(_wer.LOCAL_DUMPS, "global")]:
        for view in (64, 32):
            sources.append(("DumpFolder of LocalDumps %s (%d-bit view)" % (scope, view),
                            {"key": key, "view": view, "name": "DumpFolder"}))
    for scope in list(images) + [_dump_folders.GLOBAL]:
        sources.append(("folder the collection configured for %s" % scope, _dump_folders.source(scope)))
    sources.append(("default folder of every profile", {"path": "%LOCALAPPDATA%\\CrashDumps"}))
    for profile in sorted(set(_wer.SERVICE_PROFILES.values())):
        sources.append(("default folder of %s" % profile.rsplit("\\", 1)[1],
                        {"path": profile + "\\" + DEFAULT_SUBFOLDER}))
    for folder in extra_folders or ():
        sources.append(("extra folder", {"path": folder}))
    return sources


def patterns(images):
    return ["%s.*.dmp" % image for image in images]


def parse_duration(value):
    """Seconds from ``90``, ``45s``, ``30m``, ``12h``, ``7d`` or ``2w``; None for None."""
    if value is None:
        return None
    m = _DURATION.fullmatch(str(value).strip())
    if not m:
        raise ValueError("%r is not a duration such as 90, 45s, 30m, 12h, 7d or 2w" % (value,))
    return int(m.group(1)) * _UNITS[m.group(2).lower()]


def iso(moment):
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (moment.microsecond // 1000)


def parse_iso(text):
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


# -- what was found ---------------------------------------------------------------


def identify(name, images):
    """(image, pid) of a dump file name ``<image>.<pid>.dmp``; pid None when the name has none."""
    m = _DUMP_NAME.fullmatch(name)
    by_fold = {i.casefold(): i for i in images}
    if m and m.group("image").casefold() in by_fold:
        return by_fold[m.group("image").casefold()], int(m.group("pid"))
    # Longest image first: app.exe.helper.exe.dmp belongs to app.exe.helper.exe.
    for image in sorted(images, key=len, reverse=True):
        if name.casefold().startswith(image.casefold() + "."):
            return image, None
    return None, None


# A dump WerFault still holds open (no read sharing) cannot be read yet: never fetched partly.
BEING_WRITTEN = "%s is still being written (WerFault holds it open): skipped, fetch it later"


def is_locked(error):
    """Whether an agent error is ERROR_SHARING_VIOLATION (32) or ERROR_LOCK_VIOLATION (33) on an IOException."""
    code = error.get("hresult")
    return error.get("type") == "System.IO.IOException" and isinstance(code, int) and code & 0xFFFF in (32, 33)


def collect(found, labels, images):
    """Dumps from a file_find result, one per remote path, newest first; and problems to warn about.

    Each dump: remote_path, name, image, pid, size, sha256, mtime, ctime,
    profile (SID or None), found_by (labels of the sources naming its folder).
    """
    dumps, problems, seen = [], [], set()
    for source, label in zip(found["sources"], labels):
        if source.get("skipped"):
            problems.append("%s is %s: %s; it was not searched" % (label, source["template"], source["skipped"]))
    for folder in found["folders"]:
        if folder.get("error"):
            problems.append("cannot list %s: %s" % (folder["path"], folder["error"]))
            continue
        for f in folder["files"]:
            if f["path"].casefold() in seen:
                continue
            seen.add(f["path"].casefold())
            if f.get("locked"):
                image, pid = identify(f["name"], images)
                if image is not None:
                    problems.append(BEING_WRITTEN % f["path"])
                    dumps.append({"remote_path": f["path"], "name": f["name"], "image": image, "pid": pid,
                                  "size": f["size"], "sha256": None, "mtime": f["mtime"], "ctime": f["ctime"],
                                  "profile": folder.get("profile"), "status": "being_written",
                                  "found_by": sorted({labels[i] for i in folder["sources"]})})
                continue
            if f.get("error") or not f.get("sha256"):
                problems.append("cannot read %s (%s): skipped, try again later" % (
                    f["path"], f.get("error") or "no hash"))
                continue
            image, pid = identify(f["name"], images)
            if image is None:
                continue
            dumps.append({"remote_path": f["path"], "name": f["name"], "image": image, "pid": pid,
                          "size": f["size"], "sha256": f["sha256"], "mtime": f["mtime"], "ctime": f["ctime"],
                          "profile": folder.get("profile"),
                          "found_by": sorted({labels[i] for i in folder["sources"]})})
    dumps.sort(key=lambda d: (d["mtime"], d["remote_path"].casefold()), reverse=True)
    return dumps, problems


def _norm_app(name):
    return str(name or "").replace("\u200e", "").replace("\u200f", "").strip().casefold()


def event_summary(event):
    """The fields of an Event 1000 (Application Error) record that identify the crash."""
    p = list(event.get("properties") or []) + [None] * 15

    def code(value):
        try:
            return "0x%08x" % parse_code(value) if value not in (None, "") else None
        except ValueError:
            return str(value)
    return {"record_id": event.get("record_id"), "time": event.get("time"), "app": p[0], "app_version": p[1],
            "module": p[3], "module_version": p[4], "exception_code": code(p[6]), "fault_offset": p[7],
            "app_path": p[10], "module_path": p[11], "report_id": p[12]}


def match_event(dump, events):
    """The Event 1000 of the crash that wrote ``dump``: same image and pid, the closest in time."""
    if dump["pid"] is None:
        return None
    image = dump["image"].casefold()
    written = parse_iso(dump["mtime"])
    best = None
    for event in events:
        props = event.get("properties") or []
        provider = (event.get("provider") or "").lower()
        if len(props) < 9 or not event.get("time") or provider != _events.PROVIDERS[_events.APPLICATION_ERROR]:
            continue
        app = _norm_app(props[0])
        if app != image and not app.startswith(image + "_"):
            continue
        try:
            if parse_hex(props[8]) != dump["pid"]:
                continue
        except ValueError:
            continue
        distance = abs((parse_iso(event["time"]) - written).total_seconds())
        if best is None or distance < best[0]:
            best = (distance, event)
    return event_summary(best[1]) if best else None


# -- what to move -----------------------------------------------------------------


def fetch_round_trips(size):
    """winrm fetch_file round trips for a file: one per chunk, and one more
    (empty) when the size is an exact multiple of the chunk."""
    return size // FETCH_CHUNK + 1


def select(dumps, limit):
    """(selected, deferred): newest first, whole dumps only, wire bytes within ``limit`` (None: no limit)."""
    selected, deferred, total = [], [], 0
    for d in dumps:
        if limit is not None and total + d["wire"]["size"] > limit:
            deferred.append(d)
            continue
        total += d["wire"]["size"]
        selected.append(d)
    return selected, deferred


def space_needed(dumps):
    """Controller bytes a transfer of ``dumps`` needs at its peak: every dump,
    plus the largest compressed copy (decompressed beside itself)."""
    wires = [d["wire"]["size"] for d in dumps if d["wire"]["compressed"]]
    return sum(d["size"] for d in dumps) + max(wires, default=0)


def existing_ancestor(path):
    """``path`` or its nearest existing parent (where its free space is counted)."""
    path = os.path.abspath(path)
    while not os.path.isdir(path) and os.path.dirname(path) != path:
        path = os.path.dirname(path)
    return path


def free_space_problem(folder, need, reserve):
    """Why ``need`` bytes may not be written below ``folder`` keeping ``reserve`` free, or None."""
    free = shutil.disk_usage(folder).free
    if need + reserve <= free:
        return None
    return ("not enough free space on the controller in %s: %d bytes free, the dumps need %d bytes and "
            "min_free_space keeps %d" % (folder, free, need, reserve))


# -- the controller's copy ------------------------------------------------------------


def host_folder(dest, host):
    """DEST/<inventory_hostname>; the name must be one path component."""
    if not host or host in (".", "..") or "/" in host or "\0" in host or (os.altsep and os.altsep in host):
        raise ValueError("inventory_hostname %r cannot name a folder" % (host,))
    return os.path.join(dest, host)


def ensure_private_dir(path):
    """Create ``path`` (and a missing DEST) owner-only; an existing host folder is made 0700 too.

    Each host's task runs in its own fork, so DEST may appear between a check and a create:
    create first and accept that another host did it (that host made it owner-only)."""
    try:
        os.makedirs(os.path.dirname(path), mode=0o700)
    except FileExistsError:
        pass
    else:
        os.chmod(os.path.dirname(path), 0o700)
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    os.chmod(path, 0o700)


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def local_name(remote_name, sha256, manifest, folder):
    """A safe file name for a dump in the host folder, unique per content."""
    safe = _UNSAFE.sub("_", remote_name).lstrip(".") or "dump.dmp"
    owner = manifest.by_file(safe)
    if (owner is None or owner["sha256"] == sha256) and (owner is not None or not os.path.lexists(
            os.path.join(folder, safe))):
        return safe
    stem, dot, ext = safe.rpartition(".")
    return "%s.%s.%s" % (stem, sha256[:12], ext) if dot else "%s.%s" % (safe, sha256[:12])


def _fsync_dir(folder):
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def receive(fetch, dump, final_path):
    """Move one dump to ``final_path``, verified, atomically; nothing partial is left.

    ``fetch(path)`` writes the bytes the host sends (the dump, or its GZip
    copy when ``dump["wire"]["compressed"]``) to ``path``. The arrived bytes
    must hash to what the host reported; a compressed copy is then
    decompressed and must give the dump's size and SHA-256. The result is
    written 0600 beside ``final_path`` and renamed into place.
    """
    folder = os.path.dirname(final_path)
    wire = dump["wire"]
    temps = []
    try:
        fd, wire_path = tempfile.mkstemp(dir=folder, prefix=".fetch-", suffix=".part")
        os.close(fd)
        temps.append(wire_path)
        fetch(wire_path)
        os.chmod(wire_path, 0o600)
        got = sha256_file(wire_path)
        if got != wire["sha256"]:
            raise VerifyError("SHA-256 mismatch for %s: the host has %s, %s arrived" % (
                wire["path"], wire["sha256"], got))
        if wire["compressed"]:
            fd, out_path = tempfile.mkstemp(dir=folder, prefix=".fetch-", suffix=".part")
            temps.append(out_path)
            digest, size = hashlib.sha256(), 0
            with os.fdopen(fd, "wb") as out, gzip.open(wire_path, "rb") as src:
                try:
                    for block in iter(lambda: src.read(1 << 20), b""):
                        digest.update(block)
                        size += len(block)
                        out.write(block)
                except (OSError, EOFError, zlib.error) as e:
                    if isinstance(e, OSError) and e.errno is not None:
                        raise
                    raise VerifyError("the compressed copy of %s does not decompress: %s" % (
                        dump["remote_path"], e)) from e
                out.flush()
                os.fsync(out.fileno())
            if size != dump["size"] or digest.hexdigest() != dump["sha256"]:
                raise VerifyError("SHA-256 mismatch for %s after decompression: the host has %s (%d bytes), "
                                  "got %s (%d bytes)" % (dump["remote_path"], dump["sha256"], dump["size"],
                                                         digest.hexdigest(), size))
        else:
            out_path = wire_path
            with open(out_path, "rb") as f:
                os.fsync(f.fileno())
        os.replace(out_path, final_path)
        temps.remove(out_path)
        _fsync_dir(folder)
    except OSError as e:
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DiskFull("the controller ran out of space in %s while writing %s: %s" % (
                folder, dump["remote_path"], e.strerror)) from e
        raise
    finally:
        for path in temps:
            if os.path.lexists(path):
                os.unlink(path)


class Manifest:
    """DEST/<host>/manifest.json: one entry per dump held, keyed by SHA-256."""

    def __init__(self, folder, host, entries=None):
        self.folder = folder
        self.path = os.path.join(folder, MANIFEST)
        self.host = host
        self.entries = entries or []

    @classmethod
    def load(cls, folder, host):
        path = os.path.join(folder, MANIFEST)
        if not os.path.exists(path):
            return cls(folder, host)
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        if data.get("version") != MANIFEST_VERSION:
            raise ValueError("%s has version %r; this collection writes version %d" % (
                path, data.get("version"), MANIFEST_VERSION))
        # A file name is one path component; anything else is not ours.
        entries = [e for e in data.get("dumps") or [] if isinstance(e, dict) and isinstance(e.get("file"), str)
                   and e["file"] == os.path.basename(e["file"]) and e["file"] not in ("", ".", "..")]
        return cls(folder, host, entries)

    def by_sha(self, sha256):
        return next((e for e in self.entries if e["sha256"] == sha256), None)

    def by_file(self, name):
        return next((e for e in self.entries if e["file"] == name), None)

    def local_path(self, entry):
        return os.path.join(self.folder, entry["file"])

    def has_file(self, entry):
        path = self.local_path(entry)
        return os.path.isfile(path) and os.path.getsize(path) == entry["size"]

    def held(self, sha256, trust=False):
        """The entry for ``sha256`` when its file is still there with its size (with
        ``trust``, when the manifest records it at all), else None."""
        entry = self.by_sha(sha256)
        return entry if entry is not None and (trust or self.has_file(entry)) else None

    def put(self, entry):
        self.entries = [e for e in self.entries if e["sha256"] != entry["sha256"] and e["file"] != entry["file"]]
        self.entries.append(entry)

    def save(self):
        """Write atomically, 0600."""
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".manifest-", suffix=".part")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"version": MANIFEST_VERSION, "host": self.host,
                           "dumps": sorted(self.entries, key=lambda e: (e["remote_mtime"], e["file"]))},
                          f, indent=1, sort_keys=True)
                f.write("\n")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            if os.path.lexists(tmp):
                os.unlink(tmp)
            raise
