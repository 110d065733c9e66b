# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The HandleData stream: how many handles the process held, by object type."""

from __future__ import annotations

from dataclasses import dataclass

from . import format as fmt
from .errors import MinidumpError


@dataclass(frozen=True)
class HandleSummary:
    count: int
    by_type: dict  # type name -> count; "" for handles without a type name


def read_handles(dump):
    """A HandleSummary of the HandleData stream, or None when absent."""
    def build():
        stream = dump.stream(fmt.HANDLE_DATA)
        if stream is None:
            return None
        data = dump.stream_data(stream, fmt.HANDLE_DATA_HEADER.size)
        header_size, entry_size, count, _reserved = fmt.HANDLE_DATA_HEADER.unpack_from(data, 0)
        if header_size < fmt.HANDLE_DATA_HEADER.size or entry_size < fmt.HANDLE_DESCRIPTOR.size:
            raise MinidumpError("%s: HandleData stream has header size %d and descriptor size %d"
                                % (dump.name, header_size, entry_size))
        if header_size + count * entry_size > len(data):
            raise MinidumpError("%s: HandleData stream claims %d handles, more than its %d bytes hold"
                                % (dump.name, count, len(data)))
        names = {0: ""}
        by_type = {}
        for i in range(count):
            type_rva = fmt.HANDLE_DESCRIPTOR.unpack_from(data, header_size + i * entry_size)[1]
            if type_rva not in names:
                names[type_rva] = dump.string(type_rva, "type name of handle %d" % i)
            name = names[type_rva]
            by_type[name] = by_type.get(name, 0) + 1
        return HandleSummary(count, dict(sorted(by_type.items())))
    return dump.cached("handles", build)
