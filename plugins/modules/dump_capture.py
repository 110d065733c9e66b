# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Documentation only: the module is the action plugin plugins/action/dump_capture.py.

DOCUMENTATION = r"""
module: dump_capture
short_description: Crash dumps and page heap for any number of images on a host, in one read and one apply
version_added: 0.1.0
description:
  - Does on a host what M(crashdump.windows.preflight), M(crashdump.windows.local_dumps),
    M(crashdump.windows.gflags) and the check of M(crashdump.windows.service_restart) do, image by image, with
    the same planning code, but reads everything they need in one remote execution and sends at most one more,
    only when something must change. On real Windows each execution starts a PowerShell process, so a fleet run
    costs two executions per host instead of several per image. The P(crashdump.windows.enable#role) and
    P(crashdump.windows.cleanup#role) roles use it.
  - Every image and option is checked before anything is sent; one bad image fails the task with nothing sent.
  - With O(state=present), each image's preflight judges the host as read with the values about to be written
    laid over it, so C(images[].preflight.verdict) says whether a dump will appear once the task is done. A
    preflight blocker (no dump would appear) fails the task before anything changes, unless
    O(preflight_override=true); a O(restart_service) that does not exist or is disabled (or has a disabled
    running dependent) always does. Then LocalDumps is written for each image, then page heap when O(page_heap)
    is given, with the undo records of M(crashdump.windows.local_dumps) and M(crashdump.windows.gflags).
  - The service itself is not restarted here. A restart must see the flags written, so it is a separate task
    (M(crashdump.windows.service_restart)), needed only for the services listed in
    C(images[].preflight.verdict.page_heap.pending).
  - With O(state=absent), it lists the dumps of the images still on the host, removes those already harvested
    to O(harvest_dest) whose copy there still matches its SHA-256 when O(remove_dumps=true), and undoes what
    M(crashdump.windows.local_dumps) and M(crashdump.windows.gflags) did for each image, as their
    O(crashdump.windows.local_dumps#module:state=absent) does (with O(unrecorded) and O(force)).
options:
  exe:
    description:
      - The image file names, for example V(netsh.exe). Each must have an extension, as WER matches the file name
        exactly. A name given twice (in any case) counts once.
      - Sensitive system processes are refused unless O(allow_sensitive_image=true), as
        M(crashdump.windows.local_dumps) does.
    type: list
    elements: str
    required: true
  state:
    description: V(present) turns dump capture on; V(absent) undoes it and lists the dumps left.
    type: str
    choices: [present, absent]
    default: present
  page_heap:
    description:
      - The page heap mode to set for each image, as M(crashdump.windows.gflags)
        O(crashdump.windows.gflags#module:page_heap); omitted, page heap is left as it is.
      - With O(state=absent), page heap is undone as recorded; this option is refused there.
    type: str
    choices: [full, standard, "off"]
  restart_service:
    description:
      - The service that will be restarted after this task so that page heap takes effect. It is checked in the
        read (it must exist and not be disabled), never restarted here.
    type: str
  preflight_override:
    description: Configure even when preflight finds a blocker (no dump would appear).
    type: bool
    default: false
  full_dump_estimate_mb:
    description: The size preflight assumes for a full dump of an image that is not running, in MiB.
    type: int
    default: 1024
  account:
    description:
      - The account whose crash preflight checks besides those that run the image, and for which
        C(images[].local_dumps.account_dump_folder) expands the dump folder (default V(SYSTEM) there).
    type: str
  harvest_dest:
    description:
      - With O(state=absent), the controller folder the harvest wrote the dumps to (the host's dumps are in its
        subfolder named after the inventory host). Default V(~/crash_dumps), the harvest playbook's default.
    type: path
  remove_dumps:
    description:
      - With O(state=absent), remove from the host the dumps held in O(harvest_dest) whose copy there still
        matches its hash; needs O(harvest_dest). Other dumps are kept and listed.
    type: bool
    default: false
  dump_folder:
    description: As M(crashdump.windows.local_dumps) O(crashdump.windows.local_dumps#module:dump_folder).
    type: str
  dump_count:
    description:
      - As M(crashdump.windows.local_dumps) O(crashdump.windows.local_dumps#module:dump_count).
      - With O(state=present) it defaults to V(10), WER's own default, written to each image key. Left out, an
        image would take the global C(DumpCount=0) that O(limit_to_image) writes, and no dump would appear.
    type: int
  dump_type:
    description: As M(crashdump.windows.local_dumps) O(crashdump.windows.local_dumps#module:dump_type).
    type: str
    choices: [custom, mini, full, '0', '1', '2']
  custom_dump_flags:
    description: As M(crashdump.windows.local_dumps) O(crashdump.windows.local_dumps#module:custom_dump_flags).
    type: raw
  registry_views:
    description: As M(crashdump.windows.local_dumps) O(crashdump.windows.local_dumps#module:registry_views).
    type: list
    elements: str
    choices: ["64", "32"]
  create_folder:
    description: As M(crashdump.windows.local_dumps) O(crashdump.windows.local_dumps#module:create_folder).
    type: bool
  folder_acl:
    description:
      - As M(crashdump.windows.local_dumps) O(crashdump.windows.local_dumps#module:folder_acl).
      - The default is that of M(crashdump.windows.local_dumps).
    type: str
  limit_to_image:
    description: As M(crashdump.windows.local_dumps) O(crashdump.windows.local_dumps#module:limit_to_image).
    type: bool
    default: true
  allow_sensitive_image:
    description: Allow the sensitive system processes listed by M(crashdump.windows.local_dumps).
    type: bool
    default: false
  unrecorded:
    description:
      - As M(crashdump.windows.local_dumps) O(crashdump.windows.local_dumps#module:unrecorded), but V(keep) by
        default. LocalDumps values found with no record of the collection's changes are someone else's, so an undo
        run twice never removes them.
    type: str
    choices: [remove, keep]
    default: keep
  force:
    description: With O(state=absent), also restore values someone else changed since they were written.
    type: bool
    default: false
extends_documentation_fragment:
  - crashdump.windows.validate_only
  - crashdump.windows.attributes
attributes:
  diff_mode:
    support: full
    details: One diff per image and setting (LocalDumps, then page heap).
seealso:
  - module: crashdump.windows.preflight
  - module: crashdump.windows.local_dumps
  - module: crashdump.windows.gflags
  - module: crashdump.windows.service_restart
  - module: crashdump.windows.fetch_dumps
author:
  - crashdump.windows contributors (@crashdump)
"""

