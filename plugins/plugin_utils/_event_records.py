# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One Application log event -> one crash, hang, WER report or .NET exception record (see _events)."""

from __future__ import annotations

import functools
import re

from ._event_values import (
    attached_files,
    clean,
    decimal,
    dump_file_name,
    filetime_iso,
    hex_text,
    image_of,
    long_path,
    number,
    offset_text,
    split_app_name,
    values,
)
from ._ntstatus import exception_name, fast_fail_name
from ._signature import (
    crash_signature,
    family_key,
    hang_family_key,
    hang_signature,
    is_stack_hash,
    is_victim_module,
)

APPLICATION_ERROR, WER_REPORT, APPLICATION_HANG, DOTNET_RUNTIME = 1000, 1001, 1002, 1026
# CLR20r3: the report of an unhandled .NET Framework exception (P9 its type).
CLR_REPORT = "clr20r3"
CRASH_REPORTS = frozenset(["appcrash", "bex", "bex64", "moappcrash", CLR_REPORT])
HANG_REPORTS = frozenset(["apphangb1", "apphangxprocb1", "moapphang", "moapphangxprocb1"])
DOTNET_EXCEPTION = "0xe0434352"
# STATUS_FATAL_USER_CALLBACK_EXCEPTION: a .NET exception unhandled in a window
# procedure or other callback ends as this, with the same 1026.
DOTNET_CODES = frozenset([DOTNET_EXCEPTION, "0xc000041d"])
DWORD = 0xFFFFFFFF
STACK_BUFFER_OVERRUN = "0xc0000409"

_DOTNET_TYPE = re.compile(r"\b((?:[A-Za-z_][\w`]*\.)+[A-Za-z_]\w*(?:Exception|Error))\b")
_VERSION = re.compile(r"v?\d+(?:\.\d+){1,3}")
# A stack line of the 1026 text: an indented localised "at" then Namespace.Type.Method(.
_FRAME = re.compile(r"^[ \t]+\S+[ \t]+((?:[\w`<>$|]+\.)+[\w`<>$|]+)\(", re.MULTILINE)
_ATTACHED, REPORT_ID = 15, 19


@functools.lru_cache(maxsize=4096)
def _location(app_name, app_version, app_timestamp, module, module_version, module_timestamp, code, offset,
              app_path, module_path, package, praid):
    """Everything a crash record holds that is not about the one process: computed once for its repeats."""
    code = number(code)
    code = None if code is None else "0x%08x" % (code & 0xFFFFFFFF)
    offset = offset_text(offset)
    image = image_of(app_name, app_path)
    name = app_name or image or ""
    return {
        "kind": "crash",
        "app_name": app_name or None,
        "image": image,
        "service": split_app_name(app_name)[1] if app_name else None,
        "app_version": app_version or None,
        "app_timestamp": hex_text(app_timestamp, 8),
        "module": module or None,
        "module_version": module_version or None,
        "module_timestamp": hex_text(module_timestamp, 8),
        "module_unloaded": module.lower().endswith("_unloaded"),
        "exception_code": code,
        "exception_name": None if code is None else exception_name(code),
        "offset": offset,
        "app_path": app_path or None,
        "module_path": module_path or None,
        "package_full_name": package or None,
        "package_relative_app_id": praid or None,
        "signature": crash_signature(name, app_version, module, module_version, code or 0, offset),
        "family": family_key(name, module, code or 0, offset),
        "victim": is_victim_module(module),
        "stack_hash": is_stack_hash(module),
        "subcode": None,
        "fail_fast": None,
        "wer": None,
        "dotnet": None,
        "local_dump": None,
    }


def _pid(text):
    """A process id (a DWORD) from hex text; longer text is a malformed record, not a number to print."""
    pid = number(text)
    if pid is not None and pid > DWORD:
        raise ValueError("process id is not a 32-bit number (%d hex digits)" % len(text))
    return pid


