"""The CI pipelines of the guide docs/docsite/rst/ci_remediation.rst (GitHub Actions, GitLab CI), read from the
guide: the same commands, run here on lab hosts as a runner runs them, leave the triage and enable results as JSON
artifacts and fail the pipeline when a step fails."""

import json
import re
import subprocess
import textwrap
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
GUIDE = (REPO / "docs" / "docsite" / "rst" / "ci_remediation.rst").read_text()


def pipeline(name):
    """The YAML of the guide's code block ``:name: name``."""
    m = re.search(r"^\.\. code-block:: yaml\n   :name: %s\n\n((?:   .*\n|\n)+)" % name, GUIDE, re.M)
    return yaml.safe_load(textwrap.dedent(m.group(1)))


GITHUB = pipeline("github-actions")["jobs"]["remediate"]
GITLAB = pipeline("gitlab-ci")["crash-remediation"]
LD = "HKLM\\SOFTWARE\\Microsoft\\Windows\\Windows Error Reporting\\LocalDumps"


def commands():
    """The pipeline's commands: the GitHub steps after the install, which GitLab's script repeats."""
    steps = [s for s in GITHUB["steps"] if "run" in s and s["name"] != "Install"]
    assert all(s.get("shell") == "bash" for s in steps)  # bash -eo pipefail, as GitLab's runner runs a script
    return [s["run"] for s in steps]


def run_pipeline(lab, workdir):
    """Each command as a runner runs it, stopping at the first that fails; the pipeline's exit status."""
    env = dict(lab.env, **GITHUB["env"])
    env["INVENTORY"] = str(lab.inventory())  # the pipeline's inventory: the lab's hosts
    for command in commands():
        proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", command], cwd=str(workdir),
                              env=env, capture_output=True, text=True, check=False)
        if proc.returncode:
            return proc.returncode, proc.stdout + proc.stderr
    return 0, ""


def test_the_two_pipelines_run_the_same_commands_and_keep_the_same_artifacts():
    assert GITLAB["script"] == commands()
    assert GITLAB["variables"] == GITHUB["env"]
    upload = next(s for s in GITHUB["steps"] if s.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["if"] == "always()" and GITLAB["artifacts"]["when"] == "always"
    assert [upload["with"]["path"]] == GITLAB["artifacts"]["paths"] == [GITHUB["env"]["OUT"] + "/"]


def test_triage_then_enable_for_the_top_image(lab, tmp_path):
    lab.host("win")
    for pid in (11, 12):
        lab.labctl("crash", "win", "netsh.exe", "--pid", pid)
    lab.labctl("crash", "win", "notepad.exe", "--pid", 13)
    rc, output = run_pipeline(lab, tmp_path)
    assert rc == 0, output
    out = tmp_path / GITHUB["env"]["OUT"]
    report = json.loads((out / "triage" / "crash_triage.json").read_text())
    assert report["top_image"]["image"] == "netsh.exe" and report["crash_count"] == 3
    assert json.loads((out / "top_image.json").read_text()) == {"exe": "netsh.exe", "crashdump_hosts": "win"}
    enabled = json.loads((out / "enable" / "win").read_text())
    assert not enabled.get("failed") and enabled["msg"], enabled
    assert lab.registry("win")[LD + "\\netsh.exe"]["values"]["DumpType"]["data"] == 2


def test_a_failing_step_fails_the_pipeline(lab, tmp_path):
    lab.host("win")
    lab.labctl("crash", "win", "netsh.exe", "--pid", 11)
    # Triage reads the host in one command; the connection drops on the next, enable's first.
    lab.labctl("fault", "win", "exec:2")
    rc, output = run_pipeline(lab, tmp_path)
    assert rc == 4, output  # ansible-playbook's status for an unreachable host
    out = tmp_path / GITHUB["env"]["OUT"]
    assert json.loads((out / "triage" / "crash_triage.json").read_text())["top_image"]["image"] == "netsh.exe"
    failed = json.loads((out / "enable" / "win").read_text())
    assert failed["unreachable"], failed
    assert LD + "\\netsh.exe" not in lab.registry("win")
