"""become on a module that runs on the host: refused with a message, nothing sent (issue 13, defect 8)."""

from __future__ import annotations

import pytest

from crashdump_lab import load_state

MODULES = {
    "crash_events": "crashdump.windows.crash_events: {days: 1}",
    "local_dumps": "crashdump.windows.local_dumps: {exe: app.exe}",
    "fetch_dumps": "crashdump.windows.fetch_dumps: {exe: app.exe, dest: '%s'}",
    "dump_capture": "crashdump.windows.dump_capture: {exe: [app.exe], page_heap: full}",
    "wait_for_dump": "crashdump.windows.wait_for_dump: {exe: [app.exe], timeout: 1}",
}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_become_is_refused_before_anything_reaches_the_host(lab, tmp_path, module):
    lab.host("win1")
    before = lab.registry("win1")
    task = MODULES[module] % (tmp_path / "dumps") if "%s" in MODULES[module] else MODULES[module]
    proc = lab.play("- %s\n  become: true\n  become_method: runas\n  become_user: SYSTEM" % task, check=False)
    (_host, result), = proc.results
    assert proc.returncode == 2 and "FAILED!" in proc.stdout, proc.stdout
    assert result["msg"].startswith("become is not supported (become_method runas, become_user SYSTEM)")
    assert load_state(str(lab.state_dir), "win1")["counters"]["round_trips"] == 0
    assert lab.registry("win1") == before


def test_without_become_the_module_runs(lab):
    lab.host("win1")
    proc = lab.play("- crashdump.windows.crash_events: {days: 1}\n  become: false")
    (_host, result), = proc.results
    assert not result.get("failed"), result
