"""analysis.txt: the analysis of real dumps as a person reads it, in the layout of !analyze -v."""

import re

from ansible_collections.crashdump.windows.plugins.plugin_utils._minidump.analyze import analyze_file
from ansible_collections.crashdump.windows.plugins.plugin_utils._minidump.report import render


def section(text, name):
    """The lines of the section ``name:`` up to the next blank line."""
    lines = text.splitlines()
    start = lines.index(name + ":") + 1
    end = lines.index("", start) if "" in lines[start:] else len(lines)
    return lines[start:end]


def test_a_non_canonical_write_in_a_system_dll(fixture_dump):
    analysis = analyze_file(fixture_dump("heap_corruption.mini.dmp.gz"), max_frames=6)
    text = render(analysis)
    e, frames = analysis["exception"], analysis["crashing_thread"]["frames"]
    assert "ExceptionAddress: 00000001`%s (%s)\n" % (e["address"][10:], frames[0]["display"]) in text
    assert "   ExceptionCode: c0000005 (STATUS_ACCESS_VIOLATION)\n" in text
    assert "   Parameter[1]: ffffffffffffffff\n" in text
    memory = e["instruction"]["memory_address"][2:]
    assert ("Attempt to write to address ffffffff`ffffffff (the exception record says read; the faulting "
            "instruction does the write, at %s`%s)\n" % (memory[:8], memory[8:])) in text
    ip = section(text, "FAULTING_IP")
    assert ip[0] == frames[0]["display"] and ip[1].split()[1:3] == [e["instruction"]["bytes"], "mov"]
    stack = section(text, "STACK_TEXT")
    assert stack[0].split() == ["Child-SP", "Address", "Trust", "Call", "Site"]
    assert [line.split()[2:] for line in stack[1:]] == [[f["trust"], f["display"]] for f in frames]
    hints = "\n".join(section(text, "HINTS"))
    assert hints.startswith("    non_canonical_address: the write was") and "system_dll_victim" in hints
    assert "IMAGE_NAME:  ntdll.dll\n" in text and "FAILURE_BUCKET_ID:  %s\n" % analysis["signature"] in text
    # The modules that matter: the faulting one first, then those of the stack, each once.
    listed = re.findall(r"^\S+ \S+   (\S+)$", "\n".join(section(text, "MODULES (faulting and on the stack)")), re.M)
    assert listed == list(dict.fromkeys(["ntdll.dll"] + [f["module"] for f in frames]))


def test_a_dump_taken_without_a_crash_and_a_fast_fail(fixture_dump):
    analysis = analyze_file(fixture_dump("fastfail.mini.dmp.gz"), max_frames=4)
    text = render(analysis)
    assert "FAST_FAIL_CODE:  5 (%s)\n" % analysis["exception"]["fast_fail"]["name"] in text
    assert section(text, "FAULTING_IP")[1].endswith(" cd29             int 0x29")
    assert "Attempt to" not in text
    analysis.update(exception=None, faulting_module=None, crashing_thread=None, signature=None)
    text = render(analysis)
    assert "No exception record: the dump was taken without a crash.\n" in text and "STACK_TEXT" not in text
