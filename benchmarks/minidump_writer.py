"""Writes big synthetic full dumps for benchmarks/analyze_big_dump.py, as sparse files.

    python benchmarks/minidump_writer.py PATH MEMORY_BYTES RANGES

A full dump's size is its Memory64List data. Here that data is left as
holes in a sparse file (zero pages, as most of a real process's committed
memory is), except the crashing thread's stack, which holds return addresses
into the modules so the stack walk has work to do. Everything else is what
WER writes for a 64-bit process: SystemInfo, MiscInfo, a ModuleList with
versions and PDB records, a ThreadList with contexts, the Exception stream.
"""

import json
import struct
import sys
import uuid

PAGE = 0x1000
STACK_SIZE = 0x40000
CONTEXT_SIZE = 1232
IMAGE_BASE = 0x7FF600000000


class _Blob:
    def __init__(self, reserve):
        self.data = bytearray(reserve)

    def add(self, data, align=8):
        self.data += b"\0" * (-len(self.data) % align)
        rva = len(self.data)
        self.data += data
        return rva


def _string(text):
    encoded = text.encode("utf-16-le")
    return struct.pack("<I", len(encoded)) + encoded + b"\0\0"


def _context(rip, rsp):
    ctx = bytearray(CONTEXT_SIZE)
    struct.pack_into("<I", ctx, 0x30, 0x10001F)
    struct.pack_into("<Q", ctx, 0x78 + 8 * 4, rsp)
    struct.pack_into("<Q", ctx, 0x78 + 8 * 5, rsp + 0x80)
    struct.pack_into("<Q", ctx, 0xF8, rip)
    return bytes(ctx)


def write_full_dump(path, memory_bytes=1 << 30, ranges=16384, modules=150, threads=40):
    """Write a full dump of ``memory_bytes`` of memory in ``ranges`` ranges to ``path``; returns its layout."""
    range_size = memory_bytes // ranges // PAGE * PAGE
    module_size = 0x200000
    module_bases = [IMAGE_BASE + i * module_size for i in range(modules)]
    # Memory: the module images first (their ranges), then heap-like ranges, the stack last.
    starts = []
    address = IMAGE_BASE
    for _ in range(ranges - 1):
        starts.append(address)
        address += range_size + (PAGE if address >= IMAGE_BASE + modules * module_size else 0)
    stack_start = 0x10000000
    names = ["C:\\Program Files\\App\\app.exe"] + ["C:\\Windows\\System32\\lib%03d.dll" % i for i in range(1, modules)]
    buf = _Blob(32 + 12 * 6)
    entries = []
    for i, (base, name) in enumerate(zip(module_bases, names)):
        name_rva = buf.add(_string(name), 4)
        cv = b"RSDS" + uuid.UUID(int=i + 1).bytes_le + struct.pack("<I", 1) + name.rsplit("\\", 1)[1].encode() + b"\0"
        cv_rva = buf.add(cv, 4)
        version = struct.pack("<13I", 0xFEEF04BD, 0x10000, 0xA0000, 0x4F7C0001, 0xA0000, 0x4F7C0001,
                              0x3F, 0, 0x40004, 2, 0, 0, 0)
        entries.append(struct.pack("<QIIII", base, module_size, 0, 0x5F000000 + i, name_rva) + version
                       + struct.pack("<IIIIQQ", len(cv), cv_rva, 0, 0, 0, 0))
    directory = {4: buf.add(struct.pack("<I", len(entries)) + b"".join(entries))}

    crash_pc = module_bases[1] + 0x1234
    rsp = stack_start + 0x100
    contexts = [buf.add(_context(crash_pc if t == 0 else module_bases[2] + 0x10, rsp), 16) for t in range(threads)]
    thread_entries = [struct.pack("<IIIIQQIIII", 100 + t, 0, 0x20, 0, 0x7FFDE000 - t * 0x2000, stack_start,
                                  STACK_SIZE if t == 0 else 0, 0, CONTEXT_SIZE, contexts[t]) for t in range(threads)]
    directory[3] = buf.add(struct.pack("<I", threads) + b"".join(thread_entries))
    directory[6] = buf.add(struct.pack("<IIIIQQII15QII", 100, 0, 0xC0000005, 0, 0, crash_pc, 2, 0, 0, 0,
                                       *([0] * 13), CONTEXT_SIZE, contexts[0]))
    csd = buf.add(_string(""), 4)
    directory[7] = buf.add(struct.pack("<HHHBBIIIIIHH", 9, 6, 0x5507, 8, 3, 10, 0, 20348, 2, csd, 0x100, 0)
                           + struct.pack("<12sIII", b"GenuineIntel", 0x000906EA, 0xBFEBFBFF, 0))
    directory[15] = buf.add(struct.pack("<6I", 24, 3, 4416, 1764064000, 12, 3))

    all_ranges = [(s, range_size) for s in starts] + [(stack_start, STACK_SIZE)]
    listing = struct.pack("<QQ", len(all_ranges), 0) + b"".join(struct.pack("<QQ", a, n) for a, n in all_ranges)
    directory[9] = buf.add(listing)
    data_rva = len(buf.data) + (-len(buf.data) % PAGE)
    struct.pack_into("<Q", buf.data, directory[9] + 8, data_rva)
    lengths = {4: 4 + 108 * len(entries), 3: 4 + 48 * threads, 6: 168, 7: 56, 15: 24, 9: len(listing)}
    struct.pack_into("<IIIIIIQ", buf.data, 0, 0x504D444D, 0xA793, len(directory), 32, 0, 1764064800, 0x2)
    for i, kind in enumerate(sorted(directory)):
        struct.pack_into("<III", buf.data, 32 + 12 * i, kind, lengths[kind], directory[kind])

    # The stack: return addresses into the modules every 0x60 bytes, each after a call instruction
    # (the module ranges come first in the data, back to back), the rest zero.
    stack = bytearray(STACK_SIZE)
    returns = []
    for i, slot in enumerate(range(0x138, STACK_SIZE, 0x60)):
        returns.append(module_bases[(i % (modules - 1)) + 1] + 0x1000 + (i % 64) * 0x10)
        struct.pack_into("<Q", stack, slot, returns[-1])
    total = data_rva + sum(n for _start, n in all_ranges)
    with open(path, "wb") as out:
        out.write(buf.data)
        for address in sorted(set(returns)):
            out.seek(data_rva + address - IMAGE_BASE - 5)
            out.write(b"\xe8\0\0\0\0")
        out.seek(total - STACK_SIZE)
        out.write(stack)
        out.truncate(total)
    return {"size": total, "ranges": len(all_ranges), "memory_bytes": sum(n for _start, n in all_ranges),
            "modules": modules, "threads": threads}


if __name__ == "__main__":
    # minidump_writer.py PATH MEMORY_BYTES RANGES: write the dump, print its layout as JSON.
    print(json.dumps(write_full_dump(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))))
