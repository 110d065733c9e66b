# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The analysis result: typed records that become the JSON of ``schema.json``.

Addresses are ``0x``-prefixed hex strings padded to the pointer size (16
digits, 8 for x86), other hex numbers are unpadded; times are ISO 8601 UTC.
Any field may be null when the dump does not hold it. Lists of names (hint
ids, trust values, architectures) are open: consumers must accept new ones.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

SCHEMA_VERSION = 3


@dataclass
class Pdb:
    name: str
    guid: str | None
    age: int
    debug_id: str


@dataclass
class ModuleRecord:
    name: str
    path: str
    base: str
    size: int
    version: str | None
    product_version: str | None
    timestamp: str  # the image's link time stamp, hex (as Event 1000 shows it)
    checksum: str
    code_id: str
    pdb: Pdb | None


@dataclass
class UnloadedModuleRecord:
    name: str
    path: str
    base: str
    size: int
    timestamp: str


@dataclass
class Os:
    name: str | None
    version: str | None
    build: int | None
    service_pack: str | None
    product_type: str | None
    build_string: str | None
    wine: dict | None


@dataclass
class Cpu:
    arch: str
    count: int | None
    vendor: str | None
    level: int | None
    revision: int | None


@dataclass
class System:
    os: Os
    cpu: Cpu


@dataclass
class Process:
    pid: int | None
    image: str | None
    image_path: str | None
    image_version: str | None
    create_time: str | None
    uptime_seconds: int | None
    user_time_seconds: int | None
    kernel_time_seconds: int | None
    integrity_level: str | None


@dataclass
class Access:
    type: str  # read, write, execute, or unknown (N): the faulting instruction's when the record cannot tell
    address: str
    record_type: str  # what the exception record says


@dataclass
class InstructionRecord:
    address: str
    bytes: str  # hex
    text: str  # Intel syntax, as Capstone writes it
    access: str | None  # read, write or execute: what the instruction did at the fault address
    memory_address: str | None  # the address it accessed, from its operands and the registers


@dataclass
class FastFail:
    code: int
    name: str


@dataclass
class CxxException:
    type: str | None  # the thrown class, undecorated, when the dump holds the throw information
    decorated_name: str | None
    object: str


@dataclass
class ExceptionReport:
    thread_id: int
    code: str
    name: str
    flags: str
    flag_names: list
    address: str
    parameters: list
    nested: bool
    access: Access | None
    fast_fail: FastFail | None
    cxx: CxxException | None
    instruction: InstructionRecord | None = None  # the instruction at the exception address, when its bytes are known


@dataclass
class FaultingModule:
    name: str
    path: str
    version: str | None
    timestamp: str
    base: str
    offset: str
    function: str | None = None  # from the module's symbols (symbol_path)
    function_offset: str | None = None


@dataclass
class FrameRecord:
    index: int
    trust: str  # context, cfi, frame_pointer, scan
    pc: str
    sp: str
    module: str | None
    module_offset: str | None
    function: str | None  # from the module's symbols, else an export when its image is in the dump
    function_offset: str | None
    display: str  # module!function+0xoff, module+0xoff or the bare address
    source_file: str | None = None  # from the module's symbols (symbol_path)
    source_line: int | None = None


@dataclass
class Stack:
    start: str
    size: int


@dataclass
class CrashingThread:
    id: int
    name: str | None
    start_address: str | None  # from the ThreadInfoList
    create_time: str | None
    registers: dict
    stack: Stack | None
    frames: list


@dataclass
class Handles:
    count: int
    by_type: dict


@dataclass
class Counts:
    threads: int | None
    modules: int | None
    unloaded_modules: int | None
    handles: int | None


@dataclass
class Hint:
    id: str
    message: str


@dataclass
class DumpFacts:
    timestamp: str | None
    flags: str
    flag_names: list
    kind: str  # full (process memory included) or mini
    streams: list
    unknown_streams: list
    memory_ranges: int
    memory_bytes: int


@dataclass
class Analysis:
    path: str
    file_size: int
    dump: DumpFacts
    system: System | None
    process: Process
    exception: ExceptionReport | None
    faulting_module: FaultingModule | None
    crashing_thread: CrashingThread | None
    counts: Counts
    handles: Handles | None
    modules: list
    unloaded_modules: list
    hints: list
    signature: str | None
    family: str | None
    warnings: list = field(default_factory=list)
    schema_version: int = SCHEMA_VERSION

    def to_dict(self):
        return dataclasses.asdict(self)
