"""`labctl --help` tells what a user otherwise learns from the source or an error:
the lab from an installed collection, the sections of a host's state, and the
seed file format, with an example that seeds as shown."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from crashdump_lab.defaults import default_state

REPO = Path(__file__).resolve().parents[2]
LABCTL = REPO / "lab" / "labctl"


def labctl(*args, state_dir):
    return subprocess.run([str(LABCTL), "--state-dir", str(state_dir), *map(str, args)],
                          capture_output=True, text=True, check=False)


def test_help_names_the_lab_for_an_installed_collection(state_dir):
    text = labctl("--help", state_dir=state_dir).stdout
    assert "labctl serve" in text and "ansible.builtin.winrm" in text
    assert "-i CHECKOUT/lab/inventory.yml crashdump.windows." in text
    assert "$CRASHDUMP_LAB_STATE_DIR" in text


def test_help_lists_the_sections_before_any_error(state_dir):
    text = labctl("--help", state_dir=state_dir).stdout
    listed = re.search(r"--section NAME: NAME is one of\n(.*?)\n\n", text, re.S).group(1)
    assert [s.strip() for s in listed.replace("\n", " ").split(",")] == list(default_state("lab-x", "AMD64"))
    assert "{host,os," in labctl("show", "--help", state_dir=state_dir).stdout
    wrong = labctl("show", "lab-win2022", "--section", "regsitry", state_dir=state_dir)
    assert wrong.returncode == 2 and "'registry'" in wrong.stderr


def test_seed_help_documents_the_format_with_an_example_that_works(state_dir, tmp_path):
    for args in (["--help"], ["seed", "--help"]):
        text = labctl(*args, state_dir=state_dir).stdout
        for section in ("``registry``", "``files``", "``processes``", "``events``"):
            assert section in text, (args, section)
    text = labctl("seed", "--help", state_dir=state_dir).stdout
    example = re.search(r"for example\n(.*?\}\}\}\})\n", text, re.S).group(1)
    seed = tmp_path / "seed.json"
    seed.write_text(example)
    assert labctl("seed", "lab-win2022", seed, state_dir=state_dir).returncode == 0
    registry = json.loads(labctl("show", "lab-win2022", "--section", "registry", state_dir=state_dir).stdout)
    (key, wanted), = json.loads(example)["registry"].items()
    assert registry[key]["values"]["DumpType"] == {"type": "REG_DWORD", "data": 1}
    assert wanted["values"]["DumpType"]["data"] == 1
