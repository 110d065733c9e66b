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
from .modules import parse_codeview
from .pe import Image

MAX_IMAGE_SIZE = 1 << 30
MAX_DEBUG_ENTRIES = 16


class _Mapped:
    """Memory-like reads (``read``, ``read_unsigned``) over a mapped image at address 0."""

    def __init__(self, data):
        self.data = data

    def read(self, address, size):
        if address < 0 or size < 0 or address + size > len(self.data):
            return None
        return bytes(self.data[address:address + size])

    def read_unsigned(self, address, width):
        data = self.read(address, width)
        return None if data is None else int.from_bytes(data, "little")


def _mapped(data):
    """``data`` (a PE file) laid out at its virtual addresses, or None when it is not a PE file."""
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
    return _Mapped(image)


def load_file_image(data):
    """The pe.Image of an image file's bytes (based at 0), or None."""
    mapped = _mapped(data)
    return Image.load(mapped, 0) if mapped is not None else None


def pdb_identity(data):
    """The CodeView record (modules.CodeView) in an image file's debug directory, or None."""
    image = load_file_image(data)
    if image is None:
        return None
    rva, size = image.directories.get(fmt.DIRECTORY_DEBUG, (0, 0))
    count = min(size // fmt.PE_DEBUG_DIRECTORY.size, MAX_DEBUG_ENTRIES)
    for i in range(count):
        entry = image.memory.read(rva + i * fmt.PE_DEBUG_DIRECTORY.size, fmt.PE_DEBUG_DIRECTORY.size)
        if entry is None:
            return None
        kind, data_size, data_rva = fmt.PE_DEBUG_DIRECTORY.unpack(entry)[4:7]
        if kind == fmt.DEBUG_TYPE_CODEVIEW:
            found = parse_codeview(image.memory.read(data_rva, data_size))
            if found is not None:
                return found
    return None
