"""Registry data as bytes: what RegSetValueEx stores for the protocol's typed data, and
which stored bytes the agent reports typed and which raw.

Windows stores a value as a type number and any bytes; nothing checks that a
REG_DWORD holds 4 bytes or that a REG_SZ ends in one NUL (RegSetValueEx:
"the size of the information ... must include the terminating null
character", but the call takes any size). RegistryKey.GetValue converts what
RegQueryValueEx returns without checking its size (.NET Framework reference
source, RegistryKey.InternalGetValue: a REG_DWORD over 4 bytes is read as a
QWORD, over 8 as bytes; a REG_SZ keeps all but one trailing NUL), so the agent
compares the bytes with what RegistryKey.SetValue would write for the
converted data and reports them raw when they differ. The lab stores a value
typed when its bytes are that canonical form, and as ``raw`` hex otherwise.
"""

from __future__ import annotations

import struct

_NUL = "\0"


def encode(value_type, data):
    """The bytes RegistryKey.SetValue writes for protocol data (REG_BINARY/REG_NONE: the hex)."""
    if value_type in ("REG_SZ", "REG_EXPAND_SZ"):
        return (data + _NUL).encode("utf-16-le")
    if value_type == "REG_MULTI_SZ":
        return ("".join(s + _NUL for s in data) + _NUL).encode("utf-16-le")
    if value_type == "REG_DWORD":
        return struct.pack("<I", data)
    if value_type == "REG_QWORD":
        return struct.pack("<Q", data)
    return bytes.fromhex(data)


def _decode(value_type, raw):
    if value_type == "REG_DWORD":
        return struct.unpack("<I", raw)[0] if len(raw) == 4 else None
    if value_type == "REG_QWORD":
        return struct.unpack("<Q", raw)[0] if len(raw) == 8 else None
    if value_type in ("REG_BINARY", "REG_NONE"):
        return raw.hex()
    if value_type not in ("REG_SZ", "REG_EXPAND_SZ", "REG_MULTI_SZ"):
        return None  # no typed form: always raw
    if len(raw) % 2 or len(raw) < 2:
        return None
    text = raw.decode("utf-16-le", errors="surrogatepass")
    if value_type == "REG_MULTI_SZ":
        return text[:-1].split(_NUL)[:-1] if text.endswith(_NUL * 2) else ([] if text == _NUL else None)
    return text[:-1] if text.endswith(_NUL) and _NUL not in text[:-1] else None


def typed(value_type, raw):
    """The protocol data for stored bytes, or None when the agent reports them raw."""
    data = _decode(value_type, raw)
    if data is None or value_type in ("REG_BINARY", "REG_NONE"):
        return data
    return data if encode(value_type, data) == raw else None


def dotnet(value_type, raw):
    """What RegistryKey.GetValue returns for stored bytes (.NET Framework reference source,
    RegistryKey.InternalGetValue): strings padded to whole characters, a REG_SZ losing one trailing NUL,
    a REG_MULTI_SZ split at each NUL (an empty string counts unless it is the last character), a
    REG_DWORD or REG_QWORD of up to 8 bytes as a number, longer as bytes (hex)."""
    if value_type in ("REG_SZ", "REG_EXPAND_SZ", "REG_MULTI_SZ"):
        text = (raw + b"\0" * (len(raw) % 2)).decode("utf-16-le", errors="surrogatepass")
        if value_type != "REG_MULTI_SZ":
            return text[:-1] if text.endswith(_NUL) else text
        strings, cur = [], 0
        while cur < len(text):
            nul = text.find(_NUL, cur)
            if nul < 0:
                strings.append(text[cur:])
                break
            if nul > cur or nul != len(text) - 1:
                strings.append(text[cur:nul])
            cur = nul + 1
        return strings
    if value_type in ("REG_DWORD", "REG_QWORD") and len(raw) <= 8:
        return int.from_bytes(raw, "little")
    return raw.hex()
