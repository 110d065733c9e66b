"""AWX: surveys map 1:1 to the playbooks' extra vars; the execution environment builds its context."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = yaml.safe_load((REPO / "awx" / "job_templates.yml").read_text())["job_templates"]
BIN = Path(sys.executable).parent


def role_of(playbook):
    """The playbook's role, and the extra vars it maps onto role options (``harvest_exe: "{{ exe }}"``)."""
    role = yaml.safe_load((REPO / playbook).read_text())[0]["roles"][0]
    aliases = {value.strip("{} "): name for name, value in role.get("vars", {}).items()}
    return role["role"].rsplit(".", 1)[-1], aliases


@pytest.mark.parametrize("template", TEMPLATES, ids=[t["playbook"] for t in TEMPLATES])
def test_survey_matches_the_role_argument_spec(template):
    survey = json.loads((REPO / template["survey"]).read_text())
    role, aliases = role_of(template["playbook"])
    spec = yaml.safe_load((REPO / "roles" / role / "meta" / "argument_specs.yml")
                          .read_text())["argument_specs"]["main"]["options"]
    for question in survey["spec"]:
        question["variable"] = aliases.get(question["variable"], question["variable"])
    variables = [q["variable"] for q in survey["spec"]]
    assert len(variables) == len(set(variables))
    # Every survey field is a role option (or the playbook's host pattern) ...
    assert set(variables) - {"crashdump_hosts"} <= set(spec)
    # ... and every required role option is asked, as required.
    for name, option in spec.items():
        if option.get("required"):
            assert name in variables and next(q for q in survey["spec"] if q["variable"] == name)["required"]
    for q in survey["spec"]:
        option = spec.get(q["variable"])
        if option is None:
            continue
        if q["type"] == "integer":
            assert option["type"] == "int" and q["min"] <= q["default"] <= q["max"]
        if q["type"] == "multiplechoice":
            allowed = option.get("choices") or (["true", "false"] if option["type"] == "bool" else None)
            assert allowed and set(q["choices"]) <= {str(c) for c in allowed}
            assert q["default"] in q["choices"]
    assert "crashdump_hosts" in (REPO / template["playbook"]).read_text()


@pytest.mark.parametrize("template", TEMPLATES, ids=[t["playbook"] for t in TEMPLATES])
def test_no_survey_defaults_the_dumps_into_the_job_private_folder(template):
    """/runner is the job's private data folder in an execution environment; AWX deletes it after the job."""
    survey = json.loads((REPO / template["survey"]).read_text())
    for q in survey["spec"]:
        if q["variable"] == "harvest_dest":
            assert q["default"] and not (q["default"] + "/").startswith("/runner/"), q


def test_execution_environment_context(tmp_path):
    (tmp_path / "awx").mkdir()
    shutil.copy(REPO / "awx" / "execution-environment.yml", tmp_path / "awx")
    subprocess.run([str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(tmp_path), str(REPO)],
                   check=True, capture_output=True)
    subprocess.run([str(BIN / "ansible-builder"), "create", "-f", str(tmp_path / "awx" / "execution-environment.yml"),
                    "--context", str(tmp_path / "ctx")], check=True, capture_output=True)
    build = tmp_path / "ctx" / "_build"
    assert list((build / "collection").glob("crashdump-windows-*.tar.gz"))
    requirements = (build / "requirements.txt").read_text()
    assert "pywinrm" in requirements and "pypsrp" in requirements
    containerfile = (tmp_path / "ctx" / "Dockerfile").read_text()
    assert "ansible-galaxy collection install /tmp/crashdump-collection" in containerfile
