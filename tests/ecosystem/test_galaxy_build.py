"""`ansible-galaxy collection build` ships the collection and none of the development tooling."""

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
    git = subprocess.run(["git", "ls-files", "plugins"], cwd=REPO, check=True, capture_output=True, text=True)
    tracked = [f for f in git.stdout.splitlines() if "__pycache__" not in f]
    assert sorted(set(tracked) - set(members)) == []
