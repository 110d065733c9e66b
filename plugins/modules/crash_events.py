# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Documentation only: the module is the action plugin plugins/action/crash_events.py.

DOCUMENTATION = r"""
module: crash_events
short_description: Application crashes and hangs from the Windows Application log, with signatures
version_added: 0.1.0
description:
  - Reads the Application log events that Windows writes when a program crashes or hangs, in one round trip to the
    host, and turns them into one record per crash.
  - Event 1000 (C(Application Error)) is the crash; event 1001 (C(Windows Error Reporting)) is its WER report,
    logged several times for one report and joined to the 1000 by C(ReportId), once; event 1002
    (C(Application Hang)) is a hang; event 1026 (C(.NET Runtime)) gives the .NET exception of a 1000 with code
    C(0xE0434352) or C(0xC000041D) of the same application logged within a minute of it.
  - Events are read by the position of their values, never from the localised message text, in every form Windows
    writes them (Windows 7 to Windows 11, named and unnamed event data, process ids as C(1ab0), C(0x1ab0) or
    C(0x0x1AB0)). Hex values come back as C(0x) and lower-case digits, the process id in decimal.
  - Of the 1001 reports only crash reports (C(APPCRASH), C(BEX), C(BEX64), C(MoAppCrash), C(CLR20r3)) and hang
    reports (C(AppHangB1), ...) are used; most 1001 events are about something else (C(WindowsUpdateFailure), ...).
    A crash or hang known only from its 1001 (its 1000 or 1002 is older than O(since) or gone from the log) is still
    reported, from the report's P1 to P10.
  - An event that cannot be read (a process id of thousands of digits, a value of the wrong type, a time that is not
    a time) is left out of RV(crashes) and listed in RV(unparsed) with the reason; it never fails the task.
  - Each crash gets a signature (image, version, faulting module, module version, exception code, offset) and a
    family key (the same without versions; see RV(crashes[].family)), the name of the exception, marks for a
    faulting address in no module (C(StackHash)) and for C(ntdll.dll), C(kernel32.dll) and C(KernelBase.dll),
    which are usually the victim of corruption done elsewhere, and the file name WER LocalDumps would write for it
    (C(<image>.<pid>.dmp)).
  - The P(crashdump.windows.triage#role) role aggregates the result of many hosts into a ranked report.
options:
  since:
    description:
      - Read events logged at or after this time, ISO 8601 (V(2026-11-01), V(2026-11-01T08:00:00Z),
        V(2026-11-01T09:00:00+01:00)). A time without an offset is UTC.
      - Mutually exclusive with O(days). Without either, the last 7 days are read.
    type: str
  days:
    description:
      - Read the events of the last this many days (from the controller's clock).
    type: int
  images:
    description:
      - Report only crashes and hangs of these image names (for example V(netsh.exe)), case-insensitively.
        V(svchost.exe) also matches the service form C(svchost.exe_AppXSvc).
      - The filter is applied after reading, so O(max_events) counts the events of every image.
    type: list
    elements: str
    default: []
  max_events:
    description:
      - Read at most this many events (the newest), of the four ids together. When the window holds more, the task
        warns and RV(truncated) is V(true); exactly this many is not a truncation (the host reads one event more
        to tell).
    type: int
    default: 2000
extends_documentation_fragment:
  - crashdump.windows.validate_only
  - crashdump.windows.attributes.INFO
notes:
  - The host is asked for events 1000, 1001, 1002 and 1026 of the Application log, and the providers are checked
    on the controller, because C(Get-WinEvent) fails the whole query when a named provider is not registered on
    the host. Other providers that log these ids are ignored.
  - The dump file name is what WER LocalDumps writes (C(<image>.<decimal pid>.dmp)), observed rather than documented
    by Microsoft; the dump exists only if LocalDumps was configured when the crash happened (see
    M(crashdump.windows.local_dumps)). RV(crashes[].local_dump) names it when the WER report lists it.
seealso:
  - module: crashdump.windows.local_dumps
  - name: Application or service crashing behavior troubleshooting guidance
    description: Microsoft's guidance that starts from events 1000 and 1001.
    link: https://learn.microsoft.com/troubleshoot/windows-server/performance/troubleshoot-application-service-crashing-behavior
author:
  - crashdump.windows contributors (@crashdump)
"""

