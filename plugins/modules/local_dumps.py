# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Documentation only: the module is the action plugin plugins/action/local_dumps.py.

DOCUMENTATION = r"""
module: local_dumps
short_description: Configure WER LocalDumps for an image, exactly and reversibly
version_added: 0.1.0
description:
  - Configures Windows Error Reporting (WER) C(LocalDumps) so that a crashing process writes a dump file,
    as the Microsoft crash troubleshooting guidance does with C(reg add) and C(md C:\\WER).
  - Writes the per-image key C(HKLM\\SOFTWARE\\Microsoft\\Windows\\Windows Error Reporting\\LocalDumps\\<exe>)
    in the native 64-bit and the WOW64 32-bit registry views, or the global C(LocalDumps) key when O(exe) is omitted.
  - Options left unset are left as they are on the host.
  - Before changing anything it records on the host, under C(HKLM\\SOFTWARE\\crashdump.windows\\Undo), each value
    it will touch (type and data, or absence) and each key and folder it will create. O(state=absent) restores
    exactly that, deletes only keys it created that are empty, and forgets the record.
  - The record also holds what the module wrote. A value someone else changed since (DumpCount 10 made 20 by
    hand) is theirs; O(state=absent) keeps it, with the key holding it, and reports it in RV(drift) and a warning,
    unless O(force=true). Records in the older format (version 1) hold no written data, so their restore cannot
    see such changes, replaces them as before, and says so in a warning.
  - Without such a record (LocalDumps configured by hand, or already restored), O(state=absent) removes only
    C(DumpFolder), C(DumpCount), C(DumpType) and C(CustomDumpFlags) from the image key, and the key if that leaves
    it empty; with O(unrecorded=keep) it leaves them.
  - A O(dump_folder) it sets is also remembered, outside the undo record, under
    C(HKLM\\SOFTWARE\\crashdump.windows\\DumpFolders) (one value per image, or C((global))), so that
    M(crashdump.windows.fetch_dumps) still finds the dumps there after O(state=absent) restored C(LocalDumps).
    O(state=absent) forgets that folder once it holds no dump of the image (of any image for the global key); a
    folder it created that had to stay because dumps were in it is remembered too, and removed (if empty) then.
options:
  exe:
    description:
      - The image file name, for example C(netsh.exe). No path, no wildcards.
      - Omit it to configure the global C(LocalDumps) key, which applies to every process.
      - V(lsass.exe), V(csrss.exe), V(wininit.exe), V(winlogon.exe), V(smss.exe) and V(services.exe) are refused
        unless O(allow_sensitive_image=true).
    type: str
  state:
    description:
      - V(present) configures the values given; V(absent) undoes what this module did (see the description).
    type: str
    choices: [present, absent]
    default: present
  dump_folder:
    description:
      - C(DumpFolder), written as C(REG_EXPAND_SZ); environment variables are kept unexpanded.
      - WER's default is C(%LOCALAPPDATA%\\CrashDumps) of the crashing account.
      - A fully qualified path (C(C:\\WER), C(\\\\server\\share\\dumps)) or one starting with an environment
        variable. A relative (C(dumps)), drive-relative (C(C:dumps)) or rooted (C(\\dumps)) path is refused, as Windows
        would resolve it against a current directory.
      - On a share, WerFault writes as the crashing account (SYSTEM and NetworkService reach the share as the
        computer account, LocalService anonymously), so the share must let it write; O(create_folder) is refused.
    type: str
  dump_count:
    description:
      - C(DumpCount), the number of dump files kept in the folder; the oldest is replaced. 0 to 1000.
      - Left out for an image while the global C(DumpCount) is 0 (the guard O(limit_to_image) writes, or one
        already there), the image key gets WER's default of 10, because without a value of its own the image
        would take the global 0 and no dump of it would appear.
    type: int
  dump_type:
    description:
      - C(DumpType). V(mini) (1, WER's default), V(full) (2), or V(custom) (0, uses O(custom_dump_flags)).
      - A global V(full) is refused unless O(allow_global_full_dump=true).
    type: str
    choices: [custom, mini, full, '0', '1', '2']
  custom_dump_flags:
    description:
      - C(CustomDumpFlags), only with O(dump_type=custom). A list of C(MINIDUMP_TYPE) names (such as
        V(WithFullMemory), V(WithHandleData); a C(MiniDump) prefix is accepted) or one integer mask.
    type: raw
  registry_views:
    description:
      - The registry views to write. V(64) is the native view, V(32) the WOW64 view (C(Wow6432Node)).
      - Both by default, as the Microsoft guidance does. On 32-bit Windows only the native view exists; the default
        then writes it alone, and an explicit V(32) is dropped with a warning.
    type: list
    elements: str
    choices: ["64", "32"]
  create_folder:
    description:
      - Create O(dump_folder) if it does not exist, with the ACL O(folder_acl).
      - Defaults to V(true) when O(dump_folder) is a literal local path, V(false) when it uses environment
        variables or is a UNC path (V(true) is refused for a UNC path). An existing folder is never changed; when
        its ACL differs from O(folder_acl), the module warns and says so in RV(folder).
    type: bool
  folder_acl:
    description:
      - Owner, group and DACL of a folder the module creates, as SDDL.
      - Any owner may be named, for example V(O:SY); the agent enables SeRestorePrivilege and
        SeTakeOwnershipPrivilege to set it. If the ACL cannot be set, the folders just created are removed and the
        task fails; no folder is left with the ACL it inherited.
      - The default lets every crashing account create its dump (Authenticated Users may list the folder and add
        files, but not read them) while only SYSTEM and Administrators can read all dumps; the account that wrote a
        dump owns it (CREATOR OWNER) and can read its own dump. It is protected from inheriting the parent's ACL.
      - The trade-off is that no account can delete another account's dump, so if WER needs to delete an old dump
        written by another account to honour C(DumpCount), it cannot; widen the ACL if that matters to you.
    type: str
    default: "O:BAG:SYD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;;0x1000a3;;;AU)(A;OICIIO;FA;;;CO)"
  limit_to_image:
    description:
      - The bare existence of the C(LocalDumps) key makes every process on the host write mini dumps. When this
        module has to create C(LocalDumps) for a per-image key, it also sets the global C(DumpCount=0) so that only
        the named image is dumped, and warns.
      - This relies on WER writing no dump when C(DumpCount) is 0, which practitioners report but Microsoft does
        not document. Set V(false) to leave C(LocalDumps) without that value.
      - The global value is shared by every image this module configures and is removed with the last of them.
    type: bool
    default: true
  account:
    description:
      - Report in RV(account_dump_folder) where a dump of a process running as this account lands
        (C(%LOCALAPPDATA%) and other variables expanded as WER does for it), for example V(SYSTEM),
        V(LocalService), V(NetworkService), their SIDs (V(S-1-5-18), V(S-1-5-19), V(S-1-5-20)) or a user name
        (V(.\\name) or V(HOST\\name) for a local one).
    type: str
    default: SYSTEM
  allow_sensitive_image:
    description: Allow dumping the sensitive system processes listed under O(exe).
    type: bool
    default: false
  allow_global_full_dump:
    description: Allow O(dump_type=full) on the global key.
    type: bool
    default: false
  unrecorded:
    description:
      - What O(state=absent) does when the host holds no record of this module's changes for the image.
      - V(remove) removes the values this module manages (see the description).
      - V(keep) changes nothing, so running an undo twice never removes settings that were there before the first
        change. The P(crashdump.windows.cleanup#role) role uses this.
    type: str
    choices: [remove, keep]
    default: remove
  force:
    description:
      - With O(state=absent), also restore values someone else changed after this module wrote them.
      - By default such a value is kept and reported in RV(drift).
    type: bool
    default: false
extends_documentation_fragment:
  - crashdump.windows.validate_only
  - crashdump.windows.attributes
notes:
  - Warns when AeDebug C(Auto=1) with a C(Debugger) is set (a postmortem debugger prevents LocalDumps), when WER
    is disabled by C(Disabled=1) or policy, and when the C(WerSvc) service is disabled.
  - Which registry view WER reads for 32-bit processes is not documented; writing both views is harmless.
seealso:
  - module: crashdump.windows.gflags
  - name: Collecting User-Mode Dumps
    description: Microsoft's documentation of the LocalDumps values.
    link: https://learn.microsoft.com/windows/win32/wer/collecting-user-mode-dumps
author:
  - crashdump.windows contributors (@crashdump)
"""