def _crash(event, v, sources):
    """A crash record from Event 1000 values ``v`` (padded to 15)."""
    location = _location(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[10], v[11], v[13], v[14])
    pid = _pid(v[8])
    return {
        **location,
        "time": event["time"],
        "record_id": event["record_id"],
        "machine": event["machine"],
        "sources": sources,
        "pid": pid,
        "process_start": filetime_iso(v[9]),
        "report_id": v[12] or None,
        "dump_file": dump_file_name(location["image"], pid),
    }


def parse_application_error(event):
    """Event 1000 -> a crash record (13 or 15 values, any hex form)."""
    return _crash(event, values(event["properties"] or [], 15), [APPLICATION_ERROR])


def _wer(v, records):
    """What a crash record tells of its WER report, from the report's values."""
    return {
        "event_name": v[2],
        "bucket": v[0] or None,
        "bucket_type": decimal(v[1]),
        "cab_id": v[4] or None,
        "report_status": decimal(v[20]),
        "hashed_bucket": v[21] or None,
        "attached_files": attached_files(v[_ATTACHED]),
        "store_path": long_path(v[16]) or None,
        # CLR20r3: P9 is the .NET exception type.
        "exception_type": (v[13] or None) if v[2].lower() == CLR_REPORT else None,
        "records": records,
    }


def parse_wer_report(event):
    """Event 1001 -> the report's fields, P1..P10 as ``p`` (a list of 10)."""
    v = values(event["properties"] or [], 23)
    report = _wer(v, 1)
    report.update({"time": event["time"], "record_id": event["record_id"], "machine": event["machine"],
                   "response": v[3] or None, "p": v[5:15], "analysis_symbol": v[17] or None,
                   "report_id": v[REPORT_ID] or None, "cab_guid": v[22] or None})
    return report


def report_values(logged):
    """The values of one report from the 1001 events logged for it, oldest first.

    Those of the newest event with a bucket (the first is often logged
    before the bucket is known), else of the newest; attached files of all.
    """
    chosen = logged[-1]
    if len(logged) == 1:
        return values(chosen["properties"] or [], 23)
    for event in reversed(logged):
        if (event["properties"] or [""])[0]:
            chosen = event
            break
    v = values(chosen["properties"] or [], 23)
    raw = [(e["properties"] or [])[_ATTACHED:_ATTACHED + 1] for e in logged]
    if raw.count(raw[0]) != len(raw):  # usually each lists the same files
        v[_ATTACHED] = "\n".join([_attached_text(e) for e in logged])
    return v


def _attached_text(event):
    props = event["properties"] or []
    return clean(props[_ATTACHED]) if len(props) > _ATTACHED else ""


def crash_from_report(event, v, records):
    """A crash known only from its 1001 (``v``, its values): P1..P10 by the report's event name."""
    name = v[2].lower()
    p = v[5:15]
    package = praid = None
    if name == "moappcrash":
        # Store apps: P1 the package, P2 praid:<AppId>, the rest shifted by one.
        package, praid = p[0], p[1].split(":", 1)[-1]
        p = [package.split("_", 1)[0]] + p[2:] + [""]
    # BEX/BEX64: P7 the offset, P8 the code, P9 the subcode.
    bex = name in ("bex", "bex64")
    offset, code = (p[6], p[7]) if bex else (p[7], p[6])
    if name == CLR_REPORT:
        # P4 the assembly, P7 and P8 a method token and IL offset, not a native fault.
        offset, code = "", DOTNET_EXCEPTION
    crash = _crash(event, p[:6] + [code, offset, "", "", "", "", v[REPORT_ID], package or "", praid or ""],
                   [WER_REPORT])
    if package:
        crash["image"] = None  # the package names no executable
    crash["wer"] = _wer(v, records)
    if bex:
        _subcode(crash, p[8])
    _local_dump(crash, crash["wer"]["attached_files"])
    return crash


