"""Persistence of lab hosts: one JSON file per host, file contents beside it.

``<state_dir>/<host>.json`` holds the whole state; ``<state_dir>/<host>.blobs/``
holds file contents by SHA-256; ``<state_dir>/<host>.lock`` serialises access
(the JSON file itself is replaced atomically, so it cannot carry the lock).
A host without a state file is a clean default host.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import tempfile

from .defaults import default_state
from .filesystem import Blobs, FileSystem
from .registry import Registry

ENV_STATE_DIR = "CRASHDUMP_LAB_STATE_DIR"
_HOST = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def default_state_dir():
    return os.environ.get(ENV_STATE_DIR) or os.path.join(os.path.dirname(os.path.dirname(__file__)), "state")


def _paths(state_dir, host):
    if not _HOST.fullmatch(host or ""):
        raise ValueError("invalid lab host name %r" % (host,))
    base = os.path.join(state_dir, host)
    return base + ".json", base + ".blobs", base + ".lock"


class Host:
    """A host's state opened for one operation. ``registry`` and ``files`` give
    a fresh view on that state at each access (views index names when made)."""

    def __init__(self, name, state, blob_dir):
        self.name = name
        self.state = state
        self.blobs = Blobs(blob_dir)

    @property
    def registry(self):
        return Registry(self.state)

    @property
    def files(self):
        return FileSystem(self.state, self.blobs)


def load_state(state_dir, host):
    """The host's state (a clean default one when it has no state file yet)."""
    json_path, _, _ = _paths(state_dir, host)
    try:
        with open(json_path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return default_state(host)


def save_state(state_dir, host, state, blobs=None):
    """Write the state atomically; drop blobs no file refers to any more."""
    json_path, blob_dir, _ = _paths(state_dir, host)
    os.makedirs(state_dir, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=state_dir, prefix=".%s-" % host, suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(state, f, indent=1, ensure_ascii=False)
        f.write("\n")
    os.replace(tmp, json_path)
    (blobs or Blobs(blob_dir)).keep_only(FileSystem(state, None).referenced_blobs())


@contextlib.contextmanager
def _locked(state_dir, host):
    _, _, lock_path = _paths(state_dir, host)
    os.makedirs(state_dir, exist_ok=True)
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextlib.contextmanager
def open_host(state_dir, host, fresh=None):
    """Lock the host and yield it as a Host; save it when the block ends without an exception.

    With ``fresh`` (a whole state) the host starts over from it: its old state
    and file contents are discarded."""
    _, blob_dir, _ = _paths(state_dir, host)
    with _locked(state_dir, host):
        if fresh is not None:
            shutil.rmtree(blob_dir, ignore_errors=True)
        lab = Host(host, fresh if fresh is not None else load_state(state_dir, host), blob_dir)
        yield lab
        save_state(state_dir, host, lab.state, lab.blobs)


def reset_host(state_dir, host, arch=None):
    """Make ``host`` a clean default host."""
    with open_host(state_dir, host, fresh=default_state(host, arch)):
        pass
