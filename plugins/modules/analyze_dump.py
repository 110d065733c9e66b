# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Documentation only: the module is the action plugin plugins/action/analyze_dump.py.

DOCUMENTATION = r"""
module: analyze_dump
short_description: Analyze Windows crash dumps on the controller, as WinDbg's !analyze would
version_added: 0.1.0
description:
  - Reads Windows minidumps (mini or full, x86, x64 or ARM64) on the Ansible controller, in pure Python, and reports
    what C(!analyze -v) and rust-minidump report where the dump alone allows it, without WinDbg; with O(symbol_path),
    function names and source lines from the modules' PDB (or Breakpad C(.sym)) files too.
  - For each dump, the operating system and CPU, the process id and times, the exception (code, name, flags, address,
    parameters decoded; the access type and address of an access violation; the C(__fastfail) code of
    C(0xC0000409); the thrown C++ type when the dump holds it; the faulting instruction, decoded), the faulting
    module with its version, time stamp and offset, the crashing thread's registers and stack, the modules with their
    versions and PDB identity, the unloaded modules, thread and handle counts, hints, and a crash signature
    comparable with the one M(crashdump.windows.crash_events) computes from Event 1000.
  - The stack is given as C(module!function+0xoffset) frames (the function from the module's symbols, else an export
    name when the module image is in the dump, else C(module+0xoffset)). Frame 0 comes from the CPU context; callers
    from the x64 unwind data of the module images in the dump (full dumps hold them) or found along O(symbol_path),
    else from frame pointers (x86, ARM64), else from scanning the stack for addresses just after a call
    instruction. Each frame says how it was found.
  - The faulting instruction (x86, x64) is decoded with Capstone when its bytes are in the dump or in the module
    image (in the dump or found along O(symbol_path)). For a fault at a non-canonical address, which Windows records
    as a read of C(0xffffffffffffffff) whatever the instruction did, the access type is then the instruction's.
  - Runs on the controller only and never uses the task's connection, so it can run in a play against Windows hosts
    (typically with C(delegate_to=localhost) or C(run_once=true)) or on localhost.
  - Dumps are memory-mapped and only the parts the analysis needs are read, so large full dumps are fast.
  - A file that is not a readable minidump gets an error in its own entry of RV(dumps); the task does not fail for it.
    A stream that cannot be read is left out of the analysis with a line in its C(warnings).
options:
  path:
    description:
      - A dump file, or a folder whose C(*.dmp) files (any case) are all analyzed.
      - Relative paths are relative to the playbook (or role) folder, as for M(ansible.builtin.fetch).
    type: path
    required: true
  recurse:
    description:
      - With a folder, also analyze the dumps in its subfolders (such as the per-host folders of
        M(crashdump.windows.fetch_dumps)).
    type: bool
    default: false
  max_frames:
    description: The most stack frames reported for the crashing thread, 1 to 1000.
    type: int
    default: 64
  modules:
    description:
      - Include the module and unloaded module lists in each analysis. V(false) leaves them empty (their counts stay)
        to keep the result small; the faulting module is reported either way.
    type: bool
    default: true
  symbol_path:
    description:
      - Where symbol files are found, in WinDbg's syntax; without it the controller's C(_NT_SYMBOL_PATH) environment
        variable, and without either no symbols are read.
      - Elements joined by C(;). C(srv*CACHE*URL) asks the symbol server at URL (Microsoft's layout,
        C(name.pdb/<GUID><age>/name.pdb), images at C(name.exe/<TimeDateStamp><SizeOfImage>/name.exe), compressed
        C(name.pd_) files, C(file.ptr)) and keeps what it gets in the folder CACHE (C(srv*URL) keeps it in
        C(~/.cache/crashdump.windows/symbols)); C(cache*DIR) caches the files of every later element in DIR; a plain
        folder is searched for the files by name.
      - Example C(srv*/var/cache/symbols*https://msdl.microsoft.com/download/symbols).
      - A module whose dump record names no PDB (dumps written under Wine) is looked up by its image first, whose
        debug directory names the PDB, as WinDbg does.
      - Files are fetched at most once per task and never again once in a cache, so a warm cache works offline.
        Folders the cache creates are owner-only, files too. A missing symbol file leaves the function null; a store
        that cannot be reached is named in the analysis C(warnings).
      - Needs the Python packages C(symbolic) (and C(cabarchive) for compressed files) on the controller; see the
        collection's C(requirements.txt).
    type: str
  symbol_timeout:
    description: Seconds one download from a symbol server may take to answer.
    type: int
    default: 30
  symbol_max_mb:
    description: The largest file, in MiB, fetched from a symbol server; larger ones are skipped with a warning.
    type: int
    default: 512
  report:
    description:
      - Also write the analysis as a person reads it beside each dump, as C(DUMP.analysis.txt) (for
        C(netsh.exe.4660.dmp), C(netsh.exe.4660.dmp.analysis.txt)), in the layout of WinDbg's C(!analyze -v) (the
        exception record, the faulting instruction, the stack with function names and source lines, the hints, the
        faulting module and bucket, the modules that matter).
      - The file is owner-only (mode C(0600)) like the dumps, written atomically, and rewritten only when its text
        changes; the task reports C(changed) when a report was written. The returned analysis stays the contract,
        the text is for people.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: Only reads files; in check mode no report is written, and C(changed) says whether one would be.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to diff.
  platform:
    support: full
    platforms: posix
    description: Runs on the Ansible controller, whatever the target host.
  action:
    support: full
    description: Runs as an action plugin on the controller; nothing is sent to any host.
notes:
  - Frames after the first are a best effort. Unwind data gives exact callers; scanned frames (O(max_frames) of them at
    most) are a guess that may include stale return addresses. Mini dumps seldom hold module images, so their callers
    are scanned unless O(symbol_path) finds the images (a symbol server, or a folder of the binaries). x64 epilogs
    and ARM64 unwind data are not interpreted.
  - Without O(symbol_path) (or C(_NT_SYMBOL_PATH)) function names come from module exports only. The PDB name, GUID
    and age of each module are reported so that a debugger with symbols can take over.
  - A full dump holds everything the process had in memory, passwords and keys included; this module reads it on the
    controller and returns only the analysis.
  - The output is described by the JSON Schema in C(plugins/plugin_utils/_minidump/schema.json) of the collection.
seealso:
  - module: crashdump.windows.fetch_dumps
  - module: crashdump.windows.crash_events
  - name: Using the !analyze extension
    description: What WinDbg reports for a crash dump.
    link: https://learn.microsoft.com/windows-hardware/drivers/debugger/using-the--analyze-extension
author:
  - crashdump.windows contributors (@crashdump)
"""

