# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Documentation only: the module is the action plugin plugins/action/preflight.py.

DOCUMENTATION = r"""
module: preflight
short_description: Check, before the crash, whether a dump of an image will appear and where
version_added: 0.1.0
description:
  - Answers, before the crash you are waiting for, the question no other tool answers. Will a crash of O(exe) leave
    a WER LocalDumps dump, where, and what could stop it? It reads the host once, in one remote execution.
  - Checks what the Microsoft crash troubleshooting guidance asks to verify "before you begin" (operating system
    updates, the application's version, antivirus and its exclusions), and the settings that silently prevent a
    dump.
  - Reports findings in RV(findings), each with a severity (V(blocker) no dump will appear, V(warning) a dump may
    not appear or something needs attention, V(info)), the evidence it is based on, and a fix.
  - "It covers: the OS version and build and the newest installed update; the image's installed paths and file
    versions, and its running instances (pid, start time, account, services); WER C(Disabled) values and policy, and
    the C(WerSvc) service; an AeDebug postmortem debugger (C(Auto=1), such as C(procdump -i)), which prevents
    LocalDumps, and an IFEO C(Debugger) on the image; the LocalDumps settings in effect for the image and the folder
    the dump lands in for each account that runs it, and whether that account may write there; values WER ignores
    (unknown or misspelled names such as C(CrashCount), wrong types, C(DumpType) outside 0 to 2, LocalDumps under
    HKCU or in the 32-bit view only); free space on the folder's volume against the expected dump size times
    C(DumpCount); antivirus products and whether Microsoft Defender excludes the dump folder; and the PowerShell
    language mode."
  - The findings and their identifiers are described in the collection's preflight guide.
  - The module never changes the host and always reports C(changed=false); it does not fail on blockers. The
    P(crashdump.windows.enable#role) role stops on blockers unless told otherwise.
options:
  exe:
    description:
      - The image file name, for example C(netsh.exe). No path, no wildcards.
    type: str
    required: true
  paths:
    description:
      - Full paths where the image may be installed, to report their file versions. Environment variables are
        expanded on the host.
      - System32, SysWOW64, the App Paths registration, the services that run the image and its running instances
        are always looked at.
    type: list
    elements: str
    default: []
  account:
    description:
      - Check where a dump lands, and whether the account may write there, also for this account, for example
        V(NT AUTHORITY\\LocalService) or V(CONTOSO\\svc-app).
      - Also V(.\\name) or V(HOST\\name) for a local account, or a SID. The built-in service accounts
        (V(LocalSystem), V(LocalService), V(NetworkService), in any spelling) are looked up by SID, so they are
        found on Windows in any language.
      - Without it, the accounts of the running instances are checked; when none runs, the accounts of the services
        that run the image; when there are none, V(SYSTEM).
    type: str
  dump_folder:
    description:
      - Check as if the image's LocalDumps key held this C(DumpFolder) (what P(crashdump.windows.enable#role) or
        M(crashdump.windows.local_dumps) is about to write). Omitted, the host's setting is checked.
    type: str
  dump_count:
    description:
      - Check as if the image's LocalDumps key held this C(DumpCount).
    type: int
  dump_type:
    description:
      - Check as if the image's LocalDumps key held this C(DumpType).
    type: str
    choices: [custom, mini, full, '0', '1', '2']
  full_dump_estimate_mb:
    description:
      - The size assumed for a full dump when the image is not running, in MiB. When it runs, the largest private
        bytes of its instances is used instead (a full dump holds at least that).
      - A mini dump is assumed to take 8 MiB.
    type: int
    default: 1024
  limit_to_image:
    description:
      - Check as if the writer sets a global C(DumpCount=0) when it creates LocalDumps, as
        M(crashdump.windows.local_dumps) does with O(crashdump.windows.local_dumps#module:limit_to_image=true);
        this decides what other processes get (C(other_processes) of RV(verdict)).
    type: bool
    default: false
  page_heap:
    description:
      - Check as if this page heap mode were written for the image (what M(crashdump.windows.gflags) is about to
        write); C(page_heap) of RV(verdict) then lists the running instances that will not have it until they restart.
      - Omitted, the image's flags on the host are checked.
    type: str
    choices: [full, standard, "off"]
  restart_service:
    description:
      - A service about to be restarted so that page heap takes effect. A finding says when it does not exist
        (V(restart_service_missing)), is disabled (V(restart_service_disabled)), or does not run the image.
    type: str
extends_documentation_fragment:
  - crashdump.windows.validate_only
  - crashdump.windows.attributes.INFO
notes:
  - The module runs as an action plugin and sends one batch of reads to the host over the task's connection
    (C(winrm), C(psrp) or C(ssh) with the PowerShell shell).
  - In PowerShell C(ConstrainedLanguage) mode (WDAC or AppLocker) the collection's agent cannot run; the module then
    reports that as its only finding, a blocker, instead of failing.
  - Whether an account may write to a folder is decided from the folder's DACL for the account and the well-known
    groups its token holds (Everyone, Authenticated Users, Users, SERVICE or INTERACTIVE; SYSTEM also Administrators);
    other group memberships are not known, so a folder writable only through them is reported as not writable.
  - Whether WER C(Disabled=1), a disabled C(WerSvc), or a C(DumpCount) of 0 stop LocalDumps is not documented by
    Microsoft; the findings say what they rely on.
seealso:
  - module: crashdump.windows.local_dumps
  - module: crashdump.windows.gflags
  - name: Collecting User-Mode Dumps
    description: Microsoft's documentation of the LocalDumps values.
    link: https://learn.microsoft.com/windows/win32/wer/collecting-user-mode-dumps
author:
  - crashdump.windows contributors (@crashdump)
"""

