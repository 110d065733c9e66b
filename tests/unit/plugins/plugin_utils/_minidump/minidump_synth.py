"""A small minidump writer for tests: any stream, laid out the way the SDK describes.

``Builder`` appends blobs after the 32-byte header and writes the stream
directory last, so streams can point at anything added before them. The
helpers return stream payloads; ``pe_image`` lays out a PE image (headers,
sections, .pdata) as it sits in memory, for the unwinder.
"""

import struct
import uuid

AMD64_GPRS = ("rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
              "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15")


class Builder:
    def __init__(self, flags=0, timestamp=1764064800):
        self.data = bytearray(32)
        self.streams = []
        self.flags = flags
        self.timestamp = timestamp

    def blob(self, data, align=4):
        self.data += b"\0" * (-len(self.data) % align)
        rva = len(self.data)
        self.data += data
        return rva

    def string(self, text):
        encoded = text.encode("utf-16-le")
        return self.blob(struct.pack("<I", len(encoded)) + encoded + b"\0\0")

    def stream(self, kind, payload):
        self.streams.append((kind, len(payload), self.blob(payload)))

    def build(self, extra_entries=()):
        entries = list(self.streams) + list(extra_entries)
        directory = self.blob(b"".join(struct.pack("<III", *e) for e in entries))
        struct.pack_into("<IIIIIIQ", self.data, 0, 0x504D444D, 0xA793, len(entries), directory, 0,
                         self.timestamp, self.flags)
        return bytes(self.data)


def system_info(arch=9, major=10, minor=0, build=20348, product_type=3, cpus=4, csd_rva=0, vendor=b"GenuineIntel"):
    cpu = struct.pack("<12sIII", vendor, 0x000906EA, 0, 0) if arch in (0, 9) else struct.pack("<QQ8x", 0, 0)
    return struct.pack("<HHHBBIIIIIHH", arch, 6, 0x5507, cpus, product_type, major, minor, build, 2, csd_rva,
                       0x100, 0) + cpu


def misc_info(pid=4416, create_time=1764064700, user=3, kernel=1, flags=0x3):
    return struct.pack("<6I", 24, flags, pid, create_time, user, kernel)


def fixed_file_info(version):
    major, minor, build, revision = version
    ms, ls = (major << 16) | minor, (build << 16) | revision
    return struct.pack("<13I", 0xFEEF04BD, 0x10000, ms, ls, ms, ls, 0x3F, 0, 0x40004, 1, 0, 0, 0)


def rsds(guid, age, pdb):
    return b"RSDS" + guid.bytes_le + struct.pack("<I", age) + pdb.encode() + b"\0"


def module_list(builder, modules):
    """modules: dicts with base, size, path and optional version, timestamp, checksum, cv (bytes)."""
    entries = []
    for m in modules:
        name = builder.string(m["path"])
        cv = m.get("cv", b"")
        cv_rva = builder.blob(cv) if cv else 0
        ffi = fixed_file_info(m["version"]) if m.get("version") else b"\0" * 52
        entries.append(struct.pack("<QIIII", m["base"], m["size"], m.get("checksum", 0), m.get("timestamp", 0),
                                   name) + ffi + struct.pack("<IIIIQQ", len(cv), cv_rva, 0, 0, 0, 0))
    return struct.pack("<I", len(entries)) + b"".join(entries)


def unloaded_module_list(builder, modules):
    entries = [struct.pack("<QIIII", m["base"], m["size"], 0, m.get("timestamp", 0), builder.string(m["path"]))
               for m in modules]
    return struct.pack("<III", 12, 24, len(entries)) + b"".join(entries)


def amd64_context(**regs):
    ctx = bytearray(1232)
    struct.pack_into("<I", ctx, 0x30, 0x10001F)
    struct.pack_into("<16Q", ctx, 0x78, *[regs.get(name, 0) for name in AMD64_GPRS])
    struct.pack_into("<Q", ctx, 0xF8, regs.get("rip", 0))
    struct.pack_into("<I", ctx, 0x44, regs.get("eflags", 0x10246))
    return bytes(ctx)


def x86_context(**regs):
    ctx = bytearray(716)
    struct.pack_into("<I", ctx, 0, 0x1003F)
    struct.pack_into("<12I", ctx, 0x9C, *[regs.get(n, 0) for n in (
        "edi", "esi", "ebx", "edx", "ecx", "eax", "ebp", "eip", "cs", "eflags", "esp", "ss")])
    return bytes(ctx)


