# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Documentation only: the module is the action plugin plugins/action/gflags.py.

DOCUMENTATION = r"""
module: gflags
short_description: Set GFlags image-file flags and page heap for an image, exactly and reversibly
version_added: 0.1.0
description:
  - Sets or clears image-file flags in the C(GlobalFlag) value of
    C(HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Image File Execution Options\<image>), as
    C(gflags /i <image> +flag) and C(-flag) do, and turns page heap on or off as C(gflags /p /enable [/full]) and
    C(gflags /p /disable) do, without needing C(gflags.exe) on the host.
  - Only the bits named in O(flags) change; every other bit is kept. Only C(GlobalFlag) and C(PageHeapFlags) are
    ever written. C(Debugger), C(VerifierDlls), C(MitigationOptions), C(UseFilter) and its subkeys, and any other
    value or subkey of the image key are never touched.
  - Reads C(GlobalFlag) as C(REG_SZ) (hexadecimal C(0x02000000) in any case, or decimal) or C(REG_DWORD). Writes
    C(REG_SZ) C(0x%08x) as gflags does, or C(REG_DWORD) when the existing value is a DWORD. A value it cannot read
    fails the task before anything is changed.
  - The key is written in the native registry view only; Windows shares it between the 64-bit and 32-bit views.
  - Flags take effect the next time the image starts; RV(processes) lists the instances running now.
  - Before changing anything it records on the host, under C(HKLM\SOFTWARE\crashdump.windows\Undo), the prior
    type and data (or absence) of each value it touches and whether it created the image key. Whenever the values
    come back to those priors the record is forgotten and the image key, if this module created it and it is empty,
    is deleted.
  - The record also holds what the module wrote. Undo clears only the bits this module set and gives back only
    those it cleared; a bit someone else changed since (C(+ust) added by hand) is kept, and so is the image key
    holding it, and reported in RV(drift) and a warning, unless O(force=true). When the bits come back to the
    prior number, the prior value comes back exactly (type, spelling or absence). Records in the older format
    (version 1) hold no written data, so their restore cannot see such changes, replaces them as before, and says so.
options:
  image:
    description:
      - The image file name, for example C(netsh.exe). No path, no wildcards.
      - V(lsass.exe), V(csrss.exe), V(wininit.exe), V(winlogon.exe), V(smss.exe) and V(services.exe) are refused
        unless O(allow_sensitive_image=true).
    type: str
    required: true
  flags:
    description:
      - Image-file flags to set (O(state=present)) or clear (O(state=absent)), as gflags abbreviations or integers.
      - V(soe) stop on exception 0x1, V(sls) show loader snaps 0x2, V(htc) heap tail checking 0x10,
        V(hfc) heap free checking 0x20, V(hpc) heap parameter checking 0x40, V(hvc) heap validation on call 0x80,
        V(vrf) application verifier 0x100, V(htg) heap tagging 0x800, V(ust) user mode stack trace database 0x1000,
        V(htd) heap tagging by DLL 0x8000, V(dse) disable stack extension 0x10000,
        V(scb) system critical breaks 0x100000, V(dhc) disable heap coalesce on free 0x200000,
        V(hpa) page heap 0x2000000, V(cse) early critical section event creation 0x10000000,
        V(sue) stop on unhandled user-mode exception 0x20000000, V(dpd) disable protected DLL verification
        0x80000000.
      - System-wide and kernel flags (such as V(ksl), V(ptg), V(otl)), unknown names and integers with other bits are
        refused before anything is sent to the host. So is 0x200, which Silent Process Exit monitoring sets with its
        own key.
    type: list
    elements: raw
    default: []
  state:
    description:
      - V(present) sets the bits in O(flags) and applies O(page_heap).
      - V(absent) clears the bits in O(flags). When that brings C(GlobalFlag) back to the bits it had before this
        module first changed it, every value the module touched is put back exactly as it was (type, spelling or
        absence, C(PageHeapFlags) included), the image key is deleted if this module created it and it is empty, and
        the record is forgotten.
      - V(absent) without O(flags) undoes everything this module did for the image in that way.
      - Without a record (flags set by hand or by gflags), V(absent) clears only the bits in O(flags). If that leaves
        no bit, C(GlobalFlag) is kept with the value 0 (C(0x00000000), or a DWORD 0) rather than deleted, because
        this module did not create it and a C(GlobalFlag) value, even 0, may be there on purpose.
      - Clearing bits adds nothing to the record; a later undo puts back the values as they were before this module
        first set something.
    type: str
    choices: [present, absent]
    default: present
  page_heap:
    description:
      - V(full) or V(standard) sets V(hpa) in C(GlobalFlag) and the page heap mode bit of C(PageHeapFlags)
        (written as C(REG_SZ) C(0x3) or C(0x2) when absent, as gflags does; its other bits are kept).
      - V(off) clears V(hpa) and deletes C(PageHeapFlags), as C(gflags /p /disable) does.
      - Only with O(state=present), and not together with V(hpa) in O(flags).
      - Full page heap multiplies the memory the image uses; on a large service it can exhaust memory.
    type: str
    choices: [full, standard, "off"]
  allow_sensitive_image:
    description: Allow the sensitive system images listed under O(image).
    type: bool
    default: false
  force:
    description:
      - With O(state=absent), also restore values someone else changed after this module wrote them.
      - By default such a value is kept (of C(GlobalFlag) and C(PageHeapFlags), the bits changed) and reported in
        RV(drift).
    type: bool
    default: false
extends_documentation_fragment:
  - crashdump.windows.validate_only
  - crashdump.windows.attributes
notes:
  - Warns loudly when the image key has a C(Debugger) value. Windows then starts that program instead of the image,
    which is how debuggers attach at start and also a known hijacking and persistence technique.
  - Warns when C(UseFilter) is set, since processes whose path matches a C(FilterFullPath) subkey read their options
    from that subkey instead.
  - What C(gflags.exe) does when the last bit is cleared is not documented (ReactOS deletes C(GlobalFlag)). This
    module deletes it only if it created it.
  - With V(hpa) set and no C(PageHeapFlags), the page heap mode is the page heap default; RV(before) and RV(after)
    report it as V(default). Set O(page_heap) to choose the mode explicitly.
seealso:
  - module: crashdump.windows.local_dumps
  - name: GFlags
    description: Microsoft's documentation of GFlags and its flag table.
    link: https://learn.microsoft.com/windows-hardware/drivers/debugger/gflags
author:
  - crashdump.windows contributors (@crashdump)
"""

