"""Image File Execution Options GlobalFlag, as the loader reads it at process start."""

from __future__ import annotations

IFEO_KEY = "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Image File Execution Options"
FLG_HEAP_PAGE_ALLOCS = 0x02000000


def parse_flag(value):
    """GlobalFlag data: REG_DWORD, or REG_SZ in hex (``0x02000000``, any case) or decimal; bad text is 0."""
    if value is None:
        return 0
    data = value["data"]
    if value["type"] in ("REG_DWORD", "REG_QWORD"):
        return data & 0xFFFFFFFF
    if value["type"] in ("REG_SZ", "REG_EXPAND_SZ"):
        text = data.strip().lower()
        try:
            return int(text, 16) if text.startswith("0x") else int(text, 10)
        except ValueError:
            return 0
    return 0


def global_flag(registry, image):
    # IFEO is shared between the WOW64 views: the native key is the only one.
    return parse_flag(registry.value(IFEO_KEY + "\\" + image, 64, "GlobalFlag"))


def page_heap(flag):
    return bool(flag & FLG_HEAP_PAGE_ALLOCS)
