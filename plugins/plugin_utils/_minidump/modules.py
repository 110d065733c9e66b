# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ModuleList and UnloadedModuleList streams: images, versions, PDB identities."""

from __future__ import annotations

import bisect
import uuid
from dataclasses import dataclass

from . import format as fmt


def base_name(path):
    """``C:\\Windows\\System32\\ntdll.dll`` -> ``ntdll.dll`` (either separator)."""
    return path.replace("/", "\\").rsplit("\\", 1)[-1]


def _version(ms, ls):
    return "%d.%d.%d.%d" % (ms >> 16, ms & 0xFFFF, ls >> 16, ls & 0xFFFF)


@dataclass(frozen=True)
class CodeView:
    """The PDB a module was built with: what a symbol server is asked for."""

    pdb_name: str
    guid: str | None  # RSDS: the PDB GUID; NB10 (old PDB 2.0) has a signature instead
    signature: int | None
    age: int

    @property
    def debug_id(self):
        """The symbol-server key: GUID without dashes and age in hex (NB10: signature and age)."""
        if self.guid is not None:
            return "%s%X" % (self.guid.replace("-", ""), self.age)
        return "%08X%X" % (self.signature, self.age)


@dataclass(frozen=True)
class Module:
    base: int
    size: int
    checksum: int
    timestamp: int
    path: str
    file_version: str | None
    product_version: str | None
    codeview: CodeView | None

    @property
    def name(self):
        return base_name(self.path)

    @property
    def end(self):
        return self.base + self.size

    @property
    def code_id(self):
        """The image's symbol-server key: time stamp and size of image, in hex."""
        return "%08X%x" % (self.timestamp, self.size)


@dataclass(frozen=True)
class UnloadedModule:
    base: int
    size: int
    checksum: int
    timestamp: int
    path: str

    @property
    def name(self):
        return base_name(self.path)


class ModuleList:
    """Modules in dump order, with lookup by address."""

    def __init__(self, modules):
        self.modules = list(modules)
        self._sorted = sorted(self.modules, key=lambda m: m.base)
        self._bases = [m.base for m in self._sorted]

    def __iter__(self):
        return iter(self.modules)

    def __len__(self):
        return len(self.modules)

    def find(self, address):
        """The module whose image holds ``address``, or None."""
        i = bisect.bisect_right(self._bases, address) - 1
        if i >= 0 and address < self._sorted[i].end:
            return self._sorted[i]
        return None


def _codeview(dump, size, rva, path):
    return parse_codeview(dump.location(size, rva, "CodeView record of %s" % path))


def parse_codeview(raw):
    """The CodeView record (RSDS or NB10) in ``raw`` bytes, or None."""
    if raw is None or len(raw) < 4:
        return None
    if raw[:4] == fmt.CV_RSDS and len(raw) >= fmt.CV_RSDS_HEAD.size:
        _signature, guid, age = fmt.CV_RSDS_HEAD.unpack_from(raw, 0)
        name = raw[fmt.CV_RSDS_HEAD.size:].split(b"\0", 1)[0].decode("utf-8", errors="replace")
        return CodeView(name, str(uuid.UUID(bytes_le=guid)).upper(), None, age)
    if raw[:4] == fmt.CV_NB10 and len(raw) >= fmt.CV_NB10_HEAD.size:
        _signature, _offset, signature, age = fmt.CV_NB10_HEAD.unpack_from(raw, 0)
        name = raw[fmt.CV_NB10_HEAD.size:].split(b"\0", 1)[0].decode("utf-8", errors="replace")
        return CodeView(name, None, signature, age)
    return None


def read_modules(dump):
    """The ModuleList as a ModuleList (empty without the stream)."""
    def build():
        stream = dump.stream(fmt.MODULE_LIST)
        if stream is None:
            return ModuleList([])
        modules = []
        for i, values in enumerate(fmt.MODULE.iter_unpack(dump.counted_entries(stream, fmt.MODULE.size))):
            base, size, checksum, timestamp, name_rva = values[:5]
            ffi = values[5:18]
            cv_size, cv_rva = values[18:20]
            path = dump.string(name_rva, "name of module %d" % i)
            has_version = ffi[0] == fmt.VS_FFI_SIGNATURE
            modules.append(Module(
                base, size, checksum, timestamp, path,
                _version(ffi[2], ffi[3]) if has_version else None,
                _version(ffi[4], ffi[5]) if has_version else None,
                _codeview(dump, cv_size, cv_rva, path)))
        return ModuleList(modules)
    return dump.cached("modules", build)


def read_unloaded_modules(dump):
    """The UnloadedModuleList, most recent last as Windows records it; [] without the stream."""
    def build():
        stream = dump.stream(fmt.UNLOADED_MODULE_LIST)
        if stream is None:
            return []
        return [UnloadedModule(base, size, checksum, timestamp,
                               dump.string(name_rva, "name of unloaded module %d" % i))
                for i, (base, size, checksum, timestamp, name_rva)
                in enumerate(dump.list_entries(stream, fmt.UNLOADED_MODULE))]
    return dump.cached("unloaded_modules", build)