EXAMPLES = r"""
- name: Full page heap for netsh.exe, as gflags /p /enable netsh.exe /full does
  crashdump.windows.gflags:
    image: netsh.exe
    page_heap: full
  register: page_heap_result

- name: Tell which running instances keep the old flags until restarted
  ansible.builtin.debug:
    msg: "Restart {{ page_heap_result.processes | map(attribute='pid') | list }} ({{ page_heap_result.processes
      | map(attribute='services') | flatten | join(', ') }}) to apply page heap"
  when: page_heap_result.restart_required

- name: Add the user mode stack trace database, as gflags /i myservice.exe +ust does
  crashdump.windows.gflags:
    image: myservice.exe
    flags: [ust]

- name: Undo exactly what was done for netsh.exe
  crashdump.windows.gflags:
    image: netsh.exe
    state: absent
"""

RETURN = r"""
key:
  description: The image's Image File Execution Options key.
  returned: always
  type: str
  sample: HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Image File Execution Options\netsh.exe
before:
  description:
    - The image's flags before the task.
    - C(global_flag) is C(GlobalFlag) as C(0x%08x) (null when absent), C(flags) its bits as gflags abbreviations
      (bits with no image-file name as C(0x%08x)), C(page_heap) one of V(off), V(standard), V(full) or V(default),
      C(values) the C(GlobalFlag) and C(PageHeapFlags) registry values as read (null when absent).
  returned: always
  type: dict
  sample: {"global_flag": "0x00001000", "flags": ["ust"], "page_heap": "off",
           "values": {"GlobalFlag": {"type": "REG_SZ", "data": "0x00001000"}, "PageHeapFlags": null}}
after:
  description: The image's flags after the task (predicted in check mode), as in RV(before).
  returned: always
  type: dict
  sample: {"global_flag": "0x02001000", "flags": ["ust", "hpa"], "page_heap": "full",
           "values": {"GlobalFlag": {"type": "REG_SZ", "data": "0x02001000"},
                      "PageHeapFlags": {"type": "REG_SZ", "data": "0x3"}}}
restart_required:
  description: Whether the flags changed while instances of the image run; they keep the old flags until restarted.
  returned: always
  type: bool
processes:
  description: The running instances of the image (name, pid, start_time, account, path, services).
  returned: always
  type: list
  elements: dict
  sample: [{"name": "svchost.exe", "pid": 1234, "start_time": "2026-11-25T10:01:13.000Z", "account": "SYSTEM",
            "path": "C:\\Windows\\System32\\svchost.exe", "services": ["Dnscache"]}]
debugger:
  description: The C(Debugger) value of the image key, when one is set (see the notes), else null.
  returned: always
  type: str
drift:
  description:
    - The values O(state=absent) found changed by someone else since this module wrote them (another type or
      data, or deleted). Each is kept as it is (C(kept=true)), or with O(force=true) restored to its prior
      (C(kept=false)); a warning names each. Empty when nothing changed, or when nothing was restored.
    - C(written) is what this module wrote, C(current) what the host held (null when absent).
  returned: always
  type: list
  elements: dict
  sample: [{"key": "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Image File Execution Options\\netsh.exe",
            "view": 64, "name": "GlobalFlag", "written": {"type": "REG_SZ", "data": "0x02000000"},
            "current": {"type": "REG_SZ", "data": "0x02001000"}, "kept": true}]
undo_record:
  description: Whether a record of this module's changes to the image remains on the host after the task.
  returned: always
  type: bool
"""
