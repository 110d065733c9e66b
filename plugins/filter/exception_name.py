# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""crashdump.windows.exception_name: the name of an exception code (documentation: exception_name.yml)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.crashdump.windows.plugins.plugin_utils._ntstatus import exception_name


def exception_name_filter(code):
    if isinstance(code, bool) or not isinstance(code, (int, str)):
        raise AnsibleFilterError("exception_name expects an exception code (integer or hex text), got %r" % (code,))
    try:
        return exception_name(code)
    except ValueError:
        raise AnsibleFilterError("exception_name: %r is not a hexadecimal exception code" % (code,)) from None


class FilterModule:

    def filters(self):
        return {"exception_name": exception_name_filter}
