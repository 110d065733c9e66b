"""What the agent's PowerShell must say where no Windows host runs it here (issue 13, defects 4, 6 and 7):
the event query's form, and the lists the lab mirrors (the lab agent is the executable model of the same rules)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[4]
AGENT = (ROOT / "plugins" / "plugin_utils" / "agent.ps1").read_text(encoding="ascii")
sys.path.insert(0, str(ROOT / "lab"))

from crashdump_lab import agent as lab_agent  # noqa: E402
from crashdump_lab import registry as lab_registry  # noqa: E402


def function_body(name):
    start = AGENT.index("function %s {" % name)
    end = AGENT.index("\n}\n", start)
    return AGENT[start:end]


def ps_list(variable):
    """The strings of a script-level ``$Name = @('a', 'b', ...)``."""
    m = re.search(r"^\$%s = @\((.*?)\)$" % variable, AGENT, re.M | re.S)
    return re.findall(r"'([^']*)'", m.group(1))


def test_event_query_filters_in_utc_and_limits_after_the_filter():
    body = function_body("Invoke-EventQuery")
    # FilterHashtable's StartTime goes through local time (the repeated hour when daylight saving time ends)
    # and its ProviderName fails for a provider that is not registered.
    for hashtable_key in ("FilterHashtable", "StartTime", "['ProviderName']"):
        assert hashtable_key not in body
    assert "FilterXPath" in body and "TimeCreated[@SystemTime>='" in body
    assert "ToString(\"yyyy-MM-dd'T'HH:mm:ss.fff'Z'\"" in body and ".UtcDateTime" in body
    # One more than asked tells truncation; nothing drops records after Get-WinEvent's own limit.
    assert "$query['MaxEvents'] = $limit + 1" in body and "$Data['truncated'] = $true" in body
    assert "-lt $sinceUtc" not in body


def test_the_agent_and_the_lab_refuse_the_same_operations_in_a_32bit_process():
    assert sorted(ps_list("FileSystemOps")) == sorted(lab_agent.FILE_SYSTEM_OPS)
    assert "Is64BitOperatingSystem -and -not [System.Environment]::Is64BitProcess" in AGENT


def test_the_agent_and_the_lab_write_raw_data_under_the_same_types():
    names = re.search(r"^\$RegTypeNames = @\{(.*?)\}$", AGENT, re.M | re.S).group(1)
    assert sorted(re.findall(r"'(REG_\w+)'", names)) == sorted(lab_registry.RAW_TYPES)
