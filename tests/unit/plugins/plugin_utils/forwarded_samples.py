"""Windows crash events as forwarders send them, written out as they arrive (not made by the code under test).

* ``ecs_*``: Winlogbeat 8 (ECS JSON). Unnamed event data arrives as
  ``param1``.., named data under its names; empty values are left out.
* ``WEF_*``: event XML as Windows Event Forwarding (or ``wevtutil qe
  /f:RenderedXml``) gives it, with the event schema's namespace.

All describe one crash: netsh.exe, heap corruption (0xc0000374) in ntdll.dll,
process 0x1ab0, report REPORT, on host web01.
"""

import copy

REPORT = "5b2c8a1e-8f4b-4e11-8a5e-00155d012a09"
VALUES_1000 = ["netsh.exe", "10.0.20348.1", "ad8b771a", "ntdll.dll", "10.0.20348.2227", "1e4cbd4e", "c0000374",
               "00000000000fef59", "1ab0", "01db3f0a7c1e5f22", "C:\\Windows\\System32\\netsh.exe",
               "C:\\Windows\\SYSTEM32\\ntdll.dll", REPORT, "", ""]
NAMES_1000 = ["AppName", "AppVersion", "AppTimeStamp", "ModuleName", "ModuleVersion", "ModuleTimeStamp",
              "ExceptionCode", "FaultingOffset", "ProcessId", "ProcessCreationTime", "AppPath", "ModulePath",
              "IntegratorReportId", "PackageFullName", "PackageRelativeAppId"]
VALUES_1001 = ["1736488471585838081", "4", "APPCRASH", "Not available", "0", "netsh.exe", "10.0.20348.1", "ad8b771a",
               "ntdll.dll", "10.0.20348.2227", "1e4cbd4e", "c0000374", "00000000000fef59", "", "",
               "\\\\?\\C:\\ProgramData\\Microsoft\\Windows\\WER\\Temp\\WER5A1B.tmp.mdmp",
               "\\\\?\\C:\\ProgramData\\Microsoft\\Windows\\WER\\ReportArchive\\AppCrash_netsh.exe_1f3", "", "0",
               REPORT, "268435456", "c9f0c3a6e0f4c1d2a3b4c5d6e7f80910", "0"]


def _ecs(event_id, provider, record_id, event_data, host="web01", time="2026-11-25T10:00:00.123Z"):
    return {
        "@timestamp": time,
        "agent": {"type": "winlogbeat", "version": "8.17.0"},
        "ecs": {"version": "8.0.0"},
        "event": {"code": str(event_id), "kind": "event", "provider": provider, "created": "2026-11-25T10:00:01.5Z"},
        "host": {"name": host, "hostname": host, "os": {"family": "windows"}},
        "log": {"level": "error"},
        "message": "Faulting application name: netsh.exe, ...",
        "winlog": {"channel": "Application", "computer_name": host.upper() + ".corp.example",
                   "event_id": str(event_id), "provider_name": provider, "record_id": record_id,
                   "api": "wineventlog", "opcode": "Info", "keywords": ["Classic"], "event_data": event_data},
    }


def ecs_1000_positional(**kw):
    data = {"param%d" % (i + 1): v for i, v in enumerate(VALUES_1000) if v}
    return _ecs(1000, "Application Error", 52133, data, **kw)


def ecs_1000_named(**kw):
    data = {name: v for name, v in zip(NAMES_1000, VALUES_1000) if v}
    data["ProcessId"], data["ProcessCreationTime"] = "0x1ab0", "0x1db3f0a7c1e5f22"  # named data: 0x hex
    return _ecs(1000, "Application Error", 52133, data, **kw)


def ecs_1001_positional(**kw):
    data = {"param%d" % (i + 1): v for i, v in enumerate(VALUES_1001) if v}
    return _ecs(1001, "Windows Error Reporting", 52134, data, **kw)


def with_image(event, image, report):
    """The same event for another image and report (positional data)."""
    event = copy.deepcopy(event)
    data = event["winlog"]["event_data"]
    data["param1"], data["param11"], data["param13"] = image, "C:\\Windows\\System32\\" + image, report
    event["winlog"]["record_id"] += 100
    return event


def wef_1000(named=False):
    """Event 1000 as event XML, its data unnamed (positional) or named."""
    data = "\n".join("    <Data%s>%s</Data>" % (' Name="%s"' % name if named else "", value)
                     for name, value in zip(NAMES_1000, VALUES_1000))
    return WEF_1000 % data


WEF_1000 = """<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event">
  <System>
    <Provider Name="Application Error" />
    <EventID Qualifiers="0">1000</EventID>
    <Version>0</Version>
    <Level>2</Level>
    <Task>100</Task>
    <Keywords>0x80000000000000</Keywords>
    <TimeCreated SystemTime="2026-11-25T10:00:00.1234567Z" />
    <EventRecordID>52133</EventRecordID>
    <Channel>Application</Channel>
    <Computer>web01</Computer>
    <Security />
  </System>
  <EventData>
%s
  </EventData>
  <RenderingInfo Culture="en-US">
    <Message>Faulting application name: netsh.exe, version: 10.0.20348.1</Message>
    <Level>Error</Level>
    <Provider>Application Error</Provider>
  </RenderingInfo>
</Event>"""
