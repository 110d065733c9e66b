# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A module image from a file (a symbol store, a folder of binaries), laid out as Windows maps it.

Mini dumps seldom hold the images, and Wine's hold no CodeView record in
their module list: the image file's debug directory names the PDB, as
WinDbg reads it ("Symbol path for Windows debuggers": images are found by
TimeDateStamp and SizeOfImage). The file's sections are copied to their
virtual addresses so that pe.Image reads it as it reads memory.
"""

from __future__ import annotations

from . import format as fmt
from .memory import Range
from .modules import parse_codeview
from .pe import Image

MAX_IMAGE_SIZE = 1 << 30
MAX_DEBUG_ENTRIES = 16


class _Mapped:
    """Memory-like reads (``read``, ``read_unsigned``, ``range_at``) over an image mapped at ``base``."""

    def __init__(self, data, base):
        self.data = data
        self.base = base

    def read(self, address, size):
        address -= self.base
        if address < 0 or size < 0 or address + size > len(self.data):
            return None
        return bytes(self.data[address:address + size])

    def range_at(self, address):
        return Range(self.base, len(self.data), 0) if 0 <= address - self.base < len(self.data) else None

    def read_unsigned(self, address, width):
        data = self.read(address, width)
        return None if data is None else int.from_bytes(data, "little")


def _mapped(data, base):
    """``data`` (a PE file) laid out at its virtual addresses from ``base``, or None when it is not a PE file."""
    if data[:2] != fmt.DOS_SIGNATURE or len(data) < 0x40:
        return None
    nt = int.from_bytes(data[0x3C:0x40], "little")
    head = data[nt:nt + 4 + fmt.PE_FILE_HEADER.size]
    if len(head) < 4 + fmt.PE_FILE_HEADER.size or head[:4] != fmt.PE_SIGNATURE:
        return None
    nsections, optional_size = fmt.PE_FILE_HEADER.unpack_from(head, 4)[1], fmt.PE_FILE_HEADER.unpack_from(head, 4)[5]
    optional_at = nt + 4 + fmt.PE_FILE_HEADER.size
    size = int.from_bytes(data[optional_at + fmt.PE_SIZE_OF_IMAGE_OFFSET:optional_at + fmt.PE_SIZE_OF_IMAGE_OFFSET + 4],
                          "little")
    if not 0 < size <= MAX_IMAGE_SIZE:
        return None
    table_at = optional_at + optional_size
    image = bytearray(size)
    image[:table_at + nsections * fmt.PE_SECTION.size] = data[:min(size, table_at + nsections * fmt.PE_SECTION.size)]
    for values in fmt.PE_SECTION.iter_unpack(data[table_at:table_at + nsections * fmt.PE_SECTION.size]):
        vsize, rva, raw_size, raw_at = values[1:5]
        length = max(0, min(raw_size, vsize or raw_size, size - rva, len(data) - raw_at))
        image[rva:rva + length] = data[raw_at:raw_at + length]
    return _Mapped(image, base)


def code_id(data):
    """The image's symbol-server key (TimeDateStamp and SizeOfImage, as modules.Module.code_id), or None."""
    nt = int.from_bytes(data[0x3C:0x40], "little") if data[:2] == fmt.DOS_SIGNATURE else None
    if nt is None or data[nt:nt + 4] != fmt.PE_SIGNATURE:
        return None
    timestamp = fmt.PE_FILE_HEADER.unpack_from(data, nt + 4)[2]
    at = nt + 4 + fmt.PE_FILE_HEADER.size + fmt.PE_SIZE_OF_IMAGE_OFFSET
    return "%08X%x" % (timestamp, int.from_bytes(data[at:at + 4], "little"))


def load_file_image(data, base=0):
    """The pe.Image of an image file's bytes, as loaded at ``base``, or None."""
    mapped = _mapped(data, base)
    return Image.load(mapped, base) if mapped is not None else None


def pdb_identity(image):
    """The CodeView record (modules.CodeView) in the debug directory of ``image`` (a pe.Image), or None."""
    rva, size = image.directories.get(fmt.DIRECTORY_DEBUG, (0, 0))
    count = min(size // fmt.PE_DEBUG_DIRECTORY.size, MAX_DEBUG_ENTRIES)
    for i in range(count):
        entry = image.memory.read(image.base + rva + i * fmt.PE_DEBUG_DIRECTORY.size, fmt.PE_DEBUG_DIRECTORY.size)
        if entry is None:
            return None
        kind, data_size, data_rva = fmt.PE_DEBUG_DIRECTORY.unpack(entry)[4:7]
        if kind == fmt.DEBUG_TYPE_CODEVIEW:
            found = parse_codeview(image.memory.read(image.base + data_rva, data_size))
            if found is not None:
                return found
    return None
