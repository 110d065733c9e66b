# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""crashdump.windows.crash_signature: the signature of a crash record (documentation: crash_signature.yml)."""

from __future__ import annotations

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

from ansible_collections.crashdump.windows.plugins.plugin_utils import _signature


def crash_signature_filter(crash, family=False):
    if not isinstance(crash, Mapping):
        raise AnsibleFilterError("crash_signature expects a crash record (a dict), got %r" % (crash,))
    image = crash.get("app_name") or crash.get("image")
    if not image:
        raise AnsibleFilterError("crash_signature: the crash record has neither app_name nor image")
    if crash.get("kind") == "hang":
        return _signature.hang_family_key(image) if family else _signature.hang_signature(
            image, crash.get("app_version"))
    code = crash.get("exception_code")
    if code is None or isinstance(code, bool):
        raise AnsibleFilterError("crash_signature: the crash record has no exception_code")
    try:
        if family:
            return _signature.family_key(image, crash.get("module"), code, crash.get("offset"))
        return _signature.crash_signature(image, crash.get("app_version"), crash.get("module"),
                                          crash.get("module_version"), code, crash.get("offset"))
    except ValueError:
        raise AnsibleFilterError("crash_signature: exception_code %r is not hexadecimal" % (code,)) from None


class FilterModule:

    def filters(self):
        return {"crash_signature": crash_signature_filter}