EXAMPLES = r"""
- name: Analyze the dumps fetched from every host
  crashdump.windows.analyze_dump:
    path: /srv/crash_dumps
    recurse: true
    modules: false
  delegate_to: localhost
  run_once: true
  register: analysis

- name: Show where each crash happened
  ansible.builtin.debug:
    msg: "{{ item.path }}: {{ item.analysis.exception.name }} in {{ item.analysis.faulting_module.name | default('?') }}
      ({{ item.analysis.hints | map(attribute='id') | join(', ') }})"
  loop: "{{ analysis.dumps | selectattr('ok') }}"
  loop_control:
    label: "{{ item.path }}"
  delegate_to: localhost
  run_once: true

- name: Analyze one dump on the controller
  crashdump.windows.analyze_dump:
    path: /srv/crash_dumps/web01/netsh.exe.4660.dmp
    max_frames: 20
  delegate_to: localhost

- name: Analyze the dumps and write a report a person reads beside each one (DUMP.analysis.txt)
  crashdump.windows.analyze_dump:
    path: /srv/crash_dumps
    recurse: true
    report: true
  delegate_to: localhost
  run_once: true

- name: Analyze with function names and source lines from the team's and Microsoft's symbol servers
  crashdump.windows.analyze_dump:
    path: /srv/crash_dumps
    recurse: true
    symbol_path: srv*/var/cache/symbols*https://symbols.example.com;srv*/var/cache/symbols*https://msdl.microsoft.com/download/symbols
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
analyzed:
  description: The number of dumps analyzed.
  returned: always
  type: int
  sample: 2
errors:
  description: The number of files that could not be analyzed (see their C(error)).
  returned: always
  type: int
  sample: 0
dumps:
  description:
    - One entry per file, in name order.
    - C(analysis) follows the JSON Schema C(plugins/plugin_utils/_minidump/schema.json). Addresses are
      C(0x)-prefixed hex strings padded to the pointer size; any field may be null when the dump does not hold it.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: The dump file.
      type: str
      sample: /srv/crash_dumps/web01/netsh.exe.4660.dmp
    ok:
      description: Whether the file could be analyzed.
      type: bool
      sample: true
    error:
      description: Why the file could not be analyzed (not a minidump, truncated header, unreadable).
      type: str
      returned: when not ok
    report:
      description: The text report beside the dump (written, or that would be in check mode).
      type: str
      returned: with O(report), when ok and the report could be written
      sample: /srv/crash_dumps/web01/netsh.exe.4660.dmp.analysis.txt
    report_error:
      description: Why the report could not be written (the analysis is there all the same).
      type: str
      returned: with O(report), when the report could not be written
      sample: "/srv/crash_dumps/x.dmp: not a minidump (signature b'PK\\x03\\x04', expected 'MDMP')"
    analysis:
      description: The analysis.
      type: dict
      returned: when ok
      contains:
        schema_version:
          description: The version of the analysis format.
          type: int
          sample: 3
        dump:
          description: Time stamp, C(MINIDUMP_TYPE) flags, kind (V(mini) or V(full)), streams, unknown streams.
          type: dict
        system:
          description: OS name, version and build, service pack, Wine version (dumps written under Wine); CPU.
          type: dict
        process:
          description: Process id, image name, path and version, start time, uptime, CPU times, integrity level.
          type: dict
        exception:
          description:
            - Thread id, code (C(0xc0000005)), name, flags, address, parameters, and decoded C(access) (C(type) read,
              write or execute, C(address), C(record_type)), C(fast_fail) (C(code), C(name)) and C(cxx) (thrown
              C(type)).
            - C(access.record_type) is what the exception record says; C(access.type) is the same, except for a
              fault the record cannot tell (a non-canonical address, recorded as a read of all ones), where it is
              what the faulting instruction does.
            - C(instruction) is the instruction at the exception address when its bytes are in the dump or in the
              module image (x86, x64; else null), with C(address), C(bytes) (hex), C(text) (Intel syntax),
              C(access) (read, write or execute at the fault address of an access violation, else null) and
              C(memory_address) (the address it accessed, computed from its operands and the registers).
          type: dict
          sample:
            code: "0xc0000005"
            name: STATUS_ACCESS_VIOLATION
            address: "0x00007ff6a1b21530"
            access: {type: write, address: "0xffffffffffffffff", record_type: read}
            instruction: {address: "0x00007ff6a1b21530", bytes: "48894208", text: "mov qword ptr [rdx + 8], rax",
                          access: write, memory_address: "0x4141414141414149"}
        faulting_module:
          description:
            - The module holding the exception address, with its version, time stamp and offset.
            - C(function) and C(function_offset) name the function there when O(symbol_path) found the module's
              symbols (else null).
          type: dict
          sample: {name: ntdll.dll, version: 10.0.20348.2849, timestamp: 8f7c2a1b, offset: "0x2a1b2",
                   function: RtlpHeapFree, function_offset: "0x1a"}
        crashing_thread:
          description:
            - Id, name, start address and time, registers, stack range and C(frames).
            - Each frame has C(index), C(trust) (how it was found), C(pc), C(sp), C(module), C(module_offset),
              C(function), C(function_offset), C(display), and C(source_file) and C(source_line) (the faulting line
              for frame 0, the line of the call for callers) when O(symbol_path) found the module's symbols.
          type: dict
        counts:
          description: Threads, modules, unloaded modules and handles in the dump.
          type: dict
        handles:
          description: Handle count by object type (dumps with handle data).
          type: dict
        modules:
          description: Name, path, base, size, version, time stamp, checksum, code id and PDB identity of each module.
          type: list
          elements: dict
        unloaded_modules:
          description: Modules unloaded before the crash.
          type: list
          elements: dict
        hints:
          description:
            - What the facts suggest, as C(id) and C(message). Ids include V(null_pointer),
              V(non_canonical_address), V(stack_overflow), V(guard_page), V(execute_non_executable),
              V(outside_modules), V(unloaded_module), V(heap_corruption), V(fast_fail), V(cxx_exception),
              V(clr_exception), V(breakpoint), V(system_dll_victim) and V(verifier).
          type: list
          elements: dict
        signature:
          description:
            - C(image@version!module@version!0xCODE+0xOFFSET), as M(crashdump.windows.crash_events) builds it; never
              uses symbols, so it matches Event 1000.
          type: str
          sample: netsh.exe@10.0.20348.1!ntdll.dll@10.0.20348.2849!0xc0000005+0x2a1b2
        family:
          description: The signature without versions.
          type: str
        warnings:
          description: Streams that could not be read and were left out; symbol stores that could not be asked.
          type: list
          elements: str
"""