EXAMPLES = r"""
- name: Collect up to 10 full dumps of netsh.exe in C:\WER, as the Microsoft guidance does
  crashdump.windows.local_dumps:
    exe: netsh.exe
    dump_folder: C:\WER
    dump_count: 10
    dump_type: full

- name: A custom dump with handles and thread information
  crashdump.windows.local_dumps:
    exe: myservice.exe
    dump_type: custom
    custom_dump_flags: [WithHandleData, WithThreadInfo, WithUnloadedModules]

- name: Undo exactly what was done for netsh.exe
  crashdump.windows.local_dumps:
    exe: netsh.exe
    state: absent
"""

RETURN = r"""
key:
  description: The registry key configured (in the native view path form).
  returned: always
  type: str
  sample: HKLM\SOFTWARE\Microsoft\Windows\Windows Error Reporting\LocalDumps\netsh.exe
views:
  description:
    - The values of the key before and after, per view (null when the key does not exist).
    - C(64) is the native view and C(32) the WOW64 view; 32-bit Windows has only the native view, C(64).
  returned: always
  type: dict
  sample: {"64": {"before": null, "after": {"DumpType": {"type": "REG_DWORD", "data": 2}}},
           "32": {"before": null, "after": null}}
effective:
  description:
    - The configuration WER applies to the image (per-image over global over defaults), from the native view,
      and where each value comes from (image, global or default).
  returned: always
  type: dict
  sample: {"dump_folder": "C:\\WER", "dump_count": 10, "dump_type": "full", "custom_dump_flags": 289,
           "sources": {"DumpFolder": "image", "DumpCount": "image", "DumpType": "image", "CustomDumpFlags": "default"}}
dump_scope:
  description: Which crashing processes write a dump after the task (V(none), V(image) or V(all_processes)).
  returned: always
  type: str
  sample: image
account:
  description: The account O(account) named.
  returned: always
  type: str
account_dump_folder:
  description: The folder a dump of a process running as O(account) lands in.
  returned: always
  type: str
  sample: C:\Windows\System32\config\systemprofile\AppData\Local\CrashDumps
drift:
  description:
    - The values O(state=absent) found changed by someone else since this module wrote them (another type or
      data, or deleted). Each is kept as it is (C(kept=true)), or with O(force=true) restored to its prior
      (C(kept=false)); a warning names each. Empty when nothing changed, or when nothing was restored.
    - C(written) is what this module wrote, C(current) what the host held (null when absent).
  returned: always
  type: list
  elements: dict
  sample: [{"key": "HKLM\\SOFTWARE\\Microsoft\\Windows\\Windows Error Reporting\\LocalDumps\\netsh.exe",
            "view": 64, "name": "DumpCount", "written": {"type": "REG_DWORD", "data": 10},
            "current": {"type": "REG_DWORD", "data": 20}, "kept": true}]
folder:
  description:
    - The dump folder, when O(create_folder) applies or the module removed folders; empty otherwise.
    - C(path); C(created) (true also in check mode, for the folder that would be created); C(sddl) (the ACL
      set, or would be set, on a created folder; the ACL found on an existing one); for an existing folder
      C(acl_matches) (whether it holds O(folder_acl); null when its ACL could not be read) and C(acl_differs)
      (the parts that differ, among owner, group and DACL); C(removed) (folders removed by O(state=absent)).
  returned: always
  type: dict
  sample: {"path": "C:\\WER", "created": true, "sddl": "O:BAG:SYD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"}
"""
