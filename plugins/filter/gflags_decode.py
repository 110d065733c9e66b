# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""crashdump.windows.gflags_decode: GlobalFlag bits by name (documentation: gflags_decode.yml)."""

from __future__ import annotations

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

from ansible_collections.crashdump.windows.plugins.plugin_utils import _gflags


def _mask(value):
    if value is None:
        return 0
    if isinstance(value, bool):
        raise ValueError("%r is not a flag value" % value)
    if isinstance(value, int):
        if not 0 <= value <= 0xFFFFFFFF:
            raise ValueError("%r does not fit in 32 bits" % value)
        return value
    if isinstance(value, Mapping):
        return _gflags.parse_number(dict(value))
    if isinstance(value, str):
        return _gflags.parse_number({"type": "REG_SZ", "data": value})
    raise ValueError("%r is not a flag value" % (value,))


def gflags_decode_filter(value, describe=False):
    try:
        mask = _mask(value)
    except (KeyError, ValueError) as e:
        raise AnsibleFilterError("gflags_decode expects a GlobalFlag value (integer, hex or decimal text, or a "
                                 "registry value {type, data}): %s" % e) from None
    names = _gflags.decode(mask or 0)
    if not describe:
        return names
    described = []
    for name in names:
        bit, description = _gflags.IMAGE_FLAGS[name] if name in _gflags.IMAGE_FLAGS else (int(name, 16), None)
        described.append({"flag": name, "bit": "0x%08x" % bit, "description": description})
    return described


class FilterModule:

    def filters(self):
        return {"gflags_decode": gflags_decode_filter}
