# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The MemoryInfoList stream: the state and protection of every region (VirtualQuery)."""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from . import format as fmt
from .errors import MinidumpError


@dataclass(frozen=True)
class Region:
    base: int
    allocation_base: int
    allocation_protect: int
    size: int
    state: int
    protect: int
    type: int

    @property
    def end(self):
        return self.base + self.size


class MemoryInfo:
    def __init__(self, regions):
        self.regions = sorted(regions, key=lambda r: r.base)
        self._bases = [r.base for r in self.regions]

    def region_at(self, address):
        i = bisect.bisect_right(self._bases, address) - 1
        if i >= 0 and address < self.regions[i].end:
            return self.regions[i]
        return None


def read_memory_info(dump):
    """The MemoryInfoList as a MemoryInfo, or None when absent."""
    def build():
        stream = dump.stream(fmt.MEMORY_INFO_LIST)
        if stream is None:
            return None
        data = dump.stream_data(stream, fmt.MEMORY_INFO_LIST_HEADER.size)
        header_size, entry_size, count = fmt.MEMORY_INFO_LIST_HEADER.unpack_from(data, 0)
        if header_size < fmt.MEMORY_INFO_LIST_HEADER.size or entry_size < fmt.MEMORY_INFO.size:
            raise MinidumpError("%s: MemoryInfoList stream has header size %d and entry size %d"
                                % (dump.name, header_size, entry_size))
        if header_size + count * entry_size > len(data):
            raise MinidumpError("%s: MemoryInfoList stream claims %d regions, more than its %d bytes hold"
                                % (dump.name, count, len(data)))
        regions = []
        for i in range(count):
            base, alloc_base, alloc_protect, _align, size, state, protect, kind, _align2 = fmt.MEMORY_INFO.unpack_from(
                data, header_size + i * entry_size)
            regions.append(Region(base, alloc_base, alloc_protect, size, state, protect, kind))
        return MemoryInfo(regions)
    return dump.cached("memory_info", build)
