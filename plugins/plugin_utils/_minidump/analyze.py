# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Crash analysis of one minidump, as ``!analyze -v`` gives it (with symbols when a Symbolizer is given).

``analyze_file(path)`` returns the analysis as a dict (see ``schema.json``).
A stream that cannot be read is left out with a line in ``warnings``; only
a file whose header or stream directory cannot be read raises MinidumpError.
"""

from __future__ import annotations

import datetime as dt

from .. import _ntstatus, _signature
from .. import _wer as wer
from . import codes, instruction
from . import format as fmt
from .code_bytes import CodeBytes
from .context import read_context
from .cxx import thrown_type, undecorate
from .errors import MinidumpError
from .exception import read_exception
from .handles import read_handles
from .hints import Facts, hints
from .memory import read_memory
from .memory_info import read_memory_info
from .misc_info import read_misc_info
from .modules import ModuleList, read_modules, read_unloaded_modules
from .reader import Minidump
from .result import (
    Access,
    Analysis,
    Counts,
    Cpu,
    CrashingThread,
    CxxException,
    DumpFacts,
    ExceptionReport,
    FastFail,
    FaultingModule,
    FrameRecord,
    Handles,
    InstructionRecord,
    ModuleRecord,
    Os,
    Pdb,
    Process,
    Stack,
    System,
    UnloadedModuleRecord,
)
from .system_info import read_system_info
from .threads import read_thread_infos, read_thread_names, read_threads
from .unwind import DEFAULT_MAX_FRAMES, Frame, StackWalker

ACCESS_CODES = (0xC0000005, 0xC0000006, 0xC00000FD)  # parameters: access type, address
ACCESS_CODE = {name: code for code, name in codes.ACCESS_TYPES.items()}
NO_VERSION = "0.0.0.0"  # what Event 1000 shows for an image without a version resource
FILETIME_UNIX_EPOCH = 116444736000000000  # 1970-01-01 in 100 ns units since 1601


def _iso(seconds):
    if not seconds:
        return None
    return dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Analyzer:
    def __init__(self, dump, path, max_frames, symbolizer):
        self.dump = dump
        self.path = path
        self.max_frames = max_frames
        self.symbolizer = symbolizer
        self._symbol_problems = len(symbolizer.path.problems) if symbolizer else 0
        self.warnings = []
        self.system = self._get(read_system_info, None)
        self.memory = self._get(read_memory, None)
        self.modules = self._get(read_modules, ModuleList([]))
        self.unloaded = self._get(read_unloaded_modules, [])
        self.threads = self._get(read_threads, None)
        self.exception = self._get(read_exception, None)
        self.misc = self._get(read_misc_info, None)
        self.memory_info = self._get(read_memory_info, None)
        self.handles = self._get(read_handles, None)
        self.thread_names = self._get(read_thread_names, {})
        self.thread_infos = self._get(read_thread_infos, {})
        if self.memory is not None and self.memory.clipped:
            self.warnings.append("%d memory ranges run past the end of the file: the dump is truncated"
                                 % self.memory.clipped)
        self.arch_code = self.system.architecture if self.system else fmt.ARCH_UNKNOWN
        self.context = None
        if self.exception is not None:
            try:
                self.context = read_context(dump, self.exception.context_size, self.exception.context_rva,
                                            self.arch_code, "exception context")
            except MinidumpError as e:
                self.warnings.append(str(e))
        arch = self.context.arch if self.context else codes.CPU_ARCHITECTURES.get(self.arch_code)
        self.arch = arch
        self.digits = 8 if arch == "x86" else 16
        self.code = CodeBytes(dump, self.memory, self.modules, symbolizer.image if symbolizer else None)
        self.access = None  # (type, address accessed) of an access violation, once exception_facts has run

    def _get(self, reader, default):
        try:
            value = reader(self.dump)
        except MinidumpError as e:
            self.warnings.append(str(e))
            return default
        return default if value is None else value

    def addr(self, value):
        return "0x%0*x" % (self.digits, value)

    # -- sections ------------------------------------------------------------

    def dump_facts(self):
        dump = self.dump
        memory = self.memory
        full = bool(dump.flags & wer.MINIDUMP_TYPE["WithFullMemory"]) or dump.stream(fmt.MEMORY64_LIST) is not None
        return DumpFacts(
            timestamp=_iso(dump.timestamp),
            flags="0x%x" % dump.flags,
            flag_names=[name for name, bit in wer.MINIDUMP_TYPE.items() if bit and dump.flags & bit],
            kind="full" if full else "mini",
            streams=[s.name for s in dump.directory if s.type or s.size],
            unknown_streams=["0x%x" % s.type for s in dump.unknown_streams()],
            memory_ranges=len(memory) if memory else 0,
            memory_bytes=memory.total_bytes if memory else 0)

    def system_facts(self):
        s = self.system
        if s is None:
            return None
        os = Os(
            name=codes.os_name(s.major_version, s.minor_version, s.build_number, s.product_type),
            version="%d.%d.%d" % (s.major_version, s.minor_version, s.build_number),
            build=s.build_number, service_pack=s.csd_version or None,
            product_type=codes.PRODUCT_TYPES.get(s.product_type),
            build_string=self.misc.build_string if self.misc else None,
            wine=s.wine)
        arch = codes.CPU_ARCHITECTURES.get(s.architecture, "unknown (%d)" % s.architecture)
        return System(os, Cpu(arch, s.processor_count, s.cpu_vendor, s.processor_level, s.processor_revision))

    def process_facts(self):
        misc = self.misc
        image = self.modules.modules[0] if len(self.modules) else None
        create = misc.create_time if misc else None
        uptime = self.dump.timestamp - create if create and self.dump.timestamp >= create else None
        integrity = misc.integrity_level if misc else None
        return Process(
            pid=misc.process_id if misc else None,
            image=image.name if image else None,
            image_path=image.path if image else None,
            image_version=image.file_version if image else None,
            create_time=_iso(create),
            uptime_seconds=uptime,
            user_time_seconds=misc.user_time if misc else None,
            kernel_time_seconds=misc.kernel_time if misc else None,
            integrity_level=codes.INTEGRITY_LEVELS.get(integrity, None if integrity is None else hex(integrity)))

    def exception_facts(self):
        e = self.exception
        if e is None:
            return None
        access = fast_fail = cxx = None
        decoded = self._faulting_instruction()
        implied = at = None
        if e.code in ACCESS_CODES and len(e.parameters) >= 2:
            recorded = codes.ACCESS_TYPES.get(e.parameters[0], "unknown (%d)" % e.parameters[0])
            if decoded is not None:
                implied, at = decoded.access_for(e.parameters[1], self.arch)
            # A general-protection fault (a non-canonical address) is recorded as a read of all ones,
            # whatever the instruction did: then the instruction tells.
            unsure = e.parameters[1] == (1 << 4 * self.digits) - 1 or e.parameters[0] not in codes.ACCESS_TYPES
            kind = implied if implied is not None and unsure else recorded
            access = Access(kind, self.addr(e.parameters[1]), recorded)
            self.access = (ACCESS_CODE.get(kind, e.parameters[0]), at)
        if e.code == 0xC0000409 and e.parameters:
            fast_fail = FastFail(e.parameters[0], codes.fast_fail_name(e.parameters[0]))
        if e.code == fmt.CXX_EXCEPTION_CODE and len(e.parameters) >= 3 and e.parameters[0] in fmt.CXX_MAGICS:
            decorated = thrown_type(self.memory, e.parameters, self.arch) if self.memory is not None else None
            cxx = CxxException(undecorate(decorated) if decorated else None, decorated, self.addr(e.parameters[1]))
        if e.declared_parameters > fmt.EXCEPTION_MAXIMUM_PARAMETERS:
            self.warnings.append("the exception record claims %d parameters; only %d exist"
                                 % (e.declared_parameters, fmt.EXCEPTION_MAXIMUM_PARAMETERS))
        return ExceptionReport(
            thread_id=e.thread_id, code="0x%08x" % e.code, name=_ntstatus.exception_name(e.code),
            flags="0x%x" % e.flags, flag_names=codes.flag_names(e.flags, codes.EXCEPTION_FLAGS),
            address=self.addr(e.address), parameters=["0x%x" % p for p in e.parameters],
            nested=bool(e.nested_record), access=access, fast_fail=fast_fail, cxx=cxx,
            instruction=None if decoded is None else InstructionRecord(
                self.addr(decoded.address), decoded.code.hex(), decoded.text, implied,
                None if at is None else self.addr(at)))

    def _faulting_instruction(self):
        """The instruction at the exception address, decoded, when its bytes are in the dump or an image."""
        e = self.exception
        code = self.code.read_up_to(e.address, instruction.MAX_INSTRUCTION) if self.arch in ("x86", "x64") else None
        if not code:
            return None
        if not instruction.available():
            self.warnings.append(instruction.CAPSTONE_MISSING)
            return None
        return instruction.decode(code, e.address, self.arch, self.context.registers if self.context else {})

    def faulting(self):
        e = self.exception
        module = self.modules.find(e.address) if e is not None else None
        if module is None:
            return None, None
        record = FaultingModule(module.name, module.path, module.file_version, "%08x" % module.timestamp,
                                self.addr(module.base), "0x%x" % (e.address - module.base))
        symbol = self.symbolizer.lookup(module, e.address - module.base) if self.symbolizer else None
        if symbol is not None:
            record.function, record.function_offset = symbol.function, "0x%x" % symbol.offset
        return module, record

    def crashing_thread(self):
        e = self.exception
        if e is None:
            return None
        thread = next((t for t in self.threads or [] if t.id == e.thread_id), None)
        context = self.context
        if context is None and thread is not None:
            try:
                context = read_context(self.dump, thread.context_size, thread.context_rva, self.arch_code,
                                       "context of thread %d" % thread.id)
            except MinidumpError as err:
                self.warnings.append(str(err))
        stack = None
        if thread is not None and thread.stack_size:
            stack = Stack(self.addr(thread.stack_start), thread.stack_size)
        frames = []
        if context is not None:
            frames = self._frames(context, thread)
        registers = {} if context is None else {
            name: ("0x%0*x" % (4 if name in ("cs", "ds", "es", "fs", "gs", "ss") else
                               (8 if name in ("eflags", "cpsr") else self.digits), value))
            for name, value in context.registers.items()}
        info = self.thread_infos.get(e.thread_id)
        created = None
        if info is not None and info.create_time > FILETIME_UNIX_EPOCH:
            created = _iso((info.create_time - FILETIME_UNIX_EPOCH) // 10_000_000)
        return CrashingThread(e.thread_id, self.thread_names.get(e.thread_id),
                              self.addr(info.start_address) if info is not None else None, created,
                              registers, stack, frames)

    def _frames(self, context, thread):
        memory = self.memory
        if memory is None:
            return [self._frame_record(0, Frame("context", context.pc, context.sp))]
        if thread is not None and thread.stack_size:
            low = min(thread.stack_start, context.sp)
            high = thread.stack_start + thread.stack_size
        else:
            where = memory.range_at(context.sp)
            low, high = context.sp, (where.end if where else context.sp)
        walker = StackWalker(self.code, context.arch, low, high)
        try:
            frames = walker.walk(context, self.max_frames)
        except MinidumpError as e:
            self.warnings.append(str(e))
            return []
        return [self._frame_record(i, f) for i, f in enumerate(frames)]

    def _frame_record(self, index, frame):
        # Name a return address by the call before it: the byte before belongs to the caller.
        lookup = frame.pc if index == 0 else frame.pc - 1
        module = self.modules.find(lookup)
        function = offset = symbol = None
        if module is not None and self.symbolizer is not None:
            symbol = self.symbolizer.lookup(module, lookup - module.base)
            if symbol is not None:
                function, offset = symbol.function, symbol.offset + (frame.pc - lookup)
        if module is not None and function is None:
            image = self.code.image(module)
            export = image.symbol(lookup - module.base) if image is not None else None
            if export is not None:
                function, offset = export[0], export[1] + (frame.pc - lookup)
        if module is None:
            display = self.addr(frame.pc)
        elif function is not None:
            display = "%s!%s+0x%x" % (module.name, function, offset)
        else:
            display = "%s+0x%x" % (module.name, frame.pc - module.base)
        return FrameRecord(
            index=index, trust=frame.trust, pc=self.addr(frame.pc), sp=self.addr(frame.sp),
            module=module.name if module else None,
            module_offset="0x%x" % (frame.pc - module.base) if module else None,
            function=function, function_offset="0x%x" % offset if function is not None else None,
            display=display, source_file=symbol.source_file if symbol else None,
            source_line=symbol.source_line if symbol else None)

    def module_records(self):
        records = []
        for m in self.modules:
            pdb = None
            if m.codeview is not None:
                pdb = Pdb(m.codeview.pdb_name, m.codeview.guid, m.codeview.age, m.codeview.debug_id)
            records.append(ModuleRecord(m.name, m.path, self.addr(m.base), m.size, m.file_version, m.product_version,
                                        "%08x" % m.timestamp, "0x%x" % m.checksum, m.code_id, pdb))
        return records

    def hint_facts(self, module, cxx):
        e = self.exception
        section = None
        if module is not None:
            image = self.code.image(module)
            if image is not None:
                section = image.section_at(e.address - module.base)
        thread = next((t for t in self.threads or [] if e is not None and t.id == e.thread_id), None)
        access = e is not None and e.code in ACCESS_CODES and len(e.parameters) >= 2
        return Facts(
            code=e.code if e else None,
            access_type=self.access[0] if self.access else None,
            access_address=e.parameters[1] if access else None,
            accessed_address=self.access[1] if self.access else None,
            exception_address=e.address if e else None,
            arch=self.arch, faulting_module=module, image_section=section, modules=self.modules,
            unloaded_modules=self.unloaded,
            stack_start=thread.stack_start if thread is not None and thread.stack_size else None,
            memory_info=self.memory_info,
            fast_fail=e.parameters[0] if e and e.code == 0xC0000409 and e.parameters else None,
            cxx_type=(cxx.type or cxx.decorated_name) if cxx is not None else None)

    def run(self):
        module, faulting = self.faulting()
        exception = self.exception_facts()
        process = self.process_facts()
        signature = family = None
        if self.exception is not None and process.image is not None:
            offset = self.exception.address - module.base if module else self.exception.address
            module_name = module.name if module else "unknown"
            module_version = (module.file_version or NO_VERSION) if module else NO_VERSION
            signature = _signature.crash_signature(process.image, process.image_version or NO_VERSION, module_name,
                                                   module_version, self.exception.code, offset)
            family = _signature.family_key(process.image, module_name, self.exception.code, offset)
        facts = self.hint_facts(module, exception.cxx if exception is not None else None)
        crashing = self.crashing_thread()
        return Analysis(
            path=self.path, file_size=self.dump.size, dump=self.dump_facts(), system=self.system_facts(),
            process=process, exception=exception, faulting_module=faulting, crashing_thread=crashing,
            counts=Counts(threads=len(self.threads) if self.threads is not None else None,
                          modules=len(self.modules), unloaded_modules=len(self.unloaded),
                          handles=self.handles.count if self.handles else None),
            handles=Handles(self.handles.count, self.handles.by_type) if self.handles else None,
            modules=self.module_records(),
            unloaded_modules=[UnloadedModuleRecord(m.name, m.path, self.addr(m.base), m.size, "%08x" % m.timestamp)
                              for m in self.unloaded],
            hints=hints(facts), signature=signature, family=family,
            warnings=self.dump.warnings + self.warnings + self._new_symbol_problems())

    def _new_symbol_problems(self):
        """What kept symbols from being found for this dump (unreachable stores, unreadable files)."""
        if self.symbolizer is None:
            return []
        return ["symbols: %s" % p for p in self.symbolizer.path.problems[self._symbol_problems:]]


def analyze(dump, path=None, max_frames=DEFAULT_MAX_FRAMES, symbolizer=None):
    """The Analysis of an open Minidump; function names and source lines from ``symbolizer``
    (a symbols.Symbolizer) when given."""
    return _Analyzer(dump, path if path is not None else dump.name, max_frames, symbolizer).run()


def analyze_file(path, max_frames=DEFAULT_MAX_FRAMES, symbolizer=None):
    """The analysis of the dump at ``path``, as a dict. Raises MinidumpError or OSError."""
    with Minidump.open(path) as dump:
        return analyze(dump, str(path), max_frames, symbolizer).to_dict()
