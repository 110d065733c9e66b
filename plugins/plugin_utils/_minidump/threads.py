# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ThreadList / ThreadExList, ThreadInfoList and ThreadNames streams."""

from __future__ import annotations

from dataclasses import dataclass

from . import format as fmt


@dataclass(frozen=True)
class Thread:
    id: int
    suspend_count: int
    priority_class: int
    priority: int
    teb: int
    stack_start: int
    stack_size: int
    stack_rva: int
    context_size: int
    context_rva: int


@dataclass(frozen=True)
class ThreadInfo:
    id: int
    dump_flags: int
    dump_error: int
    exit_status: int
    create_time: int  # FILETIME
    exit_time: int
    kernel_time: int  # 100 ns units
    user_time: int
    start_address: int
    affinity: int


def read_threads(dump):
    """The threads of the ThreadList (or of the ThreadExList), in dump order; [] without either."""
    def build():
        stream = dump.stream(fmt.THREAD_LIST)
        layout = fmt.THREAD
        if stream is None:
            stream = dump.stream(fmt.THREAD_EX_LIST)
            layout = fmt.THREAD_EX
        if stream is None:
            return []
        return [Thread(*values[:10]) for values in layout.iter_unpack(dump.counted_entries(stream, layout.size))]
    return dump.cached("threads", build)


def read_thread_infos(dump):
    """ThreadInfoList entries by thread id; {} without the stream."""
    def build():
        stream = dump.stream(fmt.THREAD_INFO_LIST)
        if stream is None:
            return {}
        return {values[0]: ThreadInfo(*values) for values in dump.list_entries(stream, fmt.THREAD_INFO)}
    return dump.cached("thread_infos", build)


def read_thread_names(dump):
    """ThreadNames by thread id (names set with SetThreadDescription); {} without the stream."""
    def build():
        stream = dump.stream(fmt.THREAD_NAMES)
        if stream is None:
            return {}
        names = {}
        for tid, rva in fmt.THREAD_NAME.iter_unpack(dump.counted_entries(stream, fmt.THREAD_NAME.size)):
            names[tid] = dump.string(rva, "name of thread %d" % tid)
        return names
    return dump.cached("thread_names", build)
