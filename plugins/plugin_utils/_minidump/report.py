# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The analysis as a person reads it, in the layout of WinDbg's ``!analyze -v``.

``render(analysis)`` takes the analysis as a dict (``schema.json``, the
contract) and gives text: the exception record, the faulting instruction,
the stack with function names and source lines, the hints, the faulting
module and bucket, and the modules that matter (the faulting one and those
on the stack). Addresses are written as WinDbg writes them
(``00007ff6`a1b21530``).
"""

from __future__ import annotations

import textwrap

WIDTH = 100
BANNER = "\n".join(["*" * 79, "*%s*" % (" " * 77), "*%s*" % "Exception Analysis".center(77), "*%s*" % (" " * 77),
                    "*" * 79])
VERBS = {"read": "read from", "write": "write to", "execute": "execute"}


def _addr(value):
    """``0x000000017002a1b2`` -> ``00000001`7002a1b2`` (WinDbg's way); 32-bit addresses stay whole."""
    if value is None:
        return "?"
    digits = value[2:] if value.startswith("0x") else value
    return "%s`%s" % (digits[:8], digits[8:]) if len(digits) == 16 else digits


def _word(value, digits):
    """A raw value (``0x1``) padded to the pointer size, as .exr shows parameters."""
    return "%0*x" % (digits, int(value, 16))


def _field(name, value):
    return "%s:  %s" % (name, value)


def _wrapped(text, indent="    "):
    return textwrap.fill(text, WIDTH, initial_indent=indent, subsequent_indent=indent + "  ")


def _call_site(frame):
    site = frame["display"]
    if frame.get("source_file"):
        site += " [%s @ %s]" % (frame["source_file"], frame["source_line"])
    return site


def _header(a):
    dump, process, system = a["dump"], a["process"], a["system"]
    lines = [BANNER, "", _field("DUMP_FILE", "%s (%s dump, %d bytes%s)" % (
        a["path"], dump["kind"], a["file_size"], ", written %s" % dump["timestamp"] if dump["timestamp"] else ""))]
    if process["image"]:
        lines.append(_field("PROCESS_NAME", process["image"]))
    if process["pid"] is not None:
        lines.append(_field("PROCESS_ID", process["pid"]))
    if process["image_path"]:
        lines.append(_field("IMAGE_PATH", process["image_path"]))
    if system:
        os_ = system["os"]
        name = " ".join(p for p in (os_["name"], os_["service_pack"]) if p) or "Windows"
        wine = ", under %s" % os_["wine"]["build"] if os_["wine"] else ""
        lines.append(_field("OS", "%s (%s)%s" % (name, os_["version"], wine)))
        lines.append(_field("CPU", "%s, %s processors" % (system["cpu"]["arch"], system["cpu"]["count"])))
    return lines


def _exception(a, digits):
    e = a["exception"]
    if e is None:
        return ["", "No exception record: the dump was taken without a crash."]
    where = (a["faulting_module"] or {}).get("name")
    frames = (a["crashing_thread"] or {}).get("frames") or []
    site = frames[0]["display"] if frames else where
    lines = ["", "EXCEPTION_RECORD:  (.exr -1)",
             "ExceptionAddress: %s%s" % (_addr(e["address"]), " (%s)" % site if site else ""),
             "   ExceptionCode: %s (%s)" % (e["code"][2:], e["name"]),
             "  ExceptionFlags: %08x%s" % (int(e["flags"], 16), " (%s)" % ", ".join(e["flag_names"])
                                           if e["flag_names"] else ""),
             "NumberParameters: %d" % len(e["parameters"])]
    lines += ["   Parameter[%d]: %s" % (i, _word(p, digits)) for i, p in enumerate(e["parameters"])]
    access, insn = e["access"], e["instruction"]
    if access:
        verb = VERBS.get(access["type"], access["type"])
        line = "Attempt to %s address %s" % (verb, _addr(access["address"]))
        if access["record_type"] != access["type"]:
            line += " (the exception record says %s; the faulting instruction does the %s, at %s)" % (
                access["record_type"], access["type"], _addr(insn["memory_address"]))
        lines.append(line)
    if e["fast_fail"]:
        lines.append(_field("FAST_FAIL_CODE", "%d (%s)" % (e["fast_fail"]["code"], e["fast_fail"]["name"])))
    if e["cxx"]:
        lines.append(_field("CPP_EXCEPTION_TYPE", e["cxx"]["type"] or e["cxx"]["decorated_name"] or "unknown"))
    if insn:
        lines += ["", "FAULTING_IP:", site or "", "%s %-16s %s" % (_addr(insn["address"]), insn["bytes"], insn["text"])]
        if insn["memory_address"] and insn["access"] != "execute":
            lines[-1] += "  ; %s %s" % (insn["access"] or "access", _addr(insn["memory_address"]))
    lines += ["", _field("EXCEPTION_CODE_STR", e["code"][2:]),
              _field("ERROR_CODE", "(NTSTATUS) %s - %s" % (e["code"], e["name"]))]
    return lines


def _stack(a, digits):
    thread = a["crashing_thread"]
    if not thread:
        return []
    name = " (%s)" % thread["name"] if thread["name"] else ""
    lines = ["", _field("FAULTING_THREAD", "%08x%s" % (thread["id"], name))]
    width = digits + 1 if digits == 16 else digits  # with WinDbg's backtick
    head = "%-*s %-*s %-13s %s" % (width, "Child-SP", width, "Address", "Trust", "Call Site")
    lines += ["", "STACK_TEXT:", head]
    for f in thread["frames"]:
        lines.append("%s %s %-13s %s" % (_addr(f["sp"]), _addr(f["pc"]), f["trust"], _call_site(f)))
    if not thread["frames"]:
        lines.append("(no frames: the dump holds no context or stack for this thread)")
    return lines


def _bucket(a):
    m = a["faulting_module"]
    lines = [""]
    if m:
        stem = m["name"].rsplit(".", 1)[0]
        lines += [_field("MODULE_NAME", stem), _field("IMAGE_NAME", m["name"]),
                  _field("IMAGE_VERSION", m["version"] or "none (no version resource)")]
        if m["function"]:
            lines.append(_field("SYMBOL_NAME", "%s!%s+%s" % (m["name"], m["function"], m["function_offset"])))
    if a["signature"]:
        lines += [_field("FAILURE_BUCKET_ID", a["signature"]), _field("FAILURE_FAMILY", a["family"])]
    return lines


def _modules(a):
    """The faulting module and the modules of the stack, as ``lmv`` lists them."""
    wanted = [(a["faulting_module"] or {}).get("name")]
    wanted += [f["module"] for f in (a["crashing_thread"] or {}).get("frames") or []]
    by_name = {m["name"]: m for m in a["modules"]}
    listed = [by_name[n] for n in dict.fromkeys(wanted) if n in by_name]
    if not listed:
        return []
    lines = ["", "MODULES (faulting and on the stack):"]
    for m in listed:
        end = "0x%0*x" % (len(m["base"]) - 2, int(m["base"], 16) + m["size"])
        lines += ["%s %s   %s" % (_addr(m["base"]), _addr(end), m["name"]),
                  "    Image path: %s" % m["path"],
                  "    Timestamp:  %s   Size: 0x%x" % (m["timestamp"], m["size"]),
                  "    File version: %s" % (m["version"] or "none")]
        if m["pdb"]:
            lines.append("    Symbols: %s %s" % (m["pdb"]["name"], m["pdb"]["debug_id"]))
    return lines


def render(analysis):
    """The text of ``analysis`` (a dict as analyze_file returns it)."""
    a = analysis
    digits = len(a["exception"]["address"]) - 2 if a["exception"] else 16
    lines = _header(a) + _exception(a, digits) + _stack(a, digits)
    if a["hints"]:
        lines += ["", "HINTS:"] + [_wrapped("%s: %s" % (h["id"], h["message"])) for h in a["hints"]]
    lines += _bucket(a) + _modules(a)
    if a["warnings"]:
        lines += ["", "WARNINGS:"] + [_wrapped(w) for w in a["warnings"]]
    return "\n".join(lines) + "\n"