EXAMPLES = r"""
- name: Crashes of the last 3 days
  crashdump.windows.crash_events:
    days: 3
  register: crashes

- name: Show where netsh.exe crashed
  ansible.builtin.debug:
    msg: "{{ item.time }} {{ item.signature }} ({{ item.exception_name }})"
  loop: "{{ crashes.crashes | selectattr('image', 'equalto', 'netsh.exe') }}"

- name: Crashes of two images since a date
  crashdump.windows.crash_events:
    since: "2026-11-01"
    images: [netsh.exe, myservice.exe]
    max_events: 5000
"""

RETURN = r"""
since:
  description: The start of the time window read, ISO 8601 UTC.
  returned: always
  type: str
  sample: "2026-11-18T10:00:00.000Z"
truncated:
  description: Whether the window holds more than O(max_events) events, so older ones were left out.
  returned: always
  type: bool
stats:
  description: Counts of what was read.
  returned: always
  type: dict
  contains:
    events:
      description: Events the host returned.
      type: int
    other_providers:
      description: Events with one of the ids from another provider, ignored.
      type: int
    other_reports:
      description: 1001 reports that are neither crashes nor hangs, ignored.
      type: int
    duplicate_reports:
      description: 1001 events that repeated a report already seen (same ReportId).
      type: int
    unmatched_dotnet:
      description: 1026 events with no .NET crash (1000 with 0xE0434352 or 0xC000041D) to attach to.
      type: int
    unparsed:
      description: Events that could not be read (see RV(unparsed)).
      type: int
    crashes:
      description: Crash records returned.
      type: int
    hangs:
      description: Hang records returned.
      type: int
unparsed:
  description: The events that could not be read, each with the reason; the others are in RV(crashes).
  returned: always
  type: list
  elements: dict
  contains:
    record_id:
      description: The event's record id, as the host gave it.
      type: raw
    id:
      description: The event id, as the host gave it.
      type: raw
    time:
      description: The event's time, as the host gave it.
      type: raw
    reason:
      description: "Why it could not be read, one line, for example C(ValueError: process id is not a 32-bit number)."
      type: str
crashes:
  description: One record per crash or hang, newest first.
  returned: always
  type: list
  elements: dict
  contains:
    kind:
      description: V(crash) (event 1000, or a 1001 crash report alone) or V(hang) (event 1002).
      type: str
    time:
      description: When the event was logged, ISO 8601 UTC.
      type: str
    record_id:
      description: The event's record id.
      type: int
    machine:
      description: The computer name in the event.
      type: str
    sources:
      description: The event ids the record was built from, for example V([1000, 1001]).
      type: list
      elements: int
    app_name:
      description: The application name as logged; a service host carries the service, C(svchost.exe_AppXSvc).
      type: str
    image:
      description: The image file name (from the application path, else the name without a service suffix).
      type: str
    service:
      description: The service of a C(svchost.exe_<service>) application name, else null.
      type: str
    app_version:
      description: The application's file version.
      type: str
    app_timestamp:
      description: The application's link time stamp, hex.
      type: str
    module:
      description: The faulting module as logged (C(name_unloaded) when it was unloaded, C(StackHash_xxxx) when the
        address was in no module).
      type: str
    module_version:
      description: The faulting module's file version.
      type: str
    module_timestamp:
      description: The faulting module's link time stamp, hex.
      type: str
    module_unloaded:
      description: The faulting module had been unloaded.
      type: bool
    exception_code:
      description: The exception code, C(0x) and 8 lower-case hex digits.
      type: str
      sample: "0xc0000005"
    exception_name:
      description: The exception's name, for example C(STATUS_ACCESS_VIOLATION), or C(UNKNOWN (0x...)).
      type: str
    offset:
      description: The fault offset in the faulting module, hex (or WER's text when it is not a number).
      type: str
    subcode:
      description: P9 of a C(BEX)/C(BEX64) report (the fail-fast code of a 0xC0000409, the access type of a
        0xC0000005, 8 for execute), else null.
      type: int
    fail_fast:
      description: The C(FAST_FAIL_*) name of the subcode of a 0xC0000409, else null.
      type: str
    pid:
      description: The process id, decimal.
      type: int
    process_start:
      description: When the process started, ISO 8601 UTC.
      type: str
    app_path:
      description: The application's path.
      type: str
    module_path:
      description: The faulting module's path.
      type: str
    report_id:
      description: The WER report id that joins 1000 and 1001 (1002 and its hang report).
      type: str
    package_full_name:
      description: The Store package of a packaged application.
      type: str
    package_relative_app_id:
      description: The application id inside the package.
      type: str
    signature:
      description: C(image@version!module@version!0xCODE+0xOFFSET), lower-case; for a hang C(image@version!(hang)).
      type: str
      sample: "netsh.exe@10.0.22621.1!netsh.exe@10.0.22621.1!0xc0000005+0x5399"
    family:
      description:
        - The signature without versions, which groups one bug across releases.
        - Without the offset when the module is unknown (C(unknown), none, C(StackHash_xxxx)), where the offset is an
          absolute address that address space layout randomisation moves at every start; and for heap corruption
          and fail-fast (C(0xC0000374), C(0xC0000409), C(0xC0000602)) in C(ntdll.dll), C(kernel32.dll) or
          C(KernelBase.dll), where the offset differs per OS build.
        - For a .NET crash (C(0xE0434352), C(0xC000041D)) whose exception type is known, from event 1026 or the P9 of
          a C(CLR20r3) report, C(<image>!.net!<exception type>!<top frame>) instead, since every .NET crash faults
          in the same place of C(KernelBase.dll).
      type: str
    victim:
      description: The faulting module is C(ntdll.dll), C(kernel32.dll) or C(KernelBase.dll), usually the victim of
        corruption done elsewhere.
      type: bool
    stack_hash:
      description: The faulting address was in no module (C(StackHash_xxxx)).
      type: bool
    dump_file:
      description: The file name WER LocalDumps writes for this crash, C(<image>.<pid>.dmp), or null.
      type: str
      sample: netsh.exe.65252.dmp
    local_dump:
      description: The path of that dump when the WER report lists it among its attached files, else null.
      type: str
    wer:
      description: The WER report (event 1001) of the crash, once however often it was logged, or null.
      type: dict
      contains:
        event_name:
          description: C(APPCRASH), C(BEX64), C(MoAppCrash), C(CLR20r3), C(AppHangB1), ...
          type: str
        exception_type:
          description: The .NET exception type of a C(CLR20r3) report (its P9), else null.
          type: str
        bucket:
          description: The bucket (from the latest event of the report that has one).
          type: str
        bucket_type:
          description: The bucket type.
          type: int
        cab_id:
          description: The CAB id.
          type: str
        report_status:
          description: The report status.
          type: int
        hashed_bucket:
          description: The hashed bucket (Windows 10 and later).
          type: str
        attached_files:
          description: The files attached to the report, without C(\\?\) prefixes.
          type: list
          elements: str
        store_path:
          description: Where the report is kept.
          type: str
        records:
          description: How many 1001 events were logged for the report.
          type: int
    dotnet:
      description: The .NET exception from event 1026, or null.
      type: dict
      contains:
        exception_type:
          description: The exception's type, for example C(System.NullReferenceException).
          type: str
        top_frame:
          description: The first frame of the stack under the exception, without arguments, or null.
          type: str
        runtime_version:
          description: The .NET Framework or CoreCLR version.
          type: str
        application:
          description: The application named in the event.
          type: str
        text:
          description: The event's text (localised), with the stack.
          type: str
    hang_type:
      description: The hang type of a hang (event 1002).
      type: str
    termination_time:
      description: The termination time value of a hang (event 1002), as logged.
      type: int
"""
