"""Application log records made here, in the layouts Windows writes (windows-facts.md, "Event log").

A generator, not copies: each function builds the ``event_query`` record of
one event from its facts, in the form of one Windows generation.

* Windows 7 / 2008 R2: Event 1000 with 13 values, pid bare hex, start time 16
  zero-padded hex digits; Event 1001 with 21 values.
* Windows 10: 15 values, same forms; 1001 with 23 values.
* Windows 11 exports with named data: pid and start time ``0x``-prefixed and
  unpadded (value 12 is named IntegratorReportId there; read by position).
"""

import itertools

_RECORD_IDS = itertools.count(1000)
PROVIDERS = {1000: "Application Error", 1001: "Windows Error Reporting", 1002: "Application Hang",
             1026: ".NET Runtime"}
START = 0x01DD7CC776D06D50  # a FILETIME in November 2026


def event(event_id, props, time, machine="WEB01", record_id=None):
    level = 4 if event_id == 1001 else 2  # 1001 is information even for a crash
    return {"log": "Application", "provider": PROVIDERS[event_id], "id": event_id, "level": level, "time": time,
            "record_id": next(_RECORD_IDS) if record_id is None else record_id, "machine": machine,
            "properties": props}


def _pid_start(layout, pid, start):
    if layout == "win11":
        return "0x%x" % pid, "0x%x" % start
    return "%x" % pid, "%016x" % start


def app_error(layout, app, module, code, offset, time, report, pid=0x1AB0, version="1.2.0.0",
              module_version="1.2.0.0", module_path=None, machine="WEB01"):
    """Event 1000 in the layout of ``win7``, ``win10`` or ``win11``."""
    pid_text, start_text = _pid_start(layout, pid, START)
    props = [app, version, "5c1b9f3e", module, module_version, "0ff6a53c", "%08x" % code, "%016x" % offset,
             pid_text, start_text, "C:\\Program Files\\Contoso\\" + app,
             module_path or "C:\\Program Files\\Contoso\\" + module, report]
    if layout != "win7":
        props += ["", ""]
    return event(1000, props, time, machine)


def wer_report(name, p, time, report, bucket="", bucket_type="0", hashed="", count=23, machine="WEB01"):
    """Event 1001 of ``count`` values (21, 22 or 23)."""
    p = list(p) + [""] * (10 - len(p))
    props = [bucket, bucket_type, name, "Not available", "0"] + p + [
        "", "\\\\?\\C:\\ProgramData\\Microsoft\\Windows\\WER\\ReportArchive\\" + name + "_x", "", "0", report,
        "268435456", hashed, "0"]
    return event(1001, props[:count], time, machine)


def clr20r3(app, exception_type, time, report, **kw):
    """The WER report of an unhandled .NET Framework exception: P4 assembly, P7 method, P8 IL offset, P9 type."""
    p = [app, "1.2.0.0", "5c1b9f3e", "Contoso.Core", "1.2.0.0", "5c1b9f3e", "1e8", "2f", exception_type, ""]
    return wer_report("CLR20r3", p, time, report, **kw)


def app_hang_report(app, time, report, **kw):
    """AppHangB1: P1 the app, P2 its version, P3 its time stamp, P4 the hang signature, P5 the hang type."""
    return wer_report("AppHangB1", [app, "3.1.0.0", "5c1b9f3e", "b3a1", "134217728"], time, report, **kw)


def app_hang(app, time, report, machine="WEB01"):
    """Event 1002 of Windows 10: 10 values."""
    return event(1002, [app, "3.1.0.0", "2c4", "%016x" % START, "4294967295", "C:\\Apps\\" + app, report, "", "",
                        "Quiesce"], time, machine)


def dotnet_runtime(app, exception_type, frames, time, framework="v4.0.30319", machine="WEB01"):
    """Event 1026 of .NET Framework: one text, the stack under the exception, one "at" line a frame."""
    text = ("Application: %s\r\nFramework Version: %s\r\nDescription: The process was terminated due to an "
            "unhandled exception.\r\nException Info: %s\r\n" % (app, framework, exception_type))
    text += "".join("   at %s()\r\n" % frame for frame in frames)
    return event(1026, [text], time, machine)
