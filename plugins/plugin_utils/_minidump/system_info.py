# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The SystemInfo stream: Windows version and processor."""

from __future__ import annotations

from dataclasses import dataclass

from . import format as fmt
from .errors import MinidumpError

# Wine appends its own block right after the structure: "WINE", a count,
# offsets (from after the marker) of NUL-terminated strings: build id, host
# system name, host release.
_WINE_MARKER = b"WINE"


@dataclass(frozen=True)
class SystemInfo:
    architecture: int
    processor_level: int
    processor_revision: int
    processor_count: int
    product_type: int
    major_version: int
    minor_version: int
    build_number: int
    platform_id: int
    csd_version: str
    suite_mask: int
    cpu_vendor: str | None  # x86 and x64, when the writer filled X86CpuInfo
    cpu_signature: int | None  # CPUID leaf 1 EAX (family, model, stepping)
    wine: dict | None  # {"build": ..., "host": ...} when Wine wrote the dump


def _wine_block(dump, rva):
    """Wine's block at ``rva``, if there is one."""
    if rva + 8 > dump.size or dump.read(rva, 4, "Wine system information") != _WINE_MARKER:
        return None
    (count,) = fmt.U32.unpack_from(dump.read(rva + 4, 4, "Wine system information"), 0)
    count = min(count, 8)
    offsets = [fmt.U32.unpack_from(dump.read(rva + 8 + 4 * i, 4, "Wine system information"), 0)[0]
               for i in range(count)]
    strings = []
    for offset in offsets:
        start = rva + 4 + offset
        raw = dump.read(start, max(0, min(256, dump.size - start)), "Wine system information")
        strings.append(raw.split(b"\0", 1)[0].decode("utf-8", errors="replace"))
    info = {}
    if strings:
        info["build"] = strings[0]
    if len(strings) >= 3:
        info["host"] = "%s %s" % (strings[1], strings[2])
    return info


def read_system_info(dump):
    """The SystemInfo stream, or None when absent."""
    def build():
        stream = dump.stream(fmt.SYSTEM_INFO)
        if stream is None:
            return None
        data = dump.stream_data(stream, fmt.SYSTEM_INFO_STRUCT.size)
        (arch, level, revision, cpus, product, major, minor, build_number, platform, csd_rva, suite, _reserved,
         cpu) = fmt.SYSTEM_INFO_STRUCT.unpack_from(data, 0)
        try:
            csd = dump.string(csd_rva, "service pack name") if csd_rva else ""
        except MinidumpError as e:
            dump.warnings.append(str(e))
            csd = ""
        vendor = signature = None
        if arch in (fmt.ARCH_X86, fmt.ARCH_AMD64):
            vendor_id, signature, _features, _amd = fmt.X86_CPU_INFO.unpack_from(cpu, 0)
            if not (len(vendor_id) == 12 and vendor_id.isalnum() and vendor_id.isascii()):
                # Not a CPUID vendor string: the writer filled OtherCpuInfo (Wine does on x64).
                vendor_id, signature = b"", None
            vendor = vendor_id.decode("ascii") or None
        wine = _wine_block(dump, stream.rva + fmt.SYSTEM_INFO_STRUCT.size)
        return SystemInfo(arch, level, revision, cpus, product, major, minor, build_number, platform, csd, suite,
                          vendor, signature, wine)
    return dump.cached("system_info", build)
