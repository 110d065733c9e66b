# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A symbol path in WinDbg's syntax, and finding files along it.

Elements are joined by ``;``:

* ``srv*CACHE*...*URL`` (or ``symsrv*symsrv.dll*...``): symbol stores tried in
  order, each local one a downstream cache of those after it; a bare
  ``srv*URL`` caches in the default cache folder;
* ``cache*DIR`` (``cache*`` alone: the default folder): every later element's
  files are cached in DIR;
* a plain folder: the file itself, ``EXT/file``, ``symbols/EXT/file`` or a
  store layout inside it.

Stores use Microsoft's symbol server layout: ``name/KEY/name`` where KEY is
the PDB's GUID and age, or an image's TimeDateStamp and SizeOfImage; a
server may instead have ``name/KEY/name_`` (a CAB holding the file) or
``name/KEY/file.ptr`` (``PATH:`` and where the file is, or ``MSG:`` and why
not). See "Symbol path for Windows debuggers" and "SymStore" on
learn.microsoft.com.

Downloads have a timeout and a size limit; cached files and folders are
owner-only; a file is fetched at most once per SymbolPath (misses included)
and never again once cached, and a server that does not answer is not asked
again, so a warm cache works offline.
"""

from __future__ import annotations

import io
import os
import shutil
import ssl
import tempfile
import urllib.error
import urllib.parse
import urllib.request

DEFAULT_TIMEOUT = 30
DEFAULT_MAX_BYTES = 512 * 1024 * 1024
CHUNK = 1024 * 1024


def default_cache():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "crashdump.windows", "symbols")


class SymbolPathError(ValueError):
    pass


def _is_url(text):
    return text.lower().startswith(("http://", "https://"))


def parse(text):
    """The elements of a symbol path: ("store", [cache folders..., last store]) or ("folder", path),
    with the ``cache*`` folder in force as a leading cache of later elements."""
    elements, cache = [], None
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        fields = part.split("*")
        head = fields[0].lower()
        if head == "symsrv":
            if len(fields) < 3:
                raise SymbolPathError("symbol path element %r: symsrv*DLL*STORE expected" % part)
            head, fields = "srv", ["srv"] + fields[2:]
        if head == "cache":
            cache = fields[1] if len(fields) > 1 and fields[1] else default_cache()
            continue
        if head == "srv":
            stores = [f for f in fields[1:] if f]
            if not stores:
                raise SymbolPathError("symbol path element %r names no symbol store" % part)
            stores = ([cache] if cache else []) + stores
            if _is_url(stores[0]):  # a download is kept somewhere: WinDbg's default downstream store
                stores.insert(0, default_cache())
            elements.append(("store", stores))
        elif "*" in part or _is_url(part):
            raise SymbolPathError("symbol path element %r: expected srv*..., cache*DIR or a folder" % part)
        else:
            elements.append(("folder", ([cache] if cache else []) + [part]))
    return elements


class SymbolPath:
    """Finds ``name`` with symbol-server ``key`` along a parsed symbol path."""

    def __init__(self, text, timeout=DEFAULT_TIMEOUT, max_bytes=DEFAULT_MAX_BYTES):
        self.elements = parse(text)
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.fetched = []  # URLs downloaded, in order
        self.problems = []  # why a store could not be asked (one line each)
        self._found = {}
        self._down = set()  # servers that did not answer: not asked again (offline, a warm cache still works)
        # One opener (proxies from the environment, certificates verified) for every download, made at the
        # first: ansible's open_url builds a new SSL context, loading the system's CA store (~50 ms), for every
        # request, even plain http, which made a cold-cache analysis 25 times as slow as one without symbols.
        self._opener = None

    def find(self, name, key):
        """A local path of the file, or None."""
        if (name.lower(), key) not in self._found:
            self._found[name.lower(), key] = self._search(name, key)
        return self._found[name.lower(), key]

    def _search(self, name, key):
        for kind, places in self.elements:
            if kind == "folder":
                *caches, folder = places
                found = _in_folder(folder, name, key)
            else:
                caches, found = [], None
                for store in places:
                    found = self._download(store, name, key, caches) if _is_url(store) else \
                        _stored(store, name, key)
                    if found is not None:
                        break
                    if not _is_url(store):
                        caches.append(store)
            if found is not None:
                for cache in caches:  # the nearer stores did not have it: they get a copy
                    found = _keep(cache, name, key, found)
                return found
        return None

    def _download(self, url, name, key, caches):
        """The file from the server at ``url``, written into the nearest of ``caches`` (taken off the list)."""
        if url in self._down:
            return None
        base = "%s/%s/%s/" % (url.rstrip("/"), urllib.parse.quote(name), urllib.parse.quote(key))
        data = self._get(url, base + urllib.parse.quote(name))
        if data is None:
            data = _uncab(self._get(url, base + urllib.parse.quote(name[:-1] + "_")), name, self.problems)
        if data is None:
            pointer = self._get(url, base + "file.ptr")
            if pointer is not None:
                text = pointer.decode("utf-8", "replace").strip()
                target = text[5:] if text.upper().startswith("PATH:") else None
                # Only the file asked for: a server must not make the controller read any file it names.
                if target and os.path.basename(target.replace("\\", "/")).lower() == name.lower() \
                        and os.path.isfile(target):
                    return target
                self.problems.append("%s: file.ptr says %s" % (base, text))
        if data is None:
            return None
        return _keep(caches.pop(), name, key, data)

    def _get(self, server, url):
        """The body at ``url``; None when missing or unreachable (noted in ``problems``; ``server`` is then down)."""
        if server in self._down:
            return None
        self.fetched.append(url)
        try:
            if self._opener is None:
                https = urllib.request.HTTPSHandler(context=ssl.create_default_context())
                self._opener = urllib.request.build_opener(https)
            with self._opener.open(url, timeout=self.timeout) as response:
                out = io.BytesIO()
                while True:
                    chunk = response.read(CHUNK)
                    if not chunk:
                        return out.getvalue()
                    if out.tell() + len(chunk) > self.max_bytes:
                        self.problems.append("%s: larger than %d bytes, not fetched" % (url, self.max_bytes))
                        return None
                    out.write(chunk)
        except urllib.error.HTTPError as e:
            if e.code != 404:
                self.problems.append("%s: HTTP %d" % (url, e.code))
        except (urllib.error.URLError, OSError) as e:
            self._down.add(server)
            self.problems.append("%s: %s (not asked again)" % (url, getattr(e, "reason", e)))
        return None


def _uncab(data, name, problems):
    """The file inside a compressed ``name_`` (a CAB), or None (with a line in ``problems`` when
    the package that reads CABs is missing)."""
    if data is None:
        return None
    try:
        import cabarchive  # pylint: disable=import-outside-toplevel
    except ImportError:
        problems.append("a symbol store sent %s compressed (%s_): reading it needs the Python package cabarchive "
                        "on the controller (pip install 'cabarchive>=0.2,<0.3')" % (name, name[:-1]))
        return None
    try:
        archive = cabarchive.CabArchive(data)
    except Exception:  # pylint: disable=broad-exception-caught
        return None  # not a CAB: the store's problem, not ours
    inner = next((f for f in archive.values() if f.filename.lower() == name.lower()), None)
    return inner.buf if inner is not None else None


def _stored(store, name, key):
    path = os.path.join(store, name, key, name)
    return path if os.path.isfile(path) else None


def _in_folder(folder, name, key):
    ext = name.rsplit(".", 1)[-1]
    for path in (os.path.join(folder, name), os.path.join(folder, ext, name),
                 os.path.join(folder, "symbols", ext, name), os.path.join(folder, name, key, name)):
        if os.path.isfile(path):
            return path
    return None


def _keep(cache, name, key, source):
    """Write ``source`` (bytes, or the path of a file) into ``cache`` in the store layout, owner-only;
    the path written."""
    folder = os.path.join(cache, name, key)
    os.makedirs(os.path.dirname(os.path.abspath(cache)), exist_ok=True)
    for part in (cache, os.path.join(cache, name), folder):
        try:  # folders this made are owner-only; a user's own folder is left as it is
            os.mkdir(part, 0o700)
        except FileExistsError:  # there already, or made just now by another host's fork sharing the cache
            pass
    target = os.path.join(folder, name)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".part-")
    with os.fdopen(handle, "wb") as out:
        if isinstance(source, bytes):
            out.write(source)
        else:
            with open(source, "rb") as src:
                shutil.copyfileobj(src, out)
    os.replace(temporary, target)  # mkstemp made it 0600
    return target
