# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The MiscInfo stream: process id and times, integrity level, OS build string."""

from __future__ import annotations

from dataclasses import dataclass

from . import format as fmt


@dataclass(frozen=True)
class MiscInfo:
    process_id: int | None
    create_time: int | None  # seconds since 1970 (UTC)
    user_time: int | None  # seconds
    kernel_time: int | None
    integrity_level: int | None
    execute_flags: int | None  # MEM_EXECUTE_OPTION_* (DEP)
    protected_process: int | None
    build_string: str | None


def read_misc_info(dump):
    """The MiscInfo stream (any of its versions 1 to 5), or None when absent."""
    def build():
        stream = dump.stream(fmt.MISC_INFO)
        if stream is None:
            return None
        data = dump.stream_data(stream, fmt.MISC_INFO_SIZE)
        _size, flags, pid, create, user, kernel = fmt.MISC_INFO_STRUCT.unpack_from(data, 0)
        has_times = bool(flags & fmt.MISC1_PROCESS_TIMES)
        integrity = execute = protected = None
        if len(data) >= fmt.MISC_INFO_3_SIZE:
            level, exec_flags, is_protected, _zone = fmt.MISC_INFO_3_PROCESS.unpack_from(data, fmt.MISC_INFO_2_SIZE)
            integrity = level if flags & fmt.MISC3_PROCESS_INTEGRITY else None
            execute = exec_flags if flags & fmt.MISC3_PROCESS_EXECUTE_FLAGS else None
            protected = is_protected if flags & fmt.MISC3_PROTECTED_PROCESS else None
        build_string = None
        if len(data) >= fmt.MISC_INFO_4_SIZE and flags & fmt.MISC4_BUILDSTRING:
            raw = data[fmt.MISC_INFO_4_BUILD_OFFSET:fmt.MISC_INFO_4_BUILD_OFFSET + 520]
            build_string = raw.decode("utf-16-le", errors="replace").split("\0", 1)[0] or None
        return MiscInfo(pid if flags & fmt.MISC1_PROCESS_ID else None,
                        create if has_times else None, user if has_times else None,
                        kernel if has_times else None, integrity, execute, protected, build_string)
    return dump.cached("misc_info", build)
