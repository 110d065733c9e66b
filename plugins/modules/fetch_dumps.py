# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Documentation only: the module is the action plugin plugins/action/fetch_dumps.py.

DOCUMENTATION = r"""
module: fetch_dumps
short_description: Bring the crash dumps of an image to the controller, compressed, verified and complete
version_added: 0.1.0
description:
  - Finds the dumps of the named images everywhere WER LocalDumps may have written them, fetches those the
    controller does not hold yet through the task's own connection (the transport M(ansible.builtin.fetch) uses),
    verifies each by SHA-256 and writes it to O(dest)C(/<inventory_hostname>/<file>) with an entry in
    O(dest)C(/<inventory_hostname>/manifest.json).
  - "Places searched: the C(DumpFolder) of each image's C(LocalDumps) key and of the global key, in the 64-bit and
    the 32-bit registry view (every value found, not only the one in effect, so dumps written under an earlier
    setting are found too); the default folder C(%LOCALAPPDATA%\\CrashDumps) of every profile listed under
    C(HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\ProfileList), which includes C(systemprofile) and the
    C(ServiceProfiles) of LocalService and NetworkService; those three folders also directly; every folder
    M(crashdump.windows.local_dumps) configured for these images or globally (remembered under
    C(HKLM\\SOFTWARE\\crashdump.windows\\DumpFolders), so dumps are still found after cleanup restored
    C(LocalDumps)); and O(extra_folders)."
  - A C(DumpFolder) using C(%LOCALAPPDATA%), C(%APPDATA%), C(%USERPROFILE%), C(%TEMP%) or C(%TMP%) is searched in
    every profile, as WerFault expands it for the crashing account. One using C(%USERNAME%), C(%USERDOMAIN%),
    C(%HOMEPATH%) or C(%ONEDRIVE%) cannot be resolved per profile; it is skipped with a warning (add the folders
    to O(extra_folders)).
  - A dump is a file named C(<image>.*.dmp); WER names them C(<image>.<pid>.dmp) and the pid is taken from the name.
  - The SHA-256 of each dump is computed on the host. A dump whose hash the manifest already records (and whose
    controller file is still there with its size) is not moved again, so a second run reports no change and moves
    no dump bytes.
  - Dumps move compressed when that saves bytes. With O(compress=auto), when any dump to fetch is larger than one
    winrm fetch round trip (512 KiB), every dump to fetch is compressed on the host (GZip, in a folder only SYSTEM,
    Administrators and the connecting account can open) and each moves compressed if that is smaller. The
    controller decompresses it and checks size and SHA-256 against the original before the file is renamed into
    place; a copy that does not verify is deleted and the task fails.
  - Temporary files on the host are always removed, by the same invocation, or (when the connection is lost) by
    the next one.
options:
  exe:
    description:
      - The image file names whose dumps to fetch, for example V(netsh.exe). No path, no wildcards.
      - V(lsass.exe) and the other sensitive system images are refused unless O(allow_sensitive_image=true), except
        when nothing is moved (O(fetch_new=false) without O(remove_after_fetch)), as their dumps are then only listed.
    type: list
    elements: str
    required: true
  dest:
    description:
      - Folder on the controller. Dumps are written to C(DEST/<inventory_hostname>/); that folder is made owner-only
        (0700) and every file in it is 0600. A missing O(dest) is created 0700; an existing one is left as it is.
      - An empty O(dest) is refused.
      - In an ephemeral environment (an AWX or automation controller job runs in a container that is thrown away)
        this must be a persistent, mounted path; see the P(crashdump.windows.harvest#role) role and the harvest
        guide for that and for copying to an S3 bucket.
    type: path
    required: true
  max_age:
    description:
      - Only dumps written within this time before now, for example V(7d), V(12h), V(30m), V(2w), or seconds.
        Compared with the host's file times, so clock skew between the controller and the host counts.
      - All dumps when omitted.
    type: str
  remove_after_fetch:
    description:
      - Delete a dump from the host once its copy on the controller is verified (fetched and verified in this run,
        or held from an earlier run and hashed again now). A dump that failed to transfer or verify is never deleted.
    type: bool
    default: false
  compress:
    description:
      - V(auto) compresses on the host when a dump to fetch is larger than 512 KiB (see the description),
        V(always) compresses every dump to fetch, V(never) moves every dump as it is (no extra round trip).
    type: str
    choices: [auto, always, never]
    default: auto
  max_bytes_per_run:
    description:
      - The most bytes to move over the connection in one run, counted after compression (for example V(500M),
        V(2G)). Dumps are taken newest first, whole; those that do not fit are left on the host for a later run
        and the task fails saying so, after fetching the ones that fit.
      - No limit when omitted.
    type: raw
  min_free_space:
    description:
      - Free space to keep on the controller's file system below O(dest), for example V(1G). Before anything is
        fetched the module checks that the dumps (and the largest compressed copy, decompressed beside itself) fit
        with this much to spare, and fails, fetching nothing, when they do not.
    type: raw
    default: 1G
  extra_folders:
    description:
      - More folders on the host to search, for applications that write dumps elsewhere (absolute paths; machine
        environment variables such as C(%ProgramData%) are expanded).
    type: list
    elements: str
    default: []
  allow_sensitive_image:
    description: Allow fetching dumps of the sensitive system processes (they hold credentials).
    type: bool
    default: false
  trust_manifest:
    description:
      - Count a dump the manifest records as held even when its file is no longer in O(dest), for example because
        it was copied to a bucket and O(dest) does not outlive the job. The P(crashdump.windows.harvest#role) role
        sets this when it reads the manifest back from a bucket.
      - O(remove_after_fetch) never deletes such a dump from the host on the manifest's word alone; only a dump whose
        controller copy is verified in the run is deleted.
    type: bool
    default: false
  fetch_new:
    description:
      - With V(false) nothing is fetched; dumps the controller does not hold yet are listed with status
        V(not_harvested) and left on the host. Together with O(remove_after_fetch=true) this removes from the host
        only the dumps already harvested, after hashing their controller copy again; the
        P(crashdump.windows.cleanup#role) role does this for C(remove_dumps=true).
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description: Reads the host and lists in RV(dumps) what would be fetched (status V(would_fetch)) and in
      RV(would_remove) what O(remove_after_fetch) would delete; moves and writes nothing.
  diff_mode:
    support: none
    description: The result lists every dump and what happened to it instead.
  platform:
    support: full
    platforms: windows
    description: Target OS/families that can be operated against.
  action:
    support: full
    description: Runs as an action plugin on the controller; only the collection's PowerShell agent runs on the host.
extends_documentation_fragment:
  - crashdump.windows.validate_only
notes:
  - C(become) is refused with an error, since the agent runs as the account the connection logs on with.
  - "Round trips: one read batch (search, hashes, Event 1000 records); when any dump is compressed, one batch
    compressing them; one C(fetch_file) per dump fetched (over winrm, one round trip per 512 KiB moved, plus one
    when the size is an exact multiple of it); and, when temporary files were made or O(remove_after_fetch)
    deletes anything, one cleanup batch. A run that finds nothing new makes the read batch only. RV(transfer)
    reports the counts."
  - The compress batch cannot be merged into the read batch (the read batch changes nothing, and check mode must be
    able to run it) nor into the cleanup batch (the compressed files must exist before they are fetched and be
    removed after), so a compressed transfer costs two batches more than the fetches themselves.
  - Each dump in the manifest records the host, image, remote path, size, SHA-256, the remote write and creation
    times, the time it was fetched, the profile (SID) it was found in, the pid from its name and the matching
    Event 1000 (same image and pid, closest in time) when the Application log still holds it.
  - Do not run two harvests of the same host into the same O(dest) at the same time; runs against different hosts
    are independent.
  - Arguments reach the host as JSON data, never as PowerShell text.
seealso:
  - module: crashdump.windows.local_dumps
  - module: ansible.builtin.fetch
  - name: The harvest guide
    description: Persistent destinations in AWX, S3-compatible buckets, the manifest.
    link: https://github.com/crashdump/crashdump.windows/blob/main/docs/docsite/rst/harvest.rst
author:
  - crashdump.windows contributors (@crashdump)
"""

