# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""crashdump.windows.crash_triage: one ranked report from many hosts' crash_events (documentation: crash_triage.yml)."""

from __future__ import annotations

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

from ansible_collections.crashdump.windows.plugins.plugin_utils._triage import aggregate


def crash_triage_filter(results, failed_hosts=None):
    if not isinstance(results, Mapping):
        raise AnsibleFilterError("crash_triage expects a dict of host name to crash_events result, got %r"
                                 % type(results).__name__)
    try:
        return aggregate({str(host): result for host, result in results.items()}, failed_hosts=failed_hosts or [])
    except (KeyError, TypeError) as e:
        raise AnsibleFilterError("crash_triage: a result is not a crash_events result (%s: %s)"
                                 % (type(e).__name__, e)) from None


class FilterModule:

    def filters(self):
        return {"crash_triage": crash_triage_filter}
