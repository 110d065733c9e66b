# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Event data values in every form Windows writes them (windows-facts.md, "Event log"): text, hex, times, names."""

from __future__ import annotations

import datetime as dt
import functools
import re

from ._ntstatus import parse_hex

# Marks that Windows puts in event data (U+200E before paths) and that a
# comparison must not see.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"))
_SEP = "\x00"
_SERVICE_SUFFIX = re.compile(r"^(.+?\.exe)_(.+)$", re.IGNORECASE)
_LONG_PREFIX = "\\\\?\\"
_FILETIME_EPOCH = dt.date(1601, 1, 1)
_FILETIME_DAY = 864_000_000_000  # 100 ns intervals
_FILETIME_LAST_DAY = (dt.date.max - _FILETIME_EPOCH).days


def clean(value):
    """Event data as compared and reported: text without invisible marks or surrounding blanks.

    An integer becomes ``0x``-prefixed hex, so that the hex fields read it
    right (the decimal fields accept that form too).
    """
    if not isinstance(value, str):  # the common case first: event data is text
        if value is None:
            return ""
        if isinstance(value, int) and not isinstance(value, bool):
            return "0x%x" % value
        value = str(value)
    if not value.isascii():
        value = value.translate(_INVISIBLE)
    return value.strip()


def values(props, count):
    """The event's positional values cleaned, padded with "" to at least ``count``."""
    try:
        # All text (the usual case): clean it in one go, which is most of the cost of parsing.
        joined = _SEP.join(props)
    except TypeError:
        out = [clean(v) for v in props]
    else:
        if not joined.isascii():
            joined = joined.translate(_INVISIBLE)
        out = list(map(str.strip, joined.split(_SEP))) if props else []
        if len(out) != len(props):  # a value held the separator
            out = [clean(v) for v in props]
    if len(out) < count:
        out += [""] * (count - len(out))
    return out


def number(text):
    """Hex event data (``1ab0``, ``0x1AB0``, ``0x0x1AB0``) -> int; None if empty or not hex."""
    if not text or text[0] in "+-":
        return None
    try:
        return int(text, 16)
    except ValueError:
        pass
    try:
        n = parse_hex(text)
    except ValueError:
        return None
    return n if n >= 0 else None  # "0x-1": hex data is never signed


def decimal(text):
    """Decimal event data (or ``0x`` hex) -> int; None otherwise."""
    if text.isdigit():
        return int(text)
    return number(text) if text[:2].lower() == "0x" else None


def hex_text(text, width=0):
    """Event hex data in one form: ``0x`` and lower-case digits, at least ``width`` of them; None if not hex."""
    n = number(text)
    return None if n is None else "0x%0*x" % (width, n)


def offset_text(text):
    """A fault offset as ``0x...``; text that is not hex (``PCH_F1_FROM_ntdll+0x9D0E4``) is kept as it is."""
    n = number(text)
    if n is not None:
        return "0x%x" % n
    return text or None


@functools.lru_cache(maxsize=1024)
def _filetime_day(days):
    return (_FILETIME_EPOCH + dt.timedelta(days=days)).isoformat()


def filetime_iso(text):
    """A FILETIME in hex (``01d...``, ``0x0x1D...``) -> ISO 8601 UTC, None when absent, zero or out of range."""
    n = number(text)
    if not n:
        return None
    # By arithmetic, the date looked up once per day: this runs for every crash.
    days, rest = divmod(n, _FILETIME_DAY)
    if days > _FILETIME_LAST_DAY:
        return None
    seconds, hundreds = divmod(rest, 10_000_000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return "%sT%02d:%02d:%02d.%03dZ" % (_filetime_day(days), hours, minutes, seconds, hundreds // 10_000)


def split_app_name(app_name):
    """``svchost.exe_AppXSvc`` -> (``svchost.exe``, ``AppXSvc``); other names -> (name, None)."""
    m = _SERVICE_SUFFIX.match(app_name)
    return (m.group(1), m.group(2)) if m else (app_name, None)


def image_of(app_name, app_path):
    """The image file name: the app path's file name, else the app name without a service suffix."""
    if app_path:
        name = app_path.replace("/", "\\").rsplit("\\", 1)[-1]
        if name:
            return name
    return split_app_name(app_name)[0] if app_name else None


def dump_file_name(image, pid):
    """The file WER LocalDumps writes for a crash: ``<image>.<decimal pid>.dmp``."""
    if not image or pid is None:
        return None
    return "%s.%d.dmp" % (image, pid)


def long_path(path):
    """Without the ``\\\\?\\`` prefix WER puts on paths."""
    return path[len(_LONG_PREFIX):] if path.startswith(_LONG_PREFIX) else path


def attached_files(text):
    """AttachedFiles (one path a line, CRLF) -> the paths, each once."""
    if not text:
        return []
    return list(dict.fromkeys(f for f in map(str.strip, text.replace(_LONG_PREFIX, "").split("\n")) if f))


def parse_time(text):
    """An ``event_query`` time (ISO 8601, ``Z``) -> aware datetime."""
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