EXAMPLES = r"""
- name: Fetch the dumps of netsh.exe written in the last week
  crashdump.windows.fetch_dumps:
    exe: netsh.exe
    dest: /srv/crash_dumps
    max_age: 7d

- name: Move the dumps off the hosts, at most 2 GB per host and run
  crashdump.windows.fetch_dumps:
    exe: [myservice.exe, myservice-worker.exe]
    dest: /mnt/dumps
    remove_after_fetch: true
    max_bytes_per_run: 2G

- name: What would be fetched?
  crashdump.windows.fetch_dumps:
    exe: netsh.exe
    dest: /srv/crash_dumps
  check_mode: true
  register: would
"""

RETURN = r"""
dest:
  description: The controller folder of this host, C(DEST/<inventory_hostname>).
  returned: always
  type: str
  sample: /srv/crash_dumps/web01
manifest:
  description: The manifest file of this host.
  returned: always
  type: str
  sample: /srv/crash_dumps/web01/manifest.json
dumps:
  description:
    - Every dump found, newest first, with what happened to it. C(status) is V(fetched), V(held) (already on the
      controller; without C(local_path) when only the manifest records it, see O(trust_manifest)), V(duplicate)
      (same content as another dump listed), V(would_fetch) (check mode), V(deferred) (left for a later run by
      O(max_bytes_per_run)), V(not_fetched) (stopped by the free-space check or a full
      disk), V(not_harvested) (not held and O(fetch_new=false)),
      V(failed) (see C(error)), V(vanished) (deleted on the host meanwhile), V(changed) (rewritten on the
      host meanwhile) or V(being_written) (WerFault still holds it open, so it cannot be read; never fetched
      partly; fetch it later).
  returned: always
  type: list
  elements: dict
  sample:
    - remote_path: C:\WER\netsh.exe.4660.dmp
      image: netsh.exe
      pid: 4660
      size: 104973281
      sha256: 6f1c0e8a4e0c3d1f3f1b9f1c1e4d6a1c1d0e2f3a4b5c6d7e8f9a0b1c2d3e4f5a
      mtime: "2026-11-25T10:01:13.000Z"
      profile: null
      status: fetched
      local_path: /srv/crash_dumps/web01/netsh.exe.4660.dmp
      compressed: true
      wire_bytes: 23031543
      event: {record_id: 4107, exception_code: "0xc0000005", module: KERNELBASE.dll, report_id: "5c2a..."}
      found_by: ["DumpFolder of LocalDumps netsh.exe (64-bit view)"]
fetched:
  description: Controller paths of the dumps fetched by this run.
  returned: always
  type: list
  elements: str
removed:
  description: Host paths of the dumps deleted by O(remove_after_fetch).
  returned: always
  type: list
  elements: str
would_remove:
  description: Host paths O(remove_after_fetch) would delete.
  returned: check mode
  type: list
  elements: str
searched:
  description: Every folder searched on the host, whether it exists, and the profile (SID) it belongs to.
  returned: always
  type: list
  elements: dict
transfer:
  description:
    - What the run cost. C(batches) agent executions (read, compress, cleanup), C(fetches) calls of the
      connection's C(fetch_file), C(fetch_round_trips) what those take over winrm (512 KiB each), C(wire_bytes)
      bytes moved, C(dump_bytes) the size of the dumps they gave.
  returned: always
  type: dict
  sample: {batches: 3, fetches: 1, fetch_round_trips: 44, wire_bytes: 23031543, dump_bytes: 104973281}
"""
