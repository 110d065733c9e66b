"""The crashing process as the dump and the events describe it: its modules,
the faulting address, the exception and the faulting thread's stack.

Everything is derived from hashes, never from randomness: module bases,
timestamps and PDB identities from the host and module name (the same binary
looks the same in every crash), the fault offset from the image, module and
exception code (the same bug lands in the same crash bucket), and pid-bound
details (thread id, stack, report id) from the crash itself."""

from __future__ import annotations

import dataclasses
import hashlib
import uuid

from . import clock

PAGE = 0x1000  # also the granularity of the memory a full dump holds
_DLLS_64 = (("ntdll.dll", 0x1F8000), ("verifier.dll", 0x6C000), ("kernel32.dll", 0xC2000),
            ("KERNELBASE.dll", 0x3A4000), ("ucrtbase.dll", 0x11E000))
_DLLS_32 = (("ntdll.dll", 0x1A3000), ("verifier.dll", 0x4E000), ("kernel32.dll", 0xF0000),
            ("KERNELBASE.dll", 0x278000), ("ucrtbase.dll", 0x120000))
# Where an exception is raised when no module is named: heap corruption is
# reported by ntdll, C++ and .NET exceptions are raised by RaiseException.
_RAISED_IN = {0xC0000374: "ntdll.dll", 0xE06D7363: "KERNELBASE.dll", 0xE0434352: "KERNELBASE.dll"}
_NONCONTINUABLE = frozenset([0xC0000374, 0xC0000409, 0xC0000602])
FAST_FAIL_STACK_COOKIE_CHECK_FAILURE = 2


def number(*parts, bits=32):
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode("utf-8")).digest()
    return int.from_bytes(digest, "little") & ((1 << bits) - 1)


@dataclasses.dataclass(frozen=True)
class Module:
    name: str
    path: str
    base: int
    size: int
    timestamp: int
    checksum: int
    version: tuple
    pdb_guid: uuid.UUID
    pdb_age: int

    @property
    def pdb_name(self):
        return self.name.rsplit(".", 1)[0] + ".pdb"

    @property
    def version_text(self):
        return "%d.%d.%d.%d" % self.version

    def contains(self, address):
        return self.base <= address < self.base + self.size


@dataclasses.dataclass(frozen=True)
class Crash:
    host: str
    arch: str
    build: int
    product_type: int
    image: str
    app_name: str
    pid: int
    tid: int
    start_time: object
    time: object
    code: int
    flags: int
    params: tuple
    modules: tuple
    address: int
    stack_start: int
    stack_size: int
    sp: int
    report_id: str
    seed: str

    @property
    def faulting(self):
        return next(m for m in self.modules if m.contains(self.address))

    @property
    def image_module(self):
        return self.modules[0]

    @property
    def is_64bit(self):
        return self.arch != "x86"


def _module(host, arch, name, path, base, size, version):
    return Module(name=name, path=path, base=base, size=size,
                  timestamp=number(host, arch, name, "timestamp"), checksum=number(host, arch, name, "checksum"),
                  version=version, pdb_guid=uuid.UUID(int=number(host, arch, name, "pdb", bits=128)), pdb_age=1)


def build(state, image, path, pid, start_time, when, code, module=None, page_heap=False, services=()):
    host, arch, build_no = state["host"], state["os"]["arch"], state["os"]["build"]
    is_64bit = arch != "x86"
    system_version = (10, 0, build_no, 1)
    image_version = system_version if path.casefold().startswith("c:\\windows\\") else (1, 0, 0, 0)
    image_size = 0x20000 + number(host, image, "size") % 0x40 * PAGE
    if is_64bit:
        image_base = 0x7FF600000000 + number(host, image, "base") % 0x1000 * 0x10000
        next_base = 0x7FFB40000000 + number(host, "dlls") % 0x100 * 0x1000000
    else:
        image_base = 0x400000 + number(host, image, "base") % 0x100 * 0x10000
        next_base = 0x75000000 + number(host, "dlls") % 0x40 * 0x100000
    modules = [_module(host, arch, image, path, image_base, image_size, image_version)]
    folder = path.rsplit("\\", 1)[0]
    wanted = [(n, s, "C:\\Windows\\System32\\" + n, system_version) for n, s in (_DLLS_64 if is_64bit else _DLLS_32)
              if n != "verifier.dll" or page_heap]
    faulting_name = module or _RAISED_IN.get(code, image)
    if all(faulting_name.casefold() != n.casefold() for n in [image] + [w[0] for w in wanted]):
        wanted.append((faulting_name, 0x40000, folder + "\\" + faulting_name, image_version))
    for name, size, dll_path, version in wanted:
        modules.append(_module(host, arch, name, dll_path, next_base, size, version))
        next_base += (size + 0xFFFF) // 0x10000 * 0x10000 + 0x10000
    faulting = next(m for m in modules if m.name.casefold() == faulting_name.casefold())
    offset = PAGE + number(host, image, faulting.name.casefold(), code, "offset") % (faulting.size - 2 * PAGE)
    seed = "%s|%s|%d|%s" % (host, image, pid, clock.iso(when))
    if is_64bit:
        stack_start = 0xC000000000 + number(seed, "stack") % 0x4000 * 0x100000
    else:
        stack_start = 0x00A00000 + number(seed, "stack") % 0x100 * 0x10000
    params = {0xC0000005: (0, 0), 0xC0000409: (FAST_FAIL_STACK_COOKIE_CHECK_FAILURE,),
              0xC0000374: ((0x1C0000000000 if is_64bit else 0x600000) + number(seed, "heap") % 0x100 * 0x10000,)}
    app_name = image
    if image.casefold() == "svchost.exe" and services:
        app_name = "%s_%s" % (image, services[0])
    return Crash(host=host, arch=arch, build=build_no, product_type=state["os"].get("product_type", 3),
                 image=image, app_name=app_name, pid=pid, tid=(number(seed, "tid") % 0x4000 + 0x100) * 4,
                 start_time=start_time, time=when, code=code, flags=1 if code in _NONCONTINUABLE else 0,
                 params=params.get(code, ()), modules=tuple(modules), address=faulting.base + offset,
                 stack_start=stack_start, stack_size=0x2000, sp=stack_start + 0x1C8,
                 report_id=str(uuid.UUID(int=number(seed, "report", bits=128), version=4)), seed=seed)
