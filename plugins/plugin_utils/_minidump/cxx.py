# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The type of a thrown C++ object (exception 0xE06D7363), from the throw information in the dump's memory."""

from __future__ import annotations

from . import format as fmt

MAX_CXX_NAME = 512


def undecorate(name):
    """``.?AVruntime_error@std@@`` -> ``std::runtime_error``; None for what this does not cover (templates)."""
    if not name.startswith((".?AV", ".?AU")) or not name.endswith("@@") or "?" in name[4:]:
        return None
    return "::".join(reversed(name[4:-2].split("@")))


def thrown_type(memory, params, arch):
    """The decorated name of the first catchable type of a thrown C++ object (exception parameters
    ``params``), when in ``memory``; else None."""
    wide = arch != "x86"
    base = params[3] if wide and len(params) >= 4 else 0
    info = memory.read(params[2], fmt.CXX_THROW_INFO.size)
    if info is None:
        return None
    array = base + fmt.CXX_THROW_INFO.unpack(info)[3]
    count = memory.read_unsigned(array, 4)
    first = memory.read_unsigned(array + 4, 4)
    if not count or first is None:
        return None
    catchable = memory.read(base + first, fmt.CXX_CATCHABLE_TYPE.size)
    if catchable is None:
        return None
    descriptor = base + fmt.CXX_CATCHABLE_TYPE.unpack(catchable)[1]
    name_at = descriptor + (16 if wide else 8)
    where = memory.range_at(name_at)
    if where is None:
        return None
    raw = memory.read(name_at, min(MAX_CXX_NAME, where.end - name_at))
    if b"\0" not in raw:
        return None
    return raw.split(b"\0", 1)[0].decode("ascii", errors="replace") or None
