"""`ansible-galaxy collection build` ships the collection and none of the development tooling."""

import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # the venv running pytest holds ansible-galaxy

# Top-level entries that galaxy.yml's build_ignore must keep out of the tarball.
NOT_SHIPPED = [".ci", ".venv", ".ansible", "ansible.cfg", "benchmarks", "lab", "tests", "tools", "requirements-dev.txt"]


@pytest.fixture(scope="module")
def members(tmp_path_factory):
    out = tmp_path_factory.mktemp("build")
    subprocess.run(
        [BIN / "ansible-galaxy", "collection", "build", "--output-path", out, REPO],
        check=True,
        capture_output=True,
        text=True,
    )
    (tarball,) = out.glob("crashdump-windows-*.tar.gz")
    with tarfile.open(tarball) as tar:
        return tar.getnames()


@pytest.mark.parametrize("name", NOT_SHIPPED)
def test_not_shipped(members, name):
    assert [m for m in members if m == name or m.startswith(name + "/")] == []


def test_no_build_leftovers(members):
    assert [m for m in members if "__pycache__" in m or m.endswith((".pyc", ".tar.gz"))] == []


@pytest.mark.parametrize("name", ["MANIFEST.json", "FILES.json", "meta/runtime.yml", "plugins/"])
def test_shipped(members, name):
    assert name in members or any(m.startswith(name) for m in members)


def test_every_plugin_file_shipped(members):
    """Ansible plugins and Event-Driven Ansible content (extensions/eda: the source plugin, the rulebooks)."""
    git = subprocess.run(["git", "ls-files", "plugins", "extensions"], cwd=REPO, check=True, capture_output=True,
                         text=True)
    tracked = [f for f in git.stdout.splitlines() if "__pycache__" not in f]
    assert sorted(set(tracked) - set(members)) == []


def test_the_fleet_crash_report_stays_out_of_the_build(lab, tmp_path):
    """A user runs the triage playbook in a checkout of the collection, then builds it (the AWX guide's first step)."""
    checkout, home, out = tmp_path / "checkout", tmp_path / "home", tmp_path / "build"
    git = subprocess.run(["git", "ls-files"], cwd=REPO, check=True, capture_output=True, text=True)
    for name in git.stdout.splitlines():
        if (REPO / name).is_file():
            (checkout / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, checkout / name)
    home.mkdir()
    lab.host("win")
    env = dict(lab.env, HOME=str(home))
    cmd = [str(BIN / "ansible-playbook"), "-i", str(lab.inventory()), "playbooks/triage_crashes.yml"]

    subprocess.run(cmd, cwd=checkout, env=env, check=True, capture_output=True)
    assert (home / "crash_triage" / "crash_triage.json").is_file()
    assert not (checkout / "crash_triage").exists()
    # A report asked for beside the collection is still kept out of the tarball.
    subprocess.run(cmd + ["-e", "triage_report_dir=crash_triage"], cwd=checkout, env=env, check=True,
                   capture_output=True)
    assert (checkout / "crash_triage" / "crash_triage.html").is_file()

    subprocess.run([BIN / "ansible-galaxy", "collection", "build", "--output-path", out, checkout], check=True,
                   capture_output=True)
    (tarball,) = out.glob("crashdump-windows-*.tar.gz")
    with tarfile.open(tarball) as tar:
        shipped = tar.getnames()
    assert "plugins/filter/crash_triage.py" in shipped
    assert [m for m in shipped if m.split("/")[0] == "crash_triage"] == []
