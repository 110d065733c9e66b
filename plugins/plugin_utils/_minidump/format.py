# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The minidump file format: raw structure layouts and constants, with the SDK's names.

Everything is little-endian and packed as the Windows SDK's ``minidumpapiset.h``
declares it. Nothing here reads a file; the reader and the stream modules do.
"""

from __future__ import annotations

import struct

SIGNATURE = b"MDMP"
VERSION = 0xA793  # low 16 bits of the header's Version

# MINIDUMP_STREAM_TYPE
THREAD_LIST = 3
MODULE_LIST = 4
MEMORY_LIST = 5
EXCEPTION = 6
SYSTEM_INFO = 7
THREAD_EX_LIST = 8
MEMORY64_LIST = 9
COMMENT_A = 10
COMMENT_W = 11
HANDLE_DATA = 12
FUNCTION_TABLE = 13
UNLOADED_MODULE_LIST = 14
MISC_INFO = 15
MEMORY_INFO_LIST = 16
THREAD_INFO_LIST = 17
HANDLE_OPERATION_LIST = 18
TOKEN = 19
JAVASCRIPT_DATA = 20
SYSTEM_MEMORY_INFO = 21
PROCESS_VM_COUNTERS = 22
IPT_TRACE = 23
THREAD_NAMES = 24

STREAM_NAMES = {
    0: "Unused", 1: "Reserved0", 2: "Reserved1",
    THREAD_LIST: "ThreadList", MODULE_LIST: "ModuleList", MEMORY_LIST: "MemoryList", EXCEPTION: "Exception",
    SYSTEM_INFO: "SystemInfo", THREAD_EX_LIST: "ThreadExList", MEMORY64_LIST: "Memory64List",
    COMMENT_A: "CommentA", COMMENT_W: "CommentW", HANDLE_DATA: "HandleData", FUNCTION_TABLE: "FunctionTable",
    UNLOADED_MODULE_LIST: "UnloadedModuleList", MISC_INFO: "MiscInfo", MEMORY_INFO_LIST: "MemoryInfoList",
    THREAD_INFO_LIST: "ThreadInfoList", HANDLE_OPERATION_LIST: "HandleOperationList", TOKEN: "Token",
    JAVASCRIPT_DATA: "JavaScriptData", SYSTEM_MEMORY_INFO: "SystemMemoryInfo",
    PROCESS_VM_COUNTERS: "ProcessVmCounters", IPT_TRACE: "IptTrace", THREAD_NAMES: "ThreadNames",
}

# MINIDUMP_HEADER: Signature, Version, NumberOfStreams, StreamDirectoryRva,
# CheckSum, TimeDateStamp, Flags (MINIDUMP_TYPE).
HEADER = struct.Struct("<IIIIIIQ")
# MINIDUMP_DIRECTORY: StreamType, Location (DataSize, Rva).
DIRECTORY = struct.Struct("<III")
U32 = struct.Struct("<I")

# MINIDUMP_MEMORY_DESCRIPTOR: StartOfMemoryRange, Memory (DataSize, Rva).
MEMORY_DESCRIPTOR = struct.Struct("<QII")
# MINIDUMP_MEMORY64_LIST header: NumberOfMemoryRanges, BaseRva (data of all
# ranges follows, back to back); MINIDUMP_MEMORY_DESCRIPTOR64: start, size.
MEMORY64_LIST_HEADER = struct.Struct("<QQ")
MEMORY_DESCRIPTOR64 = struct.Struct("<QQ")

# MINIDUMP_THREAD: ThreadId, SuspendCount, PriorityClass, Priority, Teb,
# Stack (MINIDUMP_MEMORY_DESCRIPTOR), ThreadContext (location).
THREAD = struct.Struct("<IIIIQQIIII")
# MINIDUMP_THREAD_EX: MINIDUMP_THREAD then BackingStore (Itanium only).
THREAD_EX = struct.Struct("<IIIIQQIIIIQII")

# MINIDUMP_MODULE (108 bytes, unpadded): BaseOfImage, SizeOfImage, CheckSum,
# TimeDateStamp, ModuleNameRva, VersionInfo (VS_FIXEDFILEINFO, 13 DWORDs),
# CvRecord, MiscRecord (locations), Reserved0, Reserved1.
MODULE = struct.Struct("<QIIII13IIIIIQQ")
VS_FFI_SIGNATURE = 0xFEEF04BD

# CodeView records a module's CvRecord points at.
CV_RSDS = b"RSDS"  # GUID (16 bytes), Age, PDB path (UTF-8, NUL-terminated)
CV_NB10 = b"NB10"  # Offset, Signature (time stamp), Age, PDB path
CV_RSDS_HEAD = struct.Struct("<4s16sI")
CV_NB10_HEAD = struct.Struct("<4sIII")

# MINIDUMP_UNLOADED_MODULE_LIST: SizeOfHeader, SizeOfEntry, NumberOfEntries;
# MINIDUMP_UNLOADED_MODULE: BaseOfImage, SizeOfImage, CheckSum,
# TimeDateStamp, ModuleNameRva.
LIST_HEADER = struct.Struct("<III")
UNLOADED_MODULE = struct.Struct("<QIIII")

# MINIDUMP_EXCEPTION_STREAM: ThreadId, alignment, MINIDUMP_EXCEPTION
# (ExceptionCode, ExceptionFlags, ExceptionRecord, ExceptionAddress,
# NumberParameters, alignment, ExceptionInformation[15]), ThreadContext.
EXCEPTION_STREAM = struct.Struct("<IIIIQQII15QII")
EXCEPTION_MAXIMUM_PARAMETERS = 15

# MINIDUMP_SYSTEM_INFO: ProcessorArchitecture, ProcessorLevel,
# ProcessorRevision, NumberOfProcessors, ProductType, MajorVersion,
# MinorVersion, BuildNumber, PlatformId, CSDVersionRva, SuiteMask, Reserved2,
# then the 24-byte CPU_INFORMATION union.
SYSTEM_INFO_STRUCT = struct.Struct("<HHHBBIIIIIHH24s")
# CPU_INFORMATION.X86CpuInfo: VendorId[3], VersionInformation,
# FeatureInformation, AMDExtendedCpuFeatures.
X86_CPU_INFO = struct.Struct("<12sIII")

# MINIDUMP_MISC_INFO: SizeOfInfo, Flags1, ProcessId, ProcessCreateTime,
# ProcessUserTime, ProcessKernelTime; _2 adds five processor power DWORDs
# (not read); _3 adds ProcessIntegrityLevel, ProcessExecuteFlags, ProtectedProcess,
# TimeZoneId and a TIME_ZONE_INFORMATION; _4 adds BuildString[260] and
# DbgBldStr[40] (UTF-16).
MISC_INFO_STRUCT = struct.Struct("<IIIIII")
MISC_INFO_3_PROCESS = struct.Struct("<IIII")
MISC_INFO_SIZE = 24
MISC_INFO_2_SIZE = 44
MISC_INFO_3_SIZE = 232
MISC_INFO_4_SIZE = 832
MISC_INFO_4_BUILD_OFFSET = 232
MISC1_PROCESS_ID = 0x1
MISC1_PROCESS_TIMES = 0x2
MISC3_PROCESS_INTEGRITY = 0x10
MISC3_PROCESS_EXECUTE_FLAGS = 0x20
MISC3_PROTECTED_PROCESS = 0x80
MISC4_BUILDSTRING = 0x100

# MINIDUMP_HANDLE_DATA_STREAM: SizeOfHeader, SizeOfDescriptor,
# NumberOfDescriptors, Reserved; MINIDUMP_HANDLE_DESCRIPTOR (32 bytes):
# Handle, TypeNameRva, ObjectNameRva, Attributes, GrantedAccess,
# HandleCount, PointerCount (_2, 40 bytes, adds ObjectInfoRva, Reserved0).
HANDLE_DATA_HEADER = struct.Struct("<IIII")
HANDLE_DESCRIPTOR = struct.Struct("<QIIIIII")

# MINIDUMP_THREAD_INFO_LIST header (LIST_HEADER) and MINIDUMP_THREAD_INFO:
# ThreadId, DumpFlags, DumpError, ExitStatus, CreateTime, ExitTime,
# KernelTime, UserTime, StartAddress, Affinity.
THREAD_INFO = struct.Struct("<IIIIQQQQQQ")

# MINIDUMP_MEMORY_INFO_LIST: SizeOfHeader, SizeOfEntry, NumberOfEntries (64-bit);
# MINIDUMP_MEMORY_INFO: BaseAddress, AllocationBase, AllocationProtect,
# alignment, RegionSize, State, Protect, Type, alignment.
MEMORY_INFO_LIST_HEADER = struct.Struct("<IIQ")
MEMORY_INFO = struct.Struct("<QQIIQIIII")

# MINIDUMP_THREAD_NAME_LIST: NumberOfThreadNames; MINIDUMP_THREAD_NAME:
# ThreadId, RvaOfThreadName (64-bit), packed.
THREAD_NAME = struct.Struct("<IQ")

# ProcessorArchitecture values.
ARCH_X86 = 0
ARCH_ARM = 5
ARCH_IA64 = 6
ARCH_AMD64 = 9
ARCH_ARM64 = 12
ARCH_UNKNOWN = 0xFFFF

# CONTEXT records by size: x86 (with extended registers), AMD64, ARM64.
CONTEXT_X86_SIZE = 716
CONTEXT_X86_BASE_SIZE = 204  # without ExtendedRegisters
CONTEXT_AMD64_SIZE = 1232
CONTEXT_ARM64_SIZE = 912

# Memory protection, state and type (MEMORY_BASIC_INFORMATION).
PAGE_NOACCESS = 0x01
PAGE_READONLY = 0x02
PAGE_READWRITE = 0x04
PAGE_WRITECOPY = 0x08
PAGE_EXECUTE = 0x10
PAGE_EXECUTE_READ = 0x20
PAGE_EXECUTE_READWRITE = 0x40
PAGE_EXECUTE_WRITECOPY = 0x80
PAGE_GUARD = 0x100
MEM_COMMIT = 0x1000
MEM_RESERVE = 0x2000

# Portable executable images, as mapped in memory.
DOS_SIGNATURE = b"MZ"
PE_SIGNATURE = b"PE\0\0"
# IMAGE_FILE_HEADER: Machine, NumberOfSections, TimeDateStamp,
# PointerToSymbolTable, NumberOfSymbols, SizeOfOptionalHeader, Characteristics.
PE_FILE_HEADER = struct.Struct("<HHIIIHH")
PE32_MAGIC = 0x10B
PE32PLUS_MAGIC = 0x20B
# Offsets of NumberOfRvaAndSizes in the optional header (the data directories follow).
PE32_DIRECTORY_COUNT_OFFSET = 92
PE32PLUS_DIRECTORY_COUNT_OFFSET = 108
DIRECTORY_EXPORT = 0
DIRECTORY_EXCEPTION = 3
DIRECTORY_DEBUG = 6
# IMAGE_DEBUG_DIRECTORY: Characteristics, TimeDateStamp, MajorVersion,
# MinorVersion, Type, SizeOfData, AddressOfRawData, PointerToRawData.
PE_DEBUG_DIRECTORY = struct.Struct("<IIHHIIII")
DEBUG_TYPE_CODEVIEW = 2
# SizeOfImage in the optional header (PE32 and PE32+ alike).
PE_SIZE_OF_IMAGE_OFFSET = 56
# IMAGE_SECTION_HEADER: Name, VirtualSize, VirtualAddress, SizeOfRawData,
# PointerToRawData, PointerToRelocations, PointerToLinenumbers,
# NumberOfRelocations, NumberOfLinenumbers, Characteristics.
PE_SECTION = struct.Struct("<8sIIIIIIHHI")
SCN_MEM_EXECUTE = 0x20000000
# IMAGE_EXPORT_DIRECTORY from Name on: Name, Base, NumberOfFunctions,
# NumberOfNames, AddressOfFunctions, AddressOfNames, AddressOfNameOrdinals.
PE_EXPORT_DIRECTORY = struct.Struct("<12xIIIIIII")
MACHINE_AMD64 = 0x8664

# x64 exception data: RUNTIME_FUNCTION (BeginAddress, EndAddress,
# UnwindData, all image-relative) and the UNWIND_INFO header (Version and
# Flags, SizeOfProlog, CountOfCodes, FrameRegister and FrameOffset).
RUNTIME_FUNCTION = struct.Struct("<III")
UNWIND_INFO_HEADER = struct.Struct("<BBBB")
UNW_FLAG_CHAININFO = 0x4
UWOP_PUSH_NONVOL = 0
UWOP_ALLOC_LARGE = 1
UWOP_ALLOC_SMALL = 2
UWOP_SET_FPREG = 3
UWOP_SAVE_NONVOL = 4
UWOP_SAVE_NONVOL_FAR = 5
UWOP_EPILOG = 6
UWOP_SPARE_CODE = 7
UWOP_SAVE_XMM128 = 8
UWOP_SAVE_XMM128_FAR = 9
UWOP_PUSH_MACHFRAME = 10

# C++ exceptions thrown by the Microsoft runtime (code 0xE06D7363):
# parameters magic, object, ThrowInfo, image base (64-bit only). ThrowInfo:
# attributes, pmfnUnwind, pForwardCompat, pCatchableTypeArray; the array:
# count then entries; CatchableType: properties, pType, ...; TypeDescriptor:
# pVFTable, spare, then the decorated name. x64 pointers in these are RVAs.
CXX_EXCEPTION_CODE = 0xE06D7363
CXX_MAGICS = (0x19930520, 0x19930521, 0x19930522, 0x01994000)
CXX_THROW_INFO = struct.Struct("<IIII")
CXX_CATCHABLE_TYPE = struct.Struct("<II")
