# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The minidump file: header, stream directory, bounds-checked reads.

``Minidump.open(path)`` memory-maps the file, checks the header and indexes
the stream directory; nothing else is read until a stream module asks for
it. Every read is checked against the file size, so a truncated or
malformed file raises ``MinidumpError`` instead of reading garbage or
failing somewhere else.
"""

from __future__ import annotations

import contextlib
import mmap
import os
from dataclasses import dataclass

from . import format as fmt
from .errors import MinidumpError

# No real dump has more streams; a larger count is a corrupt header.
MAX_STREAMS = 0x10000
# Longest MINIDUMP_STRING read (module paths are at most 32 K characters).
MAX_STRING_BYTES = 0x10000


@dataclass(frozen=True)
class Stream:
    """One stream directory entry."""

    index: int
    type: int
    size: int
    rva: int

    @property
    def name(self):
        return fmt.STREAM_NAMES.get(self.type, "0x%x" % self.type)


class Minidump:
    """A minidump held in ``data`` (an mmap or bytes); ``name`` names it in errors."""

    def __init__(self, data, name="minidump"):
        self._data = data
        self.name = name
        self.size = len(data)
        self.warnings = []
        self._cache = {}
        if self.size >= 4 and data[0:4] != fmt.SIGNATURE:
            raise MinidumpError("%s: not a minidump (signature %r, expected 'MDMP')" % (name, bytes(data[0:4])))
        if self.size < fmt.HEADER.size:
            raise MinidumpError("%s: %d bytes, too short for a minidump header (%d bytes)"
                                % (name, self.size, fmt.HEADER.size))
        _signature, version, count, directory_rva, self.checksum, self.timestamp, self.flags = \
            fmt.HEADER.unpack_from(data, 0)
        if version & 0xFFFF != fmt.VERSION:
            raise MinidumpError("%s: unknown minidump version 0x%x (expected 0x%x in the low 16 bits)"
                                % (name, version & 0xFFFF, fmt.VERSION))
        self.version = version
        if count > MAX_STREAMS:
            raise MinidumpError("%s: header claims %d streams: corrupt" % (name, count))
        self._check(directory_rva, count * fmt.DIRECTORY.size, "the stream directory (%d entries)" % count)
        self.directory = []
        self._by_type = {}
        for index, (kind, size, rva) in enumerate(fmt.DIRECTORY.iter_unpack(
                data[directory_rva:directory_rva + count * fmt.DIRECTORY.size])):
            stream = Stream(index, kind, size, rva)
            self.directory.append(stream)
            if kind == 0 and size == 0:
                continue  # an unused slot (Wine ends its directory with one)
            if kind in self._by_type:
                self.warnings.append("duplicate %s stream (directory entry %d) ignored" % (stream.name, index))
                continue
            self._by_type[kind] = stream

    @classmethod
    @contextlib.contextmanager
    def open(cls, path):
        """Map the file at ``path`` read-only for the duration of the ``with`` block."""
        with open(path, "rb") as handle:
            if os.fstat(handle.fileno()).st_size == 0:
                raise MinidumpError("%s: empty file" % path)
            data = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        if hasattr(data, "madvise") and hasattr(mmap, "MADV_RANDOM"):
            # Small reads all over the file: no read-ahead, so memory holds only what was read.
            data.madvise(mmap.MADV_RANDOM)
        try:
            yield cls(data, name=str(path))
        finally:
            data.close()

    # -- directory --------------------------------------------------------

    def stream(self, kind):
        """The directory entry of stream type ``kind``, or None."""
        return self._by_type.get(kind)

    def unknown_streams(self):
        """Streams of types this package does not know (vendor and private ones), in file order."""
        return [s for s in self._by_type.values() if s.type not in fmt.STREAM_NAMES]

    def cached(self, key, factory):
        """``factory()`` once per dump: streams parse on first request."""
        if key not in self._cache:
            self._cache[key] = factory()
        return self._cache[key]

    # -- bounds-checked reads ----------------------------------------------

    def _check(self, rva, size, what):
        if rva < 0 or size < 0 or rva + size > self.size:
            raise MinidumpError("%s: %s at RVA 0x%x (%d bytes) goes past the end of the file (%d bytes): "
                                "truncated or corrupt" % (self.name, what, rva, size, self.size))

    def read(self, rva, size, what):
        """``size`` bytes at ``rva``."""
        self._check(rva, size, what)
        return self._data[rva:rva + size]

    def unpack(self, layout, rva, what):
        """``layout`` (a struct.Struct) unpacked at ``rva``."""
        self._check(rva, layout.size, what)
        return layout.unpack_from(self._data, rva)

    def stream_data(self, stream, minimum, what=None):
        """The bytes of ``stream``, which must hold at least ``minimum`` bytes."""
        what = what or "%s stream" % stream.name
        if stream.size < minimum:
            raise MinidumpError("%s: %s is %d bytes, shorter than its %d-byte header"
                                % (self.name, what, stream.size, minimum))
        return self.read(stream.rva, stream.size, what)

    def counted_entries(self, stream, entry_size):
        """The entries of a stream made of a 32-bit count and ``entry_size``-byte entries."""
        data = self.stream_data(stream, 4)
        (count,) = fmt.U32.unpack_from(data, 0)
        if 4 + count * entry_size > len(data):
            raise MinidumpError("%s: %s stream claims %d entries, more than its %d bytes hold"
                                % (self.name, stream.name, count, len(data)))
        return data[4:4 + count * entry_size]

    def list_entries(self, stream, layout):
        """The entries of a stream with a (SizeOfHeader, SizeOfEntry, NumberOfEntries) header, unpacked."""
        data = self.stream_data(stream, fmt.LIST_HEADER.size)
        header_size, entry_size, count = fmt.LIST_HEADER.unpack_from(data, 0)
        if header_size < fmt.LIST_HEADER.size or entry_size < layout.size:
            raise MinidumpError("%s: %s stream has header size %d and entry size %d, expected at least %d and %d"
                                % (self.name, stream.name, header_size, entry_size, fmt.LIST_HEADER.size,
                                   layout.size))
        if header_size + count * entry_size > len(data):
            raise MinidumpError("%s: %s stream claims %d entries, more than its %d bytes hold"
                                % (self.name, stream.name, count, len(data)))
        return [layout.unpack_from(data, header_size + i * entry_size) for i in range(count)]

    def string(self, rva, what):
        """The MINIDUMP_STRING (32-bit byte length, then UTF-16LE) at ``rva``."""
        (length,) = self.unpack(fmt.U32, rva, what)
        if length > MAX_STRING_BYTES or length % 2:
            raise MinidumpError("%s: %s at RVA 0x%x claims %d bytes: corrupt" % (self.name, what, rva, length))
        return self.read(rva + 4, length, what).decode("utf-16-le", errors="replace")

    def location(self, size, rva, what):
        """The bytes of a MINIDUMP_LOCATION_DESCRIPTOR, or None for an empty one."""
        if size == 0:
            return None
        return self.read(rva, size, what)
