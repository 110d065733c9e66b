# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Function names and source lines from symbol files (PDB, Breakpad ``.sym``), found along a symbol path.

A module's PDB is asked for by the name, GUID and age of its CodeView
record; a module without one (Wine's mini dumps) is looked up by its image
first (TimeDateStamp and SizeOfImage), whose debug directory names the PDB.
Symbol files are read with Sentry's ``symbolic`` (PyPI), which reads PDBs
and Breakpad symbol files alike.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from .image_file import code_id, load_file_image, pdb_identity
from .modules import base_name
from .symbol_path import SymbolPathError


@dataclass(frozen=True)
class Symbol:
    function: str
    offset: int  # from the function's start
    source_file: str | None
    source_line: int | None


def _require_symbolic():
    try:
        import symbolic  # pylint: disable=import-outside-toplevel
    except ImportError:
        raise SymbolPathError("symbol_path needs the Python package symbolic (Sentry's symbol reader) on the "
                              "controller: pip install 'symbolic>=12,<14'") from None
    return symbolic


def _bare_name(name):
    """``store_value(record*, long long)`` -> ``store_value``: the name as WinDbg shows it, without parameters."""
    if not name.endswith(")"):
        return name
    depth = 0
    for i in range(len(name) - 1, -1, -1):
        depth += {")": 1, "(": -1}.get(name[i], 0)
        if depth == 0:
            return name[:i] if i else name
    return name


class Symbolizer:
    """Symbols of the modules of one dump, loaded once per module along ``symbol_path`` (a SymbolPath)."""

    def __init__(self, symbol_path):
        self.symbolic = _require_symbolic()
        self.path = symbol_path
        self._caches = {}
        self._images = {}
        self.loaded = {}  # module name -> the symbol file read

    def image(self, module):
        """The pe.Image of ``module`` (modules.Module) from its image file along the symbol path, or None."""
        key = (module.base, module.path)
        if key not in self._images:
            self._images[key] = None
            try:
                path = self.path.find(module.name, module.code_id)
                if path is not None:
                    with open(path, "rb") as f:
                        data = f.read()
                    # A plain folder finds files by name only: another build of the module is no use.
                    if code_id(data) == module.code_id:
                        self._images[key] = load_file_image(data, module.base)
                    else:
                        self.path.problems.append("%s: %s is another build (%s, not %s)"
                                                  % (module.name, path, code_id(data), module.code_id))
            except OSError as e:
                self.path.problems.append("%s: %s" % (module.name, e))
        return self._images[key]

    def lookup(self, module, rva):
        """The Symbol at ``rva`` of ``module`` (modules.Module), or None."""
        cache = self._symcache(module)
        if cache is None:
            return None
        found = cache.lookup(rva)
        if not found:
            return None
        outer = found[-1]  # inlined functions come first; the function of the frame is the last
        return Symbol(_bare_name(outer.symbol), rva - outer.sym_addr, outer.full_path or None, outer.line or None)

    def _symcache(self, module):
        key = (module.base, module.path)
        if key not in self._caches:
            try:
                self._caches[key] = self._load(module)
            except OSError as e:  # an unwritable cache, an unreadable file: no symbols, no failure
                self.path.problems.append("%s: %s" % (module.name, e))
                self._caches[key] = None
        return self._caches[key]

    def _load(self, module):
        codeview = module.codeview
        if codeview is None:
            image = self.image(module)
            codeview = pdb_identity(image) if image is not None else None
            if codeview is None:
                return None
        pdb = base_name(codeview.pdb_name)
        stem = pdb[:-4] if pdb.lower().endswith(".pdb") else pdb
        for name in (pdb, stem + ".sym"):
            path = self.path.find(name, codeview.debug_id)
            if path is not None:
                cache = self._read(path, codeview.debug_id)
                if cache is not None:
                    self.loaded[module.name] = os.path.basename(path)
                    return cache
        return None

    def _read(self, path, debug_id):
        """The symbol cache of the file at ``path`` when it is the build ``debug_id`` names, else None."""
        try:
            archive = self.symbolic.Archive.open(path)
            obj = next(iter(archive.iter_objects()), None)
            if obj is None:
                return None
            found = obj.debug_id.replace("-", "").upper()
            if found != debug_id.upper():
                self.path.problems.append("%s is another build (%s, not %s)" % (path, found, debug_id))
                return None
            return obj.make_symcache()
        except Exception:  # pylint: disable=broad-exception-caught
            # symbolic raises its own error types for files it cannot read: no symbols, no failure.
            self.path.problems.append("%s: not a symbol file symbolic can read" % path)
            return None
