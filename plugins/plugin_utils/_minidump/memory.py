# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The MemoryList and Memory64List streams: the dumped process's memory, by address.

Mini dumps hold a MemoryList (stacks, bytes around instruction pointers, a
few data blocks); full dumps a Memory64List whose ranges lie back to back
from one base RVA. Both become one index of ranges sorted by address, kept
as three flat arrays (a full dump can have tens of thousands of ranges);
``read`` copies only the bytes asked for out of the mapped file.

Ranges can overlap (a mini dump lists a thread's stack next to a block of
memory around it): the index is made of non-overlapping pieces once, so a
lookup by bisection finds every byte. Where ranges overlap, the bytes of the
threads' stack descriptors win (they are what the thread list points at),
then those of the range that starts first.
"""

from __future__ import annotations

import bisect
from array import array
from dataclasses import dataclass

from . import format as fmt
from .errors import MinidumpError
from .threads import read_threads


@dataclass(frozen=True)
class Range:
    start: int
    size: int
    rva: int

    @property
    def end(self):
        return self.start + self.size


class Memory:
    """Address -> bytes over the ranges of a dump.

    ``ranges`` is an iterable of (start, size, rva); empty ones are dropped.
    """

    def __init__(self, dump, ranges, clipped=0, preferred=()):
        self._dump = dump
        preferred = _flatten(preferred)
        kept = sorted(_subtract(_flatten(ranges), preferred) + preferred)
        self._starts = array("Q", [r[0] for r in kept])
        self._sizes = array("Q", [r[1] for r in kept])
        self._rvas = array("Q", [r[2] for r in kept])
        self.clipped = clipped  # ranges cut short by the end of the file

    def __len__(self):
        return len(self._starts)

    def __iter__(self):
        return (Range(*r) for r in zip(self._starts, self._sizes, self._rvas))

    @property
    def total_bytes(self):
        return sum(self._sizes)

    def range_at(self, address):
        """The range holding ``address``, or None."""
        i = bisect.bisect_right(self._starts, address) - 1
        if i >= 0 and address < self._starts[i] + self._sizes[i]:
            return Range(self._starts[i], self._sizes[i], self._rvas[i])
        return None

    def read(self, address, size):
        """``size`` bytes at ``address``, or None unless every byte is in the dump."""
        if size < 0 or address < 0:
            return None
        parts = []
        while size > 0:
            r = self.range_at(address)
            if r is None:
                return None
            offset = address - r.start
            take = min(size, r.size - offset)
            parts.append(self._dump.read(r.rva + offset, take, "memory at 0x%x" % address))
            address += take
            size -= take
        return b"".join(parts)

    def read_unsigned(self, address, width):
        """The little-endian ``width``-byte unsigned integer at ``address``, or None."""
        data = self.read(address, width)
        return None if data is None else int.from_bytes(data, "little")


def _flatten(ranges):
    """Sorted, non-overlapping (start, size, rva) pieces of ``ranges``; the first to start wins overlaps."""
    out, end = [], 0
    for start, size, rva in sorted(r for r in ranges if r[1]):
        stop = start + size
        if out and start < end:
            if stop <= end:
                continue
            rva += end - start
            start = end
        out.append((start, stop - start, rva))
        end = stop
    return out


def _subtract(pieces, holes):
    """``pieces`` without the addresses of ``holes`` (both sorted and non-overlapping)."""
    out, h = [], 0
    for start, size, rva in pieces:
        stop = start + size
        while h < len(holes) and holes[h][0] + holes[h][1] <= start:
            h += 1
        i = h
        while start < stop and i < len(holes) and holes[i][0] < stop:
            hole_start, hole_stop = holes[i][0], holes[i][0] + holes[i][1]
            if hole_start > start:
                out.append((start, hole_start - start, rva))
            rva += max(0, hole_stop - start)
            start = max(start, hole_stop)
            i += 1
        if start < stop:
            out.append((start, stop - start, rva))
    return out


def _memory_list(dump, stream):
    return list(fmt.MEMORY_DESCRIPTOR.iter_unpack(dump.counted_entries(stream, fmt.MEMORY_DESCRIPTOR.size)))


def _memory64_list(dump, stream):
    data = dump.stream_data(stream, fmt.MEMORY64_LIST_HEADER.size)
    count, rva = fmt.MEMORY64_LIST_HEADER.unpack_from(data, 0)
    end = fmt.MEMORY64_LIST_HEADER.size + count * fmt.MEMORY_DESCRIPTOR64.size
    if end > len(data):
        raise MinidumpError("%s: Memory64List stream claims %d ranges, more than its %d bytes hold"
                            % (dump.name, count, len(data)))
    ranges = []
    for start, size in fmt.MEMORY_DESCRIPTOR64.iter_unpack(data[fmt.MEMORY64_LIST_HEADER.size:end]):
        ranges.append((start, size, rva))
        rva = min(rva + size, dump.size)  # past the end of the file nothing is there anyway
    return ranges


def _stacks(dump):
    """The threads' stack descriptors as ranges (none when the thread list cannot be read:
    the analysis reports that where it reads the threads)."""
    try:
        threads = read_threads(dump)
    except MinidumpError:
        return []
    return [(t.stack_start, min(t.stack_size, max(0, dump.size - t.stack_rva), (1 << 64) - t.stack_start),
             t.stack_rva) for t in threads or [] if t.stack_size and t.stack_rva]


def read_memory(dump):
    """The dump's memory (MemoryList and Memory64List together); empty when it has neither.

    Ranges whose bytes run past the end of the file (a dump cut short while
    being written) keep the part that is there; ``clipped`` counts them.
    """
    def build():
        ranges = []
        for kind, parse in ((fmt.MEMORY_LIST, _memory_list), (fmt.MEMORY64_LIST, _memory64_list)):
            stream = dump.stream(kind)
            if stream is not None:
                ranges += parse(dump, stream)
        kept, clipped = [], 0
        for start, size, rva in ranges:
            available = max(0, min(size, dump.size - rva))
            if available < size:
                clipped += 1
            # A range must end within the 64-bit address space.
            available = min(available, (1 << 64) - start)
            if available:
                kept.append((start, available, rva))
        return Memory(dump, kept, clipped, _stacks(dump))
    return dump.cached("memory", build)
