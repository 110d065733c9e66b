"""playbooks/harvest_crash_dumps.yml and the harvest role on a lab host, as users run them."""

import json
import os
import stat
from pathlib import Path

import ansible_runner

from crashdump_lab import load_state

REPO = Path(__file__).resolve().parents[2]
HARVEST = REPO / "playbooks" / "harvest_crash_dumps.yml"
LD = "HKLM\\SOFTWARE\\Microsoft\\Windows\\Windows Error Reporting\\LocalDumps"
SEED = {"registry": {LD + "\\netsh.exe": {"values": {
    "DumpType": {"type": "REG_DWORD", "data": 2}, "DumpFolder": {"type": "REG_EXPAND_SZ", "data": "C:\\WER"}}}}}


def files_below(path):
    return sorted(str(p.relative_to(path)) for p in Path(path).rglob("*") if p.is_file()) if os.path.exists(path) \
        else []


def test_harvest_playbook(lab, tmp_path):
    lab.host("win", SEED)
    lab.labctl("crash", "win", "netsh.exe", "--pid", "4660")
    dest = tmp_path / "dumps"
    proc = lab.playbook(HARVEST, "-e", "exe=netsh.exe", "-e", "harvest_dest=%s" % dest)
    summary = next(r for host, r in proc.results if isinstance(r.get("msg"), list))["msg"]
    assert summary[0].startswith("1 dump(s) found: 1 fetched")
    assert "fetched: C:\\WER\\netsh.exe.4660.dmp" in summary[1] and "Event 1000 0xc0000005" in summary[1]
    # The controller's analysis of the same dump, as !analyze would start it.
    assert summary[2] == ("  analysis: 0xc0000005 STATUS_ACCESS_VIOLATION (read at 0x0000000000000000) in netsh.exe "
                          "10.0.20348.1+0x73ce; stack: netsh.exe+0x73ce")
    assert summary[3].startswith("  hint: a read from address 0x0, in the first 64 KB that is never mapped")
    # Beside the dump, owner-only like it, the analysis as !analyze -v lays it out.
    report = dest / "win" / "netsh.exe.4660.dmp.analysis.txt"
    assert summary[4] == "  report: %s" % report
    assert files_below(dest) == ["win/manifest.json", "win/netsh.exe.4660.dmp", "win/netsh.exe.4660.dmp.analysis.txt"]
    assert stat.S_IMODE(report.stat().st_mode) == 0o600
    assert "\nPROCESS_NAME:  netsh.exe\n" in report.read_text()
    assert "\nAttempt to read from address 00000000`00000000\n" in report.read_text()
    again = lab.playbook(HARVEST, "-e", "exe=netsh.exe", "-e", "harvest_dest=%s" % dest)
    assert not any(r.get("changed") for host, r in again.results)

    # The bucket needs amazon.aws, which this controller does not have: a clear
    # error before anything is fetched.
    proc = lab.playbook(HARVEST, check=False, extra_vars={"exe": "netsh.exe", "harvest_dest": str(tmp_path / "b"),
                                                          "harvest_s3_bucket": "dumps"})
    assert proc.returncode == 2
    assert "amazon.aws collection is not installed" in proc.stdout
    assert not (tmp_path / "b").exists()

    proc = lab.playbook(HARVEST, check=False)
    assert proc.returncode == 2 and "-e exe=NAME.exe" in proc.stdout


def test_awx_jobs_in_fresh_containers_share_a_mounted_destination(lab, tmp_path):
    """Each AWX job starts from an empty private data dir; the dumps live on a mounted volume."""
    lab.host("win", SEED)
    lab.labctl("crash", "win", "netsh.exe", "--pid", "4660")
    mounted = tmp_path / "volume"
    survey = {"exe": "netsh.exe", "harvest_dest": str(mounted), "harvest_max_age": "7d"}
    moved = []
    for job in ("job1", "job2"):
        before = load_state(str(lab.state_dir), "win")["counters"]["fetch_bytes"]
        (tmp_path / job).mkdir()
        result = ansible_runner.run(private_data_dir=str(tmp_path / job), playbook=str(HARVEST),
                                    inventory=str(lab.inventory()), extravars=survey, envvars=lab.env, quiet=True)
        assert result.status == "successful", result.stdout.read()
        moved.append(load_state(str(lab.state_dir), "win")["counters"]["fetch_bytes"] - before)
    assert moved[0] > 0 and moved[1] == 0
    manifest = json.loads((mounted / "win" / "manifest.json").read_text())
    assert [e["file"] for e in manifest["dumps"]] == ["netsh.exe.4660.dmp"]


def test_awx_job_refuses_to_remove_dumps_it_keeps_only_in_its_private_folder(lab, tmp_path):
    """AWX deletes the job's private data folder after the job: removing the dumps from the host would lose them."""
    lab.host("win", SEED)
    lab.labctl("crash", "win", "netsh.exe", "--pid", "4660")
    survey = next(t for t in json.loads((REPO / "awx" / "crashdump_windows.json").read_text())["job_templates"]
                  if t["playbook"] == "playbooks/harvest_crash_dumps.yml")["related"]["survey_spec"]
    answers = {q["variable"]: q["default"] for q in survey["spec"]}
    private = tmp_path / "job"
    private.mkdir()
    answers.update(exe="netsh.exe", crashdump_hosts="win", harvest_remove_after_fetch="true",
                   harvest_dest=str(private / "crash_dumps"))
    before = lab.stats("win")["round_trips"]
    result = ansible_runner.run(private_data_dir=str(private), playbook=str(HARVEST), inventory=str(lab.inventory()),
                                extravars=answers, envvars=lab.env, quiet=True)
    out = " ".join(result.stdout.read().split())
    assert result.status == "failed"
    assert "is inside the job's private data folder %s, which AWX (ansible-runner) deletes after the job" % private \
        in out, out
    assert lab.stats("win")["round_trips"] == before
    assert "C:\\WER\\netsh.exe.4660.dmp" in lab.state("win")["files"]


def test_an_empty_destination_is_named(lab, tmp_path):
    lab.host("win", SEED)
    before = lab.stats("win")["round_trips"]
    proc = lab.playbook(HARVEST, "-e", "exe=netsh.exe", "-e", "harvest_dest=", check=False)
    assert proc.returncode == 2
    assert "dest (harvest_dest) is empty: name the controller folder for the dumps" in proc.stdout
    assert "Errno" not in proc.stdout + proc.stderr
    assert lab.stats("win")["round_trips"] == before
