"""A small struct-based minidump reader for the lab tests (independent of the
writer: it knows only the published layouts)."""

from __future__ import annotations

import struct
import uuid


class Dump:
    def __init__(self, data):
        self.data = data
        sig, version, count, dir_rva, _checksum, self.time_stamp, self.flags = struct.unpack_from("<IIIIIIQ", data)
        assert sig == 0x504D444D, "not MDMP"
        assert version & 0xFFFF == 0xA793, "bad version"
        self.streams = {}
        for i in range(count):
            kind, size, rva = struct.unpack_from("<III", data, dir_rva + 12 * i)
            assert rva + size <= len(data), "stream %d out of the file" % kind
            self.streams[kind] = (rva, size)
        self.memory = []  # (start, bytes)
        self.system_info = self._system_info()
        self.threads = self._threads()
        self.modules = self._modules()
        self.exception = self._exception()
        self.misc = self._misc()
        self._memory_lists()

    def _location(self, offset):
        size, rva = struct.unpack_from("<II", self.data, offset)
        assert rva + size <= len(self.data)
        return self.data[rva:rva + size]

    def string(self, rva):
        (length,) = struct.unpack_from("<I", self.data, rva)
        return self.data[rva + 4:rva + 4 + length].decode("utf-16-le")

    def _system_info(self):
        rva, size = self.streams[7]
        assert size >= 56
        f = struct.unpack_from("<HHHBBIIIIIHH", self.data, rva)
        return {"arch": f[0], "processors": f[3], "product_type": f[4], "major": f[5], "minor": f[6], "build": f[7],
                "platform": f[8], "csd": self.string(f[9])}

    def _threads(self):
        rva, _size = self.streams[3]
        (count,) = struct.unpack_from("<I", self.data, rva)
        out = []
        for i in range(count):
            at = rva + 4 + 48 * i
            tid, _s, _pc, _p, teb, stack_start, stack_size, stack_rva = struct.unpack_from("<IIIIQQII", self.data, at)
            out.append({"tid": tid, "teb": teb, "stack_start": stack_start, "stack_size": stack_size,
                        "stack_rva": stack_rva, "context": self._location(at + 40)})
        return out

    def _modules(self):
        rva, size = self.streams[4]
        (count,) = struct.unpack_from("<I", self.data, rva)
        assert size == 4 + 108 * count
        out = []
        for i in range(count):
            at = rva + 4 + 108 * i
            base, image_size, checksum, stamp, name_rva = struct.unpack_from("<QIIII", self.data, at)
            ffi = struct.unpack_from("<13I", self.data, at + 24)
            cv = self._location(at + 76)
            assert cv[:4] == b"RSDS"
            out.append({"base": base, "size": image_size, "checksum": checksum, "time_stamp": stamp,
                        "name": self.string(name_rva), "ffi_signature": ffi[0],
                        "version": (ffi[2] >> 16, ffi[2] & 0xFFFF, ffi[3] >> 16, ffi[3] & 0xFFFF),
                        "pdb_guid": uuid.UUID(bytes_le=cv[4:20]), "pdb_age": struct.unpack_from("<I", cv, 20)[0],
                        "pdb_name": cv[24:].rstrip(b"\0").decode()})
        return out

    def _exception(self):
        rva, size = self.streams[6]
        assert size == 168
        tid, _align, code, flags, _record, address, nparams, _unused = struct.unpack_from("<IIIIQQII", self.data, rva)
        params = struct.unpack_from("<15Q", self.data, rva + 40)[:nparams]
        return {"tid": tid, "code": code, "flags": flags, "address": address, "params": list(params),
                "context": self._location(rva + 160)}

    def _misc(self):
        rva, _size = self.streams[15]
        size, flags, pid, create_time, _user, _kernel = struct.unpack_from("<6I", self.data, rva)
        return {"size": size, "flags": flags, "pid": pid, "create_time": create_time}

    def _memory_lists(self):
        if 5 in self.streams:
            rva, _size = self.streams[5]
            (count,) = struct.unpack_from("<I", self.data, rva)
            for i in range(count):
                start, size, data_rva = struct.unpack_from("<QII", self.data, rva + 4 + 16 * i)
                self.memory.append((start, self.data[data_rva:data_rva + size]))
        if 9 in self.streams:
            rva, _size = self.streams[9]
            count, base_rva = struct.unpack_from("<QQ", self.data, rva)
            offset = base_rva
            for i in range(count):
                start, size = struct.unpack_from("<QQ", self.data, rva + 16 + 16 * i)
                assert offset + size <= len(self.data)
                self.memory.append((start, self.data[offset:offset + size]))
                offset += size

    def read_memory(self, address, size):
        for start, blob in self.memory:
            if start <= address and address + size <= start + len(blob):
                return blob[address - start:address - start + size]
        return None

    def module_at(self, address):
        return next((m for m in self.modules if m["base"] <= address < m["base"] + m["size"]), None)

    def instruction_pointer(self, arch):
        ctx = self.threads[0]["context"]
        if arch == 9:
            return struct.unpack_from("<Q", ctx, 0xF8)[0]
        if arch == 0:
            return struct.unpack_from("<I", ctx, 0xB8)[0]
        return struct.unpack_from("<Q", ctx, 0x108)[0]

    def stack_pointer(self, arch):
        ctx = self.threads[0]["context"]
        if arch == 9:
            return struct.unpack_from("<Q", ctx, 0x98)[0]
        if arch == 0:
            return struct.unpack_from("<I", ctx, 0xC4)[0]
        return struct.unpack_from("<Q", ctx, 0x100)[0]