EXAMPLES = r"""
- name: Will a crash of netsh.exe leave a dump?
  crashdump.windows.preflight:
    exe: netsh.exe
  register: preflight

- name: Show what stops it
  ansible.builtin.debug:
    msg: "{{ preflight.findings | selectattr('severity', 'equalto', 'blocker') | map(attribute='message') }}"

- name: Check a planned configuration, for a service account, before writing it
  crashdump.windows.preflight:
    exe: myservice.exe
    account: NT AUTHORITY\LocalService
    dump_folder: D:\Dumps
    dump_count: 5
    dump_type: full
    paths:
      - C:\Program Files\Contoso\MyService\myservice.exe
"""

RETURN = r"""
findings:
  description:
    - What was found, blockers first, then warnings, then information.
    - C(id) identifies the kind of finding (see the preflight guide), C(severity) is V(blocker), V(warning) or
      V(info), C(message) says what was found and what it means, C(evidence) holds the data it is based on, and
      C(fix) says what to do (null when nothing needs doing).
  returned: always
  type: list
  elements: dict
  sample:
    - id: postmortem_debugger
      severity: blocker
      message: "AeDebug Auto=1 with Debugger 'procdump.exe -accepteula -j C:\\Dumps %ld %ld %p': the postmortem
        debugger takes every crash instead of WER, so LocalDumps writes no dump."
      evidence: {"key": "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\AeDebug", "view": 64}
      fix: If it is ProcDump (procdump -i), run procdump -u; otherwise set Auto to 0 or delete Debugger.
counts:
  description: The number of findings of each severity.
  returned: always
  type: dict
  sample: {"blocker": 0, "warning": 1, "info": 7}
dump_locations:
  description:
    - Per account checked, where a dump lands and whether it can be written there.
    - C(folder) is null when the folder is not a usable path; C(writable) and C(creatable) are null when unknown;
      C(creatable) is also null when the folder exists.
  returned: always
  type: list
  elements: dict
  sample:
    - account: NT AUTHORITY\SYSTEM
      sid: S-1-5-18
      pids: []
      why: SYSTEM, as no instance runs and no service names an account (set account)
      folder: C:\WER
      file_pattern: C:\WER\netsh.exe.<pid>.dmp
      exists: true
      writable: true
      creatable: null
      volume: {"root": "C:\\", "exists": true, "ready": true, "free_bytes": 51539607552,
               "total_bytes": 136365211648, "format": "NTFS"}
effective:
  description:
    - The LocalDumps settings in effect for the image (per-image over global over WER's defaults, with the planned
      values on top), and where each comes from (V(image), V(global), V(default) or V(planned)).
  returned: when the agent could run
  type: dict
  sample: {"dump_folder": "C:\\WER", "dump_count": 10, "dump_type": "full", "custom_dump_flags": 289,
           "sources": {"DumpFolder": "image", "DumpCount": "image", "DumpType": "image",
                       "CustomDumpFlags": "default"}}
verdict:
  description:
    - The answer, on the host's state with the planned values written.
    - C(dump) says whether a crash of the image leaves a dump (no blocker, and a usable folder); C(blockers) the
      reasons when not; C(dump_type), C(dump_count) and C(files) (file patterns per account) where and what.
    - C(image_found) is false when the image is in no file, service or running process the preflight looked at.
    - C(other_processes) is what a crash of a process without a LocalDumps key of its own leaves (C(dump_folder),
      C(dump_count), C(dump_type), C(source) V(global) or V(default)), or null when no dump.
    - C(page_heap) has the page heap C(mode) and the running instances (C(pid), C(start_time), C(services)) that
      started before the image's IFEO key was last written, or before the planned write, and so do not have it
      (C(pending)).
  returned: always
  type: dict
  sample: {"dump": true, "blockers": [], "dump_type": "full", "dump_count": 10,
           "files": ["C:\\WER\\netsh.exe.<pid>.dmp"], "image_found": true, "other_processes": null,
           "page_heap": {"mode": "full", "pending": [{"pid": 4416, "start_time": "2026-12-04T16:54:29.973Z",
                                                      "services": ["NetshSvc"]}]}}
os:
  description: The host's operating system, PowerShell, and installed updates.
  returned: when the agent could run
  type: dict
  sample: {"hostname": "WEB01", "os_name": "Microsoft Windows Server 2022 Datacenter", "version": "10.0.20348",
           "build": 20348, "arch": "AMD64", "ps_version": "5.1.20348.2849", "language_mode": "FullLanguage",
           "updates": {"count": 12, "undated": 0, "age_days": 8,
                       "newest": {"id": "KB5046616", "description": "Security Update", "installed_on": "2026-11-12"}}}
image:
  description:
    - The image's files (path, where it was found, version), the services that run it, and its running instances
      (pid, start time, account, services, private bytes).
  returned: when the agent could run
  type: dict
"""
