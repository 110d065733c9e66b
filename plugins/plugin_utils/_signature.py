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


# Codes whose faulting module (ntdll, KernelBase...) only noticed the damage:
# heap corruption, and fail-fast in its two forms.
_NOTICED_CODES = frozenset([0xC0000374, 0xC0000409, 0xC0000602])


def family_key(image, module, code, offset):
    """The signature without versions, and without the offset where it does not tell one bug from another.

    * An unknown module (none, ``unknown``, ``StackHash_xxxx``): the offset is
      then the absolute address, which address space layout randomisation
      moves at every start, so each recurrence would be a new family. Nothing
      stable names the address's region in the event, so the key is image,
      module and code only.
    * Heap corruption and fail-fast noticed in a system victim module: the
      offset is where ntdll or KernelBase of that OS build checks, and it
      differs per build, while the bug (elsewhere) is the same.
    """
    code = parse_code(code)
    if is_unknown_module(module) or (code in _NOTICED_CODES and is_victim_module(module)):
        return "%s!%s!0x%08x" % (_norm_name(image), _norm_name(module) or "unknown", code)
    return "%s!%s!0x%08x+%s" % (_norm_name(image), _norm_name(module), code, _norm_offset(offset))


def dotnet_family_key(image, exception_type, frame):
    """A .NET crash's family: all fault in KernelBase (RaiseException); type and top frame tell bugs apart."""
    return "%s!.net!%s!%s" % (_norm_name(image), exception_type or "?", frame or "?")


def is_unknown_module(module):
    """Event 1000 names no module (empty or ``unknown``), or WER's ``StackHash_xxxx``: the address was in none."""
    name = _norm_name(module)
    return name in ("", "unknown") or is_stack_hash(module)


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