def arm64_context(**regs):
    ctx = bytearray(912)
    struct.pack_into("<II", ctx, 0, 0x40000F, regs.get("cpsr", 0))
    values = [regs.get("x%d" % i, 0) for i in range(29)] + [regs.get(n, 0) for n in ("fp", "lr", "sp", "pc")]
    struct.pack_into("<33Q", ctx, 8, *values)
    return bytes(ctx)


def exception_stream(thread_id, code, address, params, context_rva, context_size, flags=0, count=None):
    params = list(params)
    return (struct.pack("<IIIIQQII", thread_id, 0, code, flags, 0, address,
                        len(params) if count is None else count, 0)
            + struct.pack("<15Q", *(params + [0] * (15 - len(params))))
            + struct.pack("<II", context_size, context_rva))


def thread_list(threads):
    """threads: (tid, stack_start, stack_size, stack_rva, context_rva, context_size)."""
    return struct.pack("<I", len(threads)) + b"".join(
        struct.pack("<IIIIQQIIII", tid, 0, 0x20, 0, 0x7FFDE000, start, size, rva, csize, crva)
        for tid, start, size, rva, crva, csize in threads)


def memory_list(builder, ranges):
    """ranges: (address, bytes) -> a MemoryList payload (the bytes added to the builder)."""
    descriptors = [struct.pack("<QII", address, len(data), builder.blob(data, align=16)) for address, data in ranges]
    return struct.pack("<I", len(descriptors)) + b"".join(descriptors)


def memory64_list(builder, ranges):
    """ranges: (address, bytes) -> a Memory64List payload; the data goes to the builder, back to back."""
    base = builder.blob(b"".join(data for _address, data in ranges), align=16)
    return struct.pack("<QQ", len(ranges), base) + b"".join(struct.pack("<QQ", a, len(d)) for a, d in ranges)


def guid(n):
    return uuid.UUID(int=n)


def pe_image(size, sections, pdata=(), exports=None, machine=0x8664, timestamp=0x5F000000):
    """A PE32+ image as mapped at its base: ``sections`` are (name, rva, bytes, characteristics);
    ``pdata`` (begin, end, unwind rva) entries go in a .pdata section at 0x3000; ``exports`` (rva, name)
    in an export directory at 0x4000."""
    image = bytearray(size)
    image[0:2] = b"MZ"
    struct.pack_into("<I", image, 0x3C, 0x80)
    all_sections = list(sections)
    directories = [(0, 0)] * 16
    if pdata:
        table = b"".join(struct.pack("<III", *e) for e in sorted(pdata))
        all_sections.append((".pdata", 0x3000, table, 0x40000040))
        directories[3] = (0x3000, len(table))
    if exports:
        n = len(exports)
        functions_at = 0x4000 + 40
        names_at = functions_at + 4 * n
        ordinals_at = names_at + 4 * n
        strings_at = ordinals_at + 2 * n
        strings, name_rvas = b"", []
        for _rva, name in exports:
            name_rvas.append(strings_at + len(strings))
            strings += name.encode() + b"\0"
        block = (struct.pack("<IIHHIIIIIII", 0, 0, 0, 0, 0, 1, n, n, functions_at, names_at, ordinals_at)
                 + b"".join(struct.pack("<I", rva) for rva, _name in exports)
                 + b"".join(struct.pack("<I", r) for r in name_rvas)
                 + b"".join(struct.pack("<H", i) for i in range(n)) + strings)
        all_sections.append((".edata", 0x4000, block, 0x40000040))
        directories[0] = (0x4000, len(block))
    struct.pack_into("<4sHHIIIHH", image, 0x80, b"PE\0\0", machine, len(all_sections), timestamp, 0, 0, 240, 0x22)
    optional = bytearray(240)
    struct.pack_into("<H", optional, 0, 0x20B)
    struct.pack_into("<I", optional, 56, size)
    struct.pack_into("<I", optional, 108, 16)
    for i, (rva, length) in enumerate(directories):
        struct.pack_into("<II", optional, 112 + 8 * i, rva, length)
    image[0x98:0x98 + 240] = optional
    at = 0x98 + 240
    for name, rva, data, characteristics in all_sections:
        struct.pack_into("<8sIIIIIIHHI", image, at, name.encode(), len(data), rva, len(data), 0, 0, 0, 0, 0,
                         characteristics)
        image[rva:rva + len(data)] = data
        at += 40
    return bytes(image)
