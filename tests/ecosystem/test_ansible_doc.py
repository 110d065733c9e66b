"""`ansible-doc` reads every module's documentation file (plugins/modules/NAME.py)."""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # the venv running pytest holds ansible-doc
MODULES = sorted(p.stem for p in (REPO / "plugins" / "modules").glob("*.py") if p.stem != "__init__")


def ansible_doc(*args):
    env = dict(os.environ, ANSIBLE_NOCOLOR="1")  # conftest put the collection on ANSIBLE_COLLECTIONS_PATH
    return subprocess.run([BIN / "ansible-doc", *args], cwd=REPO, env=env, capture_output=True, text=True, check=False)


def short_description(name):
    """short_description from the file's DOCUMENTATION, read without importing it."""
    tree = ast.parse((REPO / "plugins" / "modules" / f"{name}.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "DOCUMENTATION" for t in node.targets):
            return yaml.safe_load(ast.literal_eval(node.value))["short_description"]
    raise AssertionError(f"plugins/modules/{name}.py has no DOCUMENTATION")


def test_list_collection():
    result = ansible_doc("-l", "crashdump.windows")
    assert result.returncode == 0, result.stderr
    for name in MODULES:
        assert f"crashdump.windows.{name} " in result.stdout


@pytest.mark.parametrize(
    "name", MODULES or [pytest.param(None, marks=pytest.mark.skip(reason="no plugins/modules/*.py yet"))]
)
def test_module_doc(name):
    text = ansible_doc(f"crashdump.windows.{name}")
    assert text.returncode == 0, text.stderr
    assert f"crashdump.windows.{name}" in text.stdout.splitlines()[0]

    as_json = ansible_doc("--json", f"crashdump.windows.{name}")
    assert as_json.returncode == 0, as_json.stderr
    doc = json.loads(as_json.stdout)[f"crashdump.windows.{name}"]["doc"]
    assert doc["short_description"] == short_description(name)
