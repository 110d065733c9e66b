# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module images (PE files as mapped in memory) found inside a dump's memory.

Full dumps hold every loaded image; mini dumps usually none. An Image reads
what it needs lazily through the dump's Memory: the headers, one
RUNTIME_FUNCTION at a time for the x64 unwinder (binary search over
``.pdata``), and the export table to name functions of system DLLs.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from . import format as fmt

# Bounds that keep a corrupt image from costing much: no real image exceeds them.
MAX_SECTIONS = 96
MAX_EXPORTS = 65536
MAX_EXPORT_NAME = 256


@dataclass(frozen=True)
class Section:
    name: str
    rva: int
    size: int
    characteristics: int

    @property
    def executable(self):
        return bool(self.characteristics & fmt.SCN_MEM_EXECUTE)


class Image:
    """The headers of the image at ``base``, and lookups into it."""

    def __init__(self, memory, base, machine, sections, directories):
        self.memory = memory
        self.base = base
        self.machine = machine
        self.sections = sections
        self.directories = directories  # index -> (rva, size)
        self._exports = None

    @classmethod
    def load(cls, memory, base):
        """The image at ``base``, or None when its headers are not in the dump or are not a PE's."""
        if memory.read(base, 2) != fmt.DOS_SIGNATURE:
            return None
        e_lfanew = memory.read_unsigned(base + 0x3C, 4)
        if e_lfanew is None or e_lfanew > 0x10000:
            return None
        nt = base + e_lfanew
        head = memory.read(nt, 4 + fmt.PE_FILE_HEADER.size)
        if head is None or head[:4] != fmt.PE_SIGNATURE:
            return None
        header = fmt.PE_FILE_HEADER.unpack_from(head, 4)
        machine, nsections, optional_size = header[0], header[1], header[5]
        optional_at = nt + 4 + fmt.PE_FILE_HEADER.size
        optional = memory.read(optional_at, optional_size)
        if optional is None or optional_size < 2:
            return None
        magic = int.from_bytes(optional[:2], "little")
        count_at = {fmt.PE32_MAGIC: fmt.PE32_DIRECTORY_COUNT_OFFSET,
                    fmt.PE32PLUS_MAGIC: fmt.PE32PLUS_DIRECTORY_COUNT_OFFSET}.get(magic)
        if count_at is None or optional_size < count_at + 4:
            return None
        count = min(int.from_bytes(optional[count_at:count_at + 4], "little"), (optional_size - count_at - 4) // 8)
        directories = {}
        for i in range(min(count, 16)):
            at = count_at + 4 + 8 * i
            directories[i] = (int.from_bytes(optional[at:at + 4], "little"),
                              int.from_bytes(optional[at + 4:at + 8], "little"))
        sections = []
        table = memory.read(optional_at + optional_size, min(nsections, MAX_SECTIONS) * fmt.PE_SECTION.size) or b""
        for values in fmt.PE_SECTION.iter_unpack(table):
            name, vsize, rva = values[0], values[1], values[2]
            sections.append(Section(name.rstrip(b"\0").decode("ascii", errors="replace"), rva, vsize, values[9]))
        return cls(memory, base, machine, sections, directories)

    def section_at(self, rva):
        return next((s for s in self.sections if s.rva <= rva < s.rva + max(s.size, 1)), None)

    def function_entry(self, rva):
        """The x64 RUNTIME_FUNCTION (begin, end, unwind info RVA) covering ``rva``, or None."""
        table_rva, table_size = self.directories.get(fmt.DIRECTORY_EXCEPTION, (0, 0))
        count = table_size // fmt.RUNTIME_FUNCTION.size
        if not table_rva or not count:
            return None
        lo, hi = 0, count - 1
        while lo <= hi:
            mid = (lo + hi) // 2
            raw = self.memory.read(self.base + table_rva + mid * fmt.RUNTIME_FUNCTION.size,
                                   fmt.RUNTIME_FUNCTION.size)
            if raw is None:
                return None
            begin, end, unwind = fmt.RUNTIME_FUNCTION.unpack(raw)
            if rva < begin:
                hi = mid - 1
            elif rva >= end:
                lo = mid + 1
            else:
                return begin, end, unwind
        return None

    def exports(self):
        """(RVA, name) of the named exports, sorted by RVA ([] when not in the dump)."""
        if self._exports is None:
            self._exports = self._read_exports()
        return self._exports

    def _read_exports(self):
        rva, size = self.directories.get(fmt.DIRECTORY_EXPORT, (0, 0))
        if not rva or size < fmt.PE_EXPORT_DIRECTORY.size:
            return []
        raw = self.memory.read(self.base + rva, fmt.PE_EXPORT_DIRECTORY.size)
        if raw is None:
            return []
        nfunctions, nnames, functions, names, ordinals = fmt.PE_EXPORT_DIRECTORY.unpack(raw)[2:]
        nnames = min(nnames, MAX_EXPORTS)
        name_rvas = self.memory.read(self.base + names, 4 * nnames)
        name_ordinals = self.memory.read(self.base + ordinals, 2 * nnames)
        function_rvas = self.memory.read(self.base + functions, 4 * min(nfunctions, MAX_EXPORTS))
        if name_rvas is None or name_ordinals is None or function_rvas is None:
            return []
        found = []
        for i in range(nnames):
            ordinal = int.from_bytes(name_ordinals[2 * i:2 * i + 2], "little")
            if 4 * ordinal + 4 > len(function_rvas):
                continue
            target = int.from_bytes(function_rvas[4 * ordinal:4 * ordinal + 4], "little")
            if rva <= target < rva + size:
                continue  # a forwarder ("OTHERDLL.Function"), not code here
            name = self._c_string(int.from_bytes(name_rvas[4 * i:4 * i + 4], "little"))
            if name:
                found.append((target, name))
        found.sort()
        return found

    def _c_string(self, rva):
        address = self.base + rva
        where = self.memory.range_at(address)
        if where is None:
            return None
        raw = self.memory.read(address, min(MAX_EXPORT_NAME, where.end - address))
        if b"\0" not in raw:
            return None
        return raw.split(b"\0", 1)[0].decode("ascii", errors="replace")

    def symbol(self, rva):
        """(export name, offset) of the nearest named export at or below ``rva`` in an executable section."""
        section = self.section_at(rva)
        if section is None or not section.executable:
            return None
        exports = self.exports()
        i = bisect.bisect_right(exports, (rva, "\uffff")) - 1
        if i < 0 or exports[i][0] < section.rva:
            return None
        return exports[i][1], rva - exports[i][0]


def load_image(dump, memory, base):
    """The Image at ``base``, once per dump (None when not in the dump)."""
    return dump.cached(("image", base), lambda: Image.load(memory, base))
