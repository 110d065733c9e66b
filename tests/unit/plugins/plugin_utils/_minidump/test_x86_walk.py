"""x86 on a real Wine mini dump (tests/fixtures/x86, made by make_x86.sh): the frame-pointer walk gives the
program's call chain and ends where the stack ends, and the faulting instruction is decoded in 32-bit mode."""

import gzip
import json
from pathlib import Path

import pytest

from ansible_collections.crashdump.windows.plugins.plugin_utils._minidump.analyze import analyze_file
from ansible_collections.crashdump.windows.plugins.plugin_utils._minidump.memory import read_memory
from ansible_collections.crashdump.windows.plugins.plugin_utils._minidump.modules import read_modules
from ansible_collections.crashdump.windows.plugins.plugin_utils._minidump.reader import Minidump

FOLDER = Path(__file__).resolve().parents[4] / "fixtures" / "x86"
FACTS = json.loads((FOLDER / "facts.json").read_text())


@pytest.fixture(scope="module")
def dump(tmp_path_factory):
    path = tmp_path_factory.mktemp("x86") / "null_write.x86.mini.dmp"
    path.write_bytes(gzip.decompress((FOLDER / "null_write.x86.mini.dmp.gz").read_bytes()))
    return str(path)


def function_of(frame):
    """The program function a frame is in, by the call before a return address (None outside the program)."""
    pc = int(frame["pc"], 16) - (1 if frame["index"] else 0)
    return next((name for name, (start, end) in FACTS["functions"].items()
                 if int(start, 16) <= pc < int(end, 16)), None)


def test_the_walk_follows_the_frame_pointer_chain_to_its_end(dump):
    result = analyze_file(dump)
    assert result["system"]["cpu"]["arch"] == "x86" and result["warnings"] == []
    frames = result["crashing_thread"]["frames"]
    # Every caller from the EBP chain, none from scanning: the program's calls, then the thread's start
    # in kernel32 and ntdll, whose outermost frame ends the chain (a saved frame pointer of 0).
    assert [f["trust"] for f in frames] == ["context"] + ["frame_pointer"] * (len(frames) - 1)
    assert [function_of(f) for f in frames[:len(FACTS["stack"])]] == FACTS["stack"]
    assert [f["module"] for f in frames[len(FACTS["stack"]):]] == ["kernel32.dll", "ntdll.dll", "ntdll.dll"]
    # Above the outermost frame the stack still holds words pointing into the modules (the program's entry
    # point, ntdll's code): a scan would have taken them for callers.
    stack = result["crashing_thread"]["stack"]
    end = int(stack["start"], 16) + stack["size"]
    with Minidump.open(dump) as opened:
        memory, modules = read_memory(opened), read_modules(opened)
        above = [memory.read_unsigned(a, 4) for a in range(int(frames[-1]["sp"], 16), end, 4)]
        assert len([w for w in above if modules.find(w) is not None]) >= 3


def test_the_faulting_instruction_in_32_bit_code(dump):
    e = analyze_file(dump)["exception"]
    assert e["access"] == {"type": "write", "address": "0x00000008", "record_type": "write"}
    assert e["instruction"]["text"].startswith("mov dword ptr [")
    assert (e["instruction"]["access"], e["instruction"]["memory_address"]) == ("write", "0x00000008")
