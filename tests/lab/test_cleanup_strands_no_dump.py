"""Cleanup never strands a dump: the README's sequence (harvest to a folder of the user's, then cleanup)."""

import re
import shlex
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ENABLE = REPO / "playbooks" / "enable_crash_dumps.yml"
CLEANUP = REPO / "playbooks" / "cleanup_crash_dumps.yml"
HARVEST = REPO / "playbooks" / "harvest_crash_dumps.yml"
DUMP_FOLDERS = "HKLM\\SOFTWARE\\crashdump.windows\\DumpFolders"


def messages(proc, host):
    return [r["msg"] for h, r in proc.results if h == host and isinstance(r.get("msg"), str)]


def left_on_host(proc, host):
    found = [m for m in messages(proc, host) if "left on the host" in m]
    assert len(found) == 1, proc.stdout
    return found[0]


def test_default_cleanup_names_each_dump_left_and_the_command_that_fetches_it(lab, tmp_path):
    dest = tmp_path / "srv" / "crash_dumps"
    lab.host("win")
    before = lab.state("win")
    lab.playbook(ENABLE, "-e", "exe=netsh.exe")
    lab.labctl("crash", "win", "netsh.exe", "--pid", "4660")
    lab.playbook(HARVEST, "-e", "exe=netsh.exe", "-e", "harvest_dest=%s" % dest)
    lab.labctl("crash", "win", "netsh.exe", "--pid", "4661")

    proc = lab.playbook(CLEANUP, "-e", "exe=netsh.exe")
    summary = left_on_host(proc, "win")
    assert re.match(r"2 dump\(s\) left on the host: C:\\WER\\netsh\.exe\.4661\.dmp \([\d.]+ [KM]B\), "
                    r"C:\\WER\\netsh\.exe\.4660\.dmp \([\d.]+ [KM]B\); fetch them later with: ansible-playbook ",
                    summary), summary
    # LocalDumps is restored, yet the folder the collection configured is still known on the host.
    assert DUMP_FOLDERS in lab.registry("win")

    # The command shown, run as it is in a shell, fetches the dump not harvested yet.
    command = summary.split("fetch them later with: ", 1)[1]
    assert "harvest_dest=" + str(dest) not in command  # cleanup was not told where the harvest went
    run = subprocess.run(command, shell=True, env=lab.env, cwd=str(tmp_path), capture_output=True, text=True,
                         check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    harvested = Path(re.search(r"harvest_dest=(\S+)", command).group(1)) / "win"
    assert (harvested / "netsh.exe.4661.dmp").is_file() and (harvested / "netsh.exe.4660.dmp").is_file()

    # Harvest to the README's folder finds it too, after cleanup.
    proc = lab.playbook(HARVEST, "-e", "exe=netsh.exe", "-e", "harvest_dest=%s" % dest)
    assert (dest / "win" / "netsh.exe.4661.dmp").is_file()

    # Removing "harvested" dumps without saying where they were harvested to is refused, before any change.
    state = lab.state("win")
    proc = lab.playbook(CLEANUP, "-e", "exe=netsh.exe", "-e", "remove_dumps=true", check=False)
    assert proc.returncode != 0
    assert "name the folder the harvest wrote them to, -e harvest_dest=DIR" in proc.stdout
    assert lab.state("win")["registry"] == state["registry"] and lab.state("win")["files"] == state["files"]

    # With the destination: both dumps go, the host forgets the folder and removes the one enable created: it is
    # as it was before enable.
    proc = lab.playbook(CLEANUP, "-e", "exe=netsh.exe", "-e", "remove_dumps=true", "-e", "harvest_dest=%s" % dest)
    assert messages(proc, "win")[-1] == "2 harvested dump(s) removed from the host; no dump of netsh.exe left on " \
                                        "the host"
    after = lab.state("win")
    assert (after["registry"], after["files"]) == (before["registry"], before["files"])


def test_several_images_the_command_quotes_them_and_a_clean_host_has_none_left(lab):
    lab.host("win")
    lab.host("clean")
    images = '{"exe": ["netsh.exe", "other.exe"]}'
    lab.playbook(ENABLE, "-e", images)
    lab.labctl("crash", "win", "other.exe", "--pid", "7")
    proc = lab.playbook(CLEANUP, "-e", images)
    summary = left_on_host(proc, "win")
    assert summary.startswith("1 dump(s) left on the host: C:\\WER\\other.exe.7.dmp (")
    assert images in shlex.split(summary.split("fetch them later with: ", 1)[1])
    assert messages(proc, "clean")[-1] == "no dump of netsh.exe, other.exe left on the host"
