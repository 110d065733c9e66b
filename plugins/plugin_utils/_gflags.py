# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""GFlags image-file facts: the IFEO key, the per-image flag bits, GlobalFlag and PageHeapFlags data.

Pure functions only; registry values are ``{"type": "REG_...", "data": ...}``
as the agent protocol encodes them.
"""

from __future__ import annotations

import re

IFEO_KEY = "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Image File Execution Options"
GLOBAL_FLAG = "GlobalFlag"
PAGE_HEAP_FLAGS = "PageHeapFlags"

# The flags gflags.exe accepts for an image file (/i), in bit order:
# abbreviation -> (bit, what it does).
IMAGE_FLAGS = {
    "soe": (0x00000001, "Stop on exception"),
    "sls": (0x00000002, "Show loader snaps"),
    "htc": (0x00000010, "Enable heap tail checking"),
    "hfc": (0x00000020, "Enable heap free checking"),
    "hpc": (0x00000040, "Enable heap parameter checking"),
    "hvc": (0x00000080, "Enable heap validation on call"),
    "vrf": (0x00000100, "Enable application verifier"),
    "htg": (0x00000800, "Enable heap tagging"),
    "ust": (0x00001000, "Create user mode stack trace database"),
    "htd": (0x00008000, "Enable heap tagging by DLL"),
    "dse": (0x00010000, "Disable stack extension"),
    "scb": (0x00100000, "Enable system critical breaks"),
    "dhc": (0x00200000, "Disable heap coalesce on free"),
    "hpa": (0x02000000, "Enable page heap"),
    "cse": (0x10000000, "Early critical section event creation"),
    "sue": (0x20000000, "Stop on unhandled user-mode exception"),
    "dpd": (0x80000000, "Disable protected DLL verification"),
}
IMAGE_MASK = sum(bit for bit, _description in IMAGE_FLAGS.values())
NAMES_BY_BIT = {bit: name for name, (bit, _description) in IMAGE_FLAGS.items()}
HPA = IMAGE_FLAGS["hpa"][0]

# gflags abbreviations that exist only system-wide or for the kernel: named
# so that asking for them per image gets a precise refusal.
SYSTEM_ONLY_FLAGS = frozenset(
    ["dic", "shg", "ptg", "kst", "otl", "d32", "ksl", "dps", "ece", "eel", "eot", "dwl", "ddp", "bhd"])
# Set per image by Silent Process Exit monitoring together with its own key;
# kept when present, never set or cleared here.
SILENT_PROCESS_EXIT = 0x00000200

# PageHeapFlags bits: 0x1 full page heap, 0x2 stack traces. gflags
# /p /enable writes 0x3 with /full and 0x2 without.
PAGE_HEAP_FULL = 0x1
PAGE_HEAP_TRACES = 0x2
PAGE_HEAP_MODES = ("full", "standard", "off")

_HEX = re.compile(r"0[xX][0-9a-fA-F]+")
_DECIMAL = re.compile(r"[0-9]+")


def image_key(image):
    return "%s\\%s" % (IFEO_KEY, image)


class FlagError(ValueError):
    """A flag given by the user is not a per-image flag."""


def flag_bits(flag):
    """One entry of the ``flags`` option (abbreviation, integer or numeric string) -> its bits."""
    if isinstance(flag, bool):
        raise FlagError("%r is not a flag: give an abbreviation such as hpa or an integer" % flag)
    if isinstance(flag, str):
        text = flag.strip()
        if _HEX.fullmatch(text) or _DECIMAL.fullmatch(text):
            return flag_bits(int(text, 16) if _HEX.fullmatch(text) else int(text))
        name = text.lower()
        if name in IMAGE_FLAGS:
            return IMAGE_FLAGS[name][0]
        if name in SYSTEM_ONLY_FLAGS:
            raise FlagError("%r is a system-wide or kernel flag; it cannot be set for an image" % flag)
        raise FlagError("unknown image-file flag %r; valid flags: %s" % (flag, ", ".join(IMAGE_FLAGS)))
    if isinstance(flag, int):
        if not 0 < flag <= 0xFFFFFFFF:
            raise FlagError("flag %r is not a non-zero 32-bit value" % flag)
        if flag & SILENT_PROCESS_EXIT:
            raise FlagError("0x%08x is Silent Process Exit monitoring, configured with its own key; "
                            "this module does not manage it" % SILENT_PROCESS_EXIT)
        foreign = flag & ~IMAGE_MASK
        if foreign:
            raise FlagError("0x%08x has bits that are not image-file flags (system-wide, kernel or unknown): 0x%08x"
                            % (flag, foreign))
        return flag
    raise FlagError("%r is not a flag: give an abbreviation such as hpa or an integer" % (flag,))


def flags_mask(flags):
    """The ``flags`` option -> one mask; FlagError names the first bad entry."""
    mask = 0
    for flag in flags:
        mask |= flag_bits(flag)
    return mask


def parse_number(value):
    """A GlobalFlag or PageHeapFlags registry value -> int, None when absent.

    REG_DWORD as is; REG_SZ holding hex (``0x02000000``, any case) or decimal,
    surrounding blanks ignored. ValueError for anything else: such data is not
    ours to reinterpret.
    """
    if value is None:
        return None
    data = value["data"]
    if value.get("raw"):
        # Bytes of odd size for the type (hex), not a number the loader documents reading.
        raise ValueError("a %s value of odd size (bytes %s) is not a flag number" % (value["type"], data))
    if value["type"] == "REG_DWORD" and isinstance(data, int) and not isinstance(data, bool):
        return data
    if value["type"] == "REG_SZ" and isinstance(data, str):
        text = data.strip()
        if _HEX.fullmatch(text):
            number = int(text, 16)
        elif _DECIMAL.fullmatch(text):
            number = int(text)
        else:
            raise ValueError("%r is neither hexadecimal (0x...) nor decimal" % data)
        if number > 0xFFFFFFFF:
            raise ValueError("%r does not fit in 32 bits" % data)
        return number
    raise ValueError("a %s value is not a flag number" % value["type"])


def format_global_flag(mask):
    """GlobalFlag data as gflags writes it."""
    return "0x%08x" % mask


def format_page_heap_flags(flags):
    """PageHeapFlags data as gflags writes it."""
    return "0x%x" % flags


def number_value(number, like, formatter):
    """A registry value holding ``number``: REG_DWORD if ``like`` is one, else REG_SZ via ``formatter``."""
    if like is not None and like["type"] == "REG_DWORD":
        return {"type": "REG_DWORD", "data": number}
    return {"type": "REG_SZ", "data": formatter(number)}


def decode(mask):
    """Flag names for ``mask`` in bit order; bits without a per-image name as ``0x%08x``."""
    names = []
    for i in range(32):
        bit = 1 << i
        if mask & bit:
            names.append(NAMES_BY_BIT.get(bit, "0x%08x" % bit))
    return names


def page_heap_flags_for(mode, current):
    """PageHeapFlags for ``mode`` (full, standard), keeping other bits of ``current`` (None: absent)."""
    flags = (current or 0) | PAGE_HEAP_TRACES
    return flags | PAGE_HEAP_FULL if mode == "full" else flags & ~PAGE_HEAP_FULL


def page_heap_mode(mask, page_heap_flags):
    """What page heap an image gets: off, full, standard, or default (hpa without PageHeapFlags)."""
    if mask is None or not mask & HPA:
        return "off"
    if page_heap_flags is None:
        return "default"
    return "full" if page_heap_flags & PAGE_HEAP_FULL else "standard"


def undo_bits(name, prior, written, current):
    """What undo keeps of GlobalFlag or PageHeapFlags when someone changed it after we wrote it.

    Each bit someone changed since stays as they left it; every other bit goes
    back to its prior. The prior value itself (type, spelling or absence)
    comes back when that gives its number (absent counts as 0); else the
    bits are written in the current value's type. A value deleted or created
    by someone else, or not a number, is kept whole.
    """
    if written is None or current is None:
        return current
    try:
        before, ours, now = parse_number(prior) or 0, parse_number(written), parse_number(current)
    except ValueError:
        return current
    changed = now ^ ours
    kept = (now & changed) | (before & ~changed)
    if kept == before:
        return prior
    formatter = format_page_heap_flags if name.casefold() == PAGE_HEAP_FLAGS.casefold() else format_global_flag
    return number_value(kept, current, formatter)
