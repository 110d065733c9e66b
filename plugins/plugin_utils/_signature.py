# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Crash signatures: the same key from an Event 1000 record and from a minidump.

A signature names where a crash happened, precisely enough to group repeats
of one bug and no more: image, version, module, module version, exception
code and module-relative offset. The family key drops the versions, so one
bug across releases stays one family.
"""

from __future__ import annotations

from ._ntstatus import SYSTEM_VICTIMS, parse_code, parse_hex


def _norm_name(name):
    # Event data can carry invisible marks (U+200E) and unloaded-module suffixes.
    name = (name or "").replace("\u200e", "").replace("\u200f", "").strip().lower()
    return name[:-len("_unloaded")] if name.endswith("_unloaded") else name


def _norm_offset(offset):
    if offset is None or offset == "":
        return "?"
    try:
        return "0x%x" % parse_hex(offset)
    except ValueError:
        # WER writes some offsets as text, e.g. ``PCH_F1_FROM_ntdll+0x9D0E4``.
        return str(offset).strip().lower()


def crash_signature(image, image_version, module, module_version, code, offset):
    """``image@version!module@version!0xCODE+0xOFFSET`` with normalised parts."""
    return "%s@%s!%s@%s!0x%08x+%s" % (
        _norm_name(image), (image_version or "?").strip(), _norm_name(module), (module_version or "?").strip(),
        parse_code(code), _norm_offset(offset))


def family_key(image, module, code, offset):
    """The signature without versions."""
    return "%s!%s!0x%08x+%s" % (_norm_name(image), _norm_name(module), parse_code(code), _norm_offset(offset))


def is_victim_module(module):
    """ntdll, kernel32 and KernelBase are usually where corruption is noticed, not made."""
    return _norm_name(module) in SYSTEM_VICTIMS


def is_stack_hash(module):
    """WER names the module ``StackHash_xxxx`` when the address was in no module."""
    return _norm_name(module).startswith("stackhash_")


def hang_signature(image, image_version):
    """``image@version!(hang)``: a hang has no module, code or offset."""
    return "%s@%s!(hang)" % (_norm_name(image), (image_version or "?").strip())


def hang_family_key(image):
    """The hang signature without the version."""
    return "%s!(hang)" % _norm_name(image)