def parse_application_hang(event):
    """Event 1002 -> a hang record (7 values on Windows 7, 10 later)."""
    return _hang(event, values(event["properties"] or [], 10), [APPLICATION_HANG])


def hang_from_report(event, v, records):
    """A hang known only from its report (its 1002 is outside the window): P1 the app, P2 its version, P5 hang type."""
    p = v[5:15]
    hang = _hang(event, [p[0], p[1], "", "", "", "", v[REPORT_ID], "", "", p[4]], [WER_REPORT])
    hang["wer"] = _wer(v, records)
    return hang


def _hang(event, v, sources):
    app_name, app_path = v[0], v[5]
    return {
        "kind": "hang",
        "time": event["time"],
        "record_id": event["record_id"],
        "machine": event["machine"],
        "app_name": app_name or None,
        "image": image_of(app_name, app_path),
        "service": split_app_name(app_name)[1] if app_name else None,
        "app_version": v[1] or None,
        "pid": _pid(v[2]),
        "process_start": filetime_iso(v[3]),
        "termination_time": decimal(v[4]),
        "app_path": app_path or None,
        "report_id": v[6] or None,
        "package_full_name": v[7] or None,
        "package_relative_app_id": v[8] or None,
        "hang_type": v[9] or None,
        "sources": sources,
        "module": None, "module_version": None, "module_unloaded": False,
        "exception_code": None, "exception_name": None, "offset": None,
        "victim": False, "stack_hash": False, "dump_file": None, "local_dump": None,
        "subcode": None, "fail_fast": None, "wer": None, "dotnet": None,
        "signature": hang_signature(app_name or image_of(app_name, app_path), v[1]),
        "family": hang_family_key(app_name or image_of(app_name, app_path)),
    }


def parse_dotnet(event):
    """Event 1026 -> application, runtime version, exception type and the text.

    The text is localised ("Application:", "Anwendung:"): the application is
    the value of the first line, the runtime version the first version-like
    value, the exception type the first dotted name ending in Exception or
    Error (type names are never localised).
    """
    text = "\n".join(v for v in values(event["properties"] or [], 0) if v).replace("\r\n", "\n")
    found = [line.split(":", 1)[1].strip() for line in text.split("\n") if ":" in line]
    exc = _DOTNET_TYPE.search(text)
    frame = _FRAME.search(text, exc.end()) if exc else None
    return {
        "time": event["time"],
        "record_id": event["record_id"],
        "application": found[0] if found else None,
        "runtime_version": next((v for v in found if _VERSION.fullmatch(v)), None),
        "exception_type": exc.group(1) if exc else None,
        "top_frame": frame.group(1) if frame else None,
        "text": text,
    }


def _subcode(crash, text):
    """P9 of a BEX report: the fail-fast code of a 0xC0000409, the access type of a 0xC0000005 (8: execute)."""
    crash["subcode"] = number(text)
    if crash["subcode"] is not None and crash["exception_code"] == STACK_BUFFER_OVERRUN:
        crash["fail_fast"] = fast_fail_name(crash["subcode"])


def _local_dump(crash, files):
    """The LocalDumps file when the report lists it among its attached files."""
    want = (crash["dump_file"] or "").lower()
    image = (crash["image"] or "").lower()
    for path in files:
        base = path.rsplit("\\", 1)[-1].lower()
        if want:
            if base == want:
                crash["local_dump"] = path
                return
        elif image and base.startswith(image + ".") and base.endswith(".dmp") and base[len(image) + 1:-4].isdigit():
            crash["local_dump"] = path
            return


def attach_report(record, v, records):
    record["wer"] = _wer(v, records)
    record["sources"] = record["sources"] + [WER_REPORT]
    if v[2].lower() in ("bex", "bex64"):
        _subcode(record, v[13])  # P9
    _local_dump(record, record["wer"]["attached_files"])
