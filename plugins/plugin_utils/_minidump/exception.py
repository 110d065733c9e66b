# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Exception stream: what the crashing thread raised, and its context at that point."""

from __future__ import annotations

from dataclasses import dataclass

from . import format as fmt


@dataclass(frozen=True)
class ExceptionRecord:
    thread_id: int
    code: int
    flags: int
    nested_record: int  # address of a chained EXCEPTION_RECORD, 0 if none
    address: int
    parameters: tuple
    declared_parameters: int  # NumberParameters as written (more than 15 is corrupt)
    context_size: int
    context_rva: int


def read_exception(dump):
    """The Exception stream, or None when the dump has none (a dump taken without a crash)."""
    def build():
        stream = dump.stream(fmt.EXCEPTION)
        if stream is None:
            return None
        data = dump.stream_data(stream, fmt.EXCEPTION_STREAM.size)
        values = fmt.EXCEPTION_STREAM.unpack_from(data, 0)
        thread_id, _align, code, flags, nested, address, count, _align2 = values[:8]
        parameters = values[8:8 + min(count, fmt.EXCEPTION_MAXIMUM_PARAMETERS)]
        context_size, context_rva = values[23:25]
        return ExceptionRecord(thread_id, code, flags, nested, address, tuple(parameters), count,
                               context_size, context_rva)
    return dump.cached("exception", build)