EXAMPLES = r"""
- name: Full dumps and full page heap for two images, in two executions at most
  crashdump.windows.dump_capture:
    exe: [netsh.exe, notepad.exe]
    dump_folder: C:\WER
    dump_count: 10
    dump_type: full
    page_heap: full
  register: capture

- name: Undo it, removing the dumps already harvested to ~/crash_dumps
  crashdump.windows.dump_capture:
    exe: [netsh.exe, notepad.exe]
    state: absent
    harvest_dest: ~/crash_dumps
    remove_dumps: true
"""

RETURN = r"""
images:
  description:
    - One entry per image, in the order given.
    - C(exe); C(preflight), the result M(crashdump.windows.preflight) returns for it (null with O(state=absent));
      C(local_dumps), the result of M(crashdump.windows.local_dumps); C(gflags), that of
      M(crashdump.windows.gflags) (null when page heap is not touched). Each has its own C(changed).
  returned: always
  type: list
  elements: dict
  sample: [{"exe": "netsh.exe", "preflight": {"verdict": {"dump": true, "dump_type": "full"}},
            "local_dumps": {"changed": true}, "gflags": {"changed": true}}]
dumps:
  description:
    - With O(state=absent), the dumps of the images found on the host, as M(crashdump.windows.fetch_dumps)
      reports them with O(crashdump.windows.fetch_dumps#module:fetch_new=false), that is C(dest), C(manifest),
      C(dumps) (each with C(remote_path), C(size), C(sha256), C(status) V(held) or V(not_harvested)),
      C(removed), C(searched), and in check mode C(would_remove).
  returned: when O(state=absent)
  type: dict
drift:
  description:
    - The values found changed by someone else since the collection wrote them, of every image (LocalDumps, then
      page heap), as M(crashdump.windows.local_dumps) and M(crashdump.windows.gflags) report them in their
      C(drift). Empty when there are none.
  returned: always
  type: list
  elements: dict
blocked:
  description: True when the task failed on preflight blockers before changing anything.
  returned: when blocked
  type: bool
"""
