"""Files and folders of a lab host.

``state['files']`` maps each path (case as created) to an entry:
folders ``{"type": "directory", "sddl", "mtime"}``, files
``{"type": "file", "size", "sha256", "mtime", "ctime"}`` plus, when set,
``locked`` (held open by a writer that shares nothing: WerFault writing a
dump) and ``readonly`` (FILE_ATTRIBUTE_READONLY). File contents live
in a content-addressed blob store beside the state file. A file's security
descriptor is not stored: it is what it inherits from its folder.
"""

from __future__ import annotations

import hashlib
import os
import tempfile

from . import clock, errors, sddl, winpath

ABSENT_STAT = {"exists": False, "type": None, "size": None, "mtime": None, "sddl": None}


class Blobs:
    """Content-addressed file contents: ``<dir>/<sha256>``."""

    def __init__(self, directory):
        self.directory = directory

    def path(self, digest):
        return os.path.join(self.directory, digest)

    def put(self, data):
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if not os.path.exists(target):
            os.makedirs(self.directory, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-")
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, target)
        return digest

    def read(self, digest, offset=0, size=-1):
        with open(self.path(digest), "rb") as f:
            f.seek(offset)
            return f.read(size)

    def keep_only(self, digests):
        """Drop blobs no file refers to any more."""
        if not os.path.isdir(self.directory):
            return
        for name in os.listdir(self.directory):
            if name not in digests:
                os.unlink(os.path.join(self.directory, name))


class FileSystem:
    def __init__(self, state, blobs):
        self._files = state["files"]
        self._state = state
        self.blobs = blobs
        self._index = {winpath.fold(p): p for p in self._files}

    def real(self, path):
        """The stored spelling of normalised ``path``, or None when absent."""
        return self._index.get(winpath.fold(path))

    def entry(self, path):
        real = self.real(path)
        return self._files[real] if real else None

    def children(self, path):
        real = self.real(path)
        prefix = winpath.fold(winpath.join(real, "")) if real else None
        if prefix is None:
            return []
        return sorted((p for f, p in self._index.items() if f.startswith(prefix) and "\\" not in f[len(prefix):]
                       and f != prefix), key=winpath.fold)

    def sddl_of(self, path):
        entry = self.entry(path)
        if entry is None:
            return None
        if entry["type"] == "directory":
            return entry["sddl"]
        folder_sddl = self.entry(winpath.parent(self.real(path)))["sddl"]
        parts = sddl.split(folder_sddl)
        return sddl.inherit(folder_sddl, False, parts.get("O", "BA"), parts.get("G"))

    def stat(self, path):
        entry = self.entry(path)
        if entry is None:
            return dict(ABSENT_STAT)
        return {"exists": True, "type": entry["type"], "size": entry.get("size"),
                "mtime": entry["mtime"], "sddl": self.sddl_of(path)}

    def make_dirs(self, path, owner, now=None):
        """Create ``path`` and missing parents, each inheriting from its parent.

        Returns the created paths, outermost first, spelled as given."""
        created = []
        for step in winpath.chain(path):
            entry = self.entry(step)
            if entry is not None:
                if entry["type"] != "directory":
                    raise errors.exists_as_file(step)
                continue
            up = winpath.parent(step)
            if up is None:
                raise errors.part_not_found(path)
            stamp = clock.iso(now or clock.tick(self._state))
            self._add(step, {"type": "directory", "sddl": sddl.inherit(self.entry(up)["sddl"], True, owner),
                             "mtime": stamp})
            created.append(step)
        return created

    def set_sddl(self, path, text):
        self.entry(path)["sddl"] = text

    def apply_sddl(self, path, wanted, token):
        """SetSecurityInfo by ``token``: set the parts of a folder's descriptor ``wanted`` names if they
        differ; True when changed. A write naming an owner the token may not assign fails whole."""
        entry = self.entry(path)
        up = winpath.parent(self.real(path))
        inherited = sddl.inherited_aces(self.entry(up)["sddl"], sddl.split(entry["sddl"]).get("O", "BA")) if up else []
        new, changed = sddl.apply(entry["sddl"], wanted, inherited)
        owner = sddl.split(wanted).get("O")
        if changed and owner is not None and not token.may_own(owner):
            raise errors.invalid_owner()
        entry["sddl"] = new
        return changed

    def write_file(self, path, data, now=None):
        """Create or overwrite a file; its folder must exist."""
        folder = self.entry(winpath.parent(path)) if winpath.parent(path) else None
        if folder is None or folder["type"] != "directory":
            raise errors.part_not_found(path)
        existing = self.entry(path)
        if existing is not None and existing["type"] == "directory":
            raise errors.io_error("path is a directory, not a file")
        if existing is not None:
            self._check_writable(path, existing)
        stamp = clock.iso(now or clock.tick(self._state))
        entry = {"type": "file", "size": len(data), "sha256": self.blobs.put(data), "mtime": stamp,
                 "ctime": existing["ctime"] if existing else stamp}
        if existing is not None:
            self._files[self.real(path)] = entry
        else:
            self._add(path, entry)
        return entry

    def read_file(self, path, offset=0, size=-1):
        entry = self.entry(path)
        if entry is None or entry["type"] != "file":
            raise errors.file_not_found(path)
        self._check_unlocked(path, entry)
        return self.blobs.read(entry["sha256"], offset, size)

    @staticmethod
    def _check_unlocked(path, entry):
        # A handle opened with dwShareMode 0 makes every other CreateFile on the file fail with
        # ERROR_SHARING_VIOLATION, whatever share mode the second caller offers (CreateFile docs,
        # "Creating and Opening Files"): a dump WerFault is still writing cannot be read, hashed or deleted.
        if entry.get("locked"):
            raise errors.sharing_violation(path)

    def remove_file(self, path):
        entry = self.entry(path)
        if entry is None:
            return False
        if entry["type"] != "file":
            raise errors.io_error("path is a directory, not a file")
        self._check_writable(path, entry)
        self._remove(path)
        return True

    def _check_writable(self, path, entry):
        self._check_unlocked(path, entry)
        # File.Delete: "UnauthorizedAccessException: path specified a read-only file" (.NET Framework 4.x
        # File.Delete docs); DeleteFile fails with ERROR_ACCESS_DENIED until the attribute is cleared.
        if entry.get("readonly"):
            raise errors.access_denied(path)

    def remove_dir(self, path):
        """(removed, reason) with reason None, 'absent' or 'not_empty'."""
        entry = self.entry(path)
        if entry is None:
            return False, "absent"
        if entry["type"] != "directory":
            raise errors.io_error("path is a file, not a directory")
        if self.children(path):
            return False, "not_empty"
        self._remove(path)
        return True, None

    def _add(self, path, entry):
        self._files[path] = entry
        self._index[winpath.fold(path)] = path

    def _remove(self, path):
        real = self.real(path)
        del self._files[real]
        del self._index[winpath.fold(real)]

    def referenced_blobs(self):
        return {e["sha256"] for e in self._files.values() if e["type"] == "file"}
