# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Documentation only: the module is the action plugin plugins/action/wait_for_dump.py.

DOCUMENTATION = r"""
module: wait_for_dump
short_description: Wait until a new crash dump of an image exists on a Windows host
version_added: 0.1.0
description:
  - Waits, up to O(timeout) seconds, until WER has written a new dump of the image (or of one of the images) on the
    host, so that a workflow (enable, then wait, then harvest) can run unattended while the application is left to
    crash again.
  - New means not there when the task started, or, with O(since), modified at or after that time. A dump WerFault
    is still writing does not count until it is complete.
  - Every poll is one remote execution that lists the places M(crashdump.windows.fetch_dumps) searches (the
    DumpFolder values of both registry views, the folders the collection configured, the default folder of every
    profile and of the service accounts, O(extra_folders)); only files newer than those seen at the start are
    hashed.
  - Fails when no new dump appeared within O(timeout), with RV(timed_out) V(true); it never succeeds without a new
    dump.
  - In check mode it does not wait; it lists once and reports the new dumps there are (with O(since)), or none.
options:
  exe:
    description: The image file name (such as V(netsh.exe)), or a list of them; a new dump of any of them ends the wait.
    type: list
    elements: str
    required: true
  timeout:
    description: The longest time to wait, in seconds; V(0) lists once.
    type: int
    default: 3600
  poll_interval:
    description: Seconds between two polls of the host.
    type: int
    default: 30
  since:
    description:
      - Count as new the dumps modified at or after this ISO 8601 time of the host's clock (V(2026-11-01T08:00:00Z));
        a time without an offset is UTC. Without it, new is what was not there when the task started.
    type: str
  extra_folders:
    description: More host folders to search, as M(crashdump.windows.fetch_dumps) takes them.
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - crashdump.windows.validate_only
  - crashdump.windows.attributes.INFO
seealso:
  - module: crashdump.windows.fetch_dumps
author:
  - crashdump.windows contributors (@crashdump)
"""

EXAMPLES = r"""
- name: Wait up to a day for netsh.exe to crash again, then fetch its dump
  crashdump.windows.wait_for_dump:
    exe: netsh.exe
    timeout: 86400
    poll_interval: 60
  register: waited

- name: Count the dumps written since the enable run too
  crashdump.windows.wait_for_dump:
    exe: netsh.exe
    since: "2026-11-01T08:00:00Z"
    timeout: 0
"""

RETURN = r"""
dump:
  description: The newest new dump (remote_path, name, image, pid, size, sha256, mtime, ctime, profile, found_by).
  returned: success
  type: dict
  sample: {"remote_path": "C:\\WER\\netsh.exe.4660.dmp", "name": "netsh.exe.4660.dmp", "image": "netsh.exe",
           "pid": 4660, "size": 1048576, "mtime": "2026-11-02T10:01:02.345Z"}
dumps:
  description: Every new dump found by the last poll, newest first.
  returned: always
  type: list
  elements: dict
being_written:
  description: New dumps that WerFault was still writing at the last poll.
  returned: always
  type: list
  elements: str
baseline:
  description: The number of dumps of the images there were when the task started (V(0) with O(since)).
  returned: always
  type: int
  sample: 2
polls:
  description: Remote executions made, the first listing included.
  returned: always
  type: int
  sample: 3
elapsed:
  description: Seconds waited.
  returned: always
  type: float
  sample: 61.2
skipped_wait:
  description: V(true) in check mode when no new dump was there, since check mode does not wait.
  returned: when check mode did not wait
  type: bool
timed_out:
  description: V(true) when the task failed because no new dump appeared within O(timeout).
  returned: on timeout
  type: bool
"""
