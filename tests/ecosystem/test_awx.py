"""AWX as code: awx/crashdump_windows.json is what awx/make_import.py writes, its surveys are the options of the
playbooks' roles and modules, its workflow holds the approval before enable applies, and awxkit's own import code
accepts it; the execution environment builds its context."""

import ast
import json
import logging
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from awxkit.api.pages.api import Api

from tests.ecosystem.awx_api import FIELDS, FakeAWX

REPO = Path(__file__).resolve().parents[2]
SOURCE = yaml.safe_load((REPO / "awx" / "job_templates.yml").read_text())
IMPORT_FILE = REPO / "awx" / "crashdump_windows.json"
DATA = json.loads(IMPORT_FILE.read_text())
TEMPLATES = DATA["job_templates"]
WORKFLOW = DATA["workflow_job_templates"][0]
BIN = Path(sys.executable).parent
LOOP = ["triage", "enable_preview", "approve", "enable", "wait_for_dump", "harvest", "cleanup"]


def test_the_import_file_is_what_make_import_writes(tmp_path):
    out = tmp_path / "import.json"
    subprocess.run([sys.executable, str(REPO / "awx" / "make_import.py"), "-o", str(out)], check=True)
    assert out.read_text() == IMPORT_FILE.read_text(), "run: python awx/make_import.py"
    # Every playbook has its job template.
    assert sorted(t["playbook"] for t in TEMPLATES) == sorted("playbooks/" + p.name
                                                              for p in (REPO / "playbooks").glob("*.yml"))


def options_of(playbook):
    """{extra var: option spec} of the role or module the playbook runs, the extra vars it renames included."""
    play = yaml.safe_load((REPO / playbook).read_text())[0]
    if "roles" in play:
        role = play["roles"][0]
        spec = yaml.safe_load((REPO / "roles" / role["role"].split(".")[-1] / "meta" / "argument_specs.yml")
                              .read_text())["argument_specs"]["main"]["options"]
        passed = role.get("vars", {})
    else:
        (module, passed), = ((k, v) for k, v in play["tasks"][0].items() if k.startswith("crashdump.windows."))
        tree = ast.parse((REPO / "plugins" / "modules" / (module.split(".")[-1] + ".py")).read_text())
        doc = next(n.value.value for n in tree.body if getattr(n, "targets", [None])[0].id == "DOCUMENTATION")
        spec = yaml.safe_load(doc)["options"]
    renamed = {re.match(r"\{\{\s*(\w+)", v).group(1): k for k, v in passed.items()}
    return dict({k: v for k, v in spec.items() if k not in renamed.values()},
                **{var: spec[name] for var, name in renamed.items()})


def surveys():
    """(id, survey, {extra var: option}) of every job template and of the workflow (options of its templates)."""
    found = [(t["playbook"], t["related"]["survey_spec"], options_of(t["playbook"])) for t in TEMPLATES]
    merged = {}
    for _name, _survey, options in found:
        for var, option in options.items():
            merged.setdefault(var, option)
    return found + [("workflow", WORKFLOW["related"]["survey_spec"], merged)]


@pytest.mark.parametrize("name,survey,options", surveys(), ids=[s[0] for s in surveys()])
def test_survey_is_the_options_it_sets(name, survey, options):
    options = dict(options, **SOURCE["host_pattern"])
    variables = [q["variable"] for q in survey["spec"]]
    assert len(variables) == len(set(variables))
    if name != "workflow":
        assert {n for n, o in options.items() if o.get("required")} <= set(variables)
    for q in survey["spec"]:
        option = options[q["variable"]]
        assert q["required"] == bool(option.get("required")), q
        assert q["question_description"], q
        default = SOURCE["awx_defaults"].get(q["variable"], option.get("default"))
        if option["type"] == "bool":
            assert (q["type"], q["choices"]) == ("multiplechoice", ["true", "false"])
            assert q["default"] == str(default).lower()
        elif option.get("choices"):
            assert (q["type"], q["choices"], q["default"]) == ("multiplechoice", option["choices"], default)
        elif option["type"] == "int":
            assert (q["type"], q["default"]) == ("integer", default)
        else:
            assert q["type"] == "text" and q["default"] == ("" if default is None else default)
            assert q["min"] <= len(q["default"]) <= q["max"] or (q["required"] and q["default"] == "")


def test_awx_defaults_keep_the_files_out_of_the_job_private_folder():
    """/runner is the job's private data folder in an execution environment; AWX deletes it after the job."""
    for variable, value in SOURCE["awx_defaults"].items():
        role_default = next(o.get("default") for _n, _s, opts in surveys() for v, o in opts.items() if v == variable)
        assert value != role_default and not (value + "/").startswith("/runner/")


def test_workflow_is_the_loop_with_the_approval_before_enable_applies():
    nodes = {n["identifier"]: n for n in WORKFLOW["related"]["workflow_nodes"]}
    targets = {t["identifier"] for n in nodes.values() for t in n["related"]["success_nodes"]}
    (root,) = set(nodes) - targets
    order = [root]
    while nodes[order[-1]]["related"]["success_nodes"]:
        (following,) = nodes[order[-1]]["related"]["success_nodes"]
        order.append(following["identifier"])
    assert order == LOOP and len(nodes) == len(LOOP)
    playbook = {t["name"]: t["playbook"] for t in TEMPLATES}
    steps = [playbook[nodes[i]["unified_job_template"]["name"]] if "unified_job_template" in nodes[i] else "approval"
             for i in order]
    assert steps == ["playbooks/triage_crashes.yml", "playbooks/enable_crash_dumps.yml", "approval",
                     "playbooks/enable_crash_dumps.yml", "playbooks/wait_for_crash_dump.yml",
                     "playbooks/harvest_crash_dumps.yml", "playbooks/cleanup_crash_dumps.yml"]
    # Before the approval, enable only runs in check mode (its template lets the job type be chosen).
    assert nodes["enable_preview"]["job_type"] == "check" and "job_type" not in nodes["enable"]
    assert next(t for t in TEMPLATES if t["playbook"] == steps[1])["ask_job_type_on_launch"]
    approval = nodes["approve"]["related"]["create_approval_template"]
    assert approval["name"] and approval["timeout"] > 0


def run_import(fake):
    v2 = Api(fake, endpoint="/api/").get().available_versions.v2.get()
    changed = v2.import_assets(json.loads(IMPORT_FILE.read_text()))
    return changed, getattr(v2, "_has_error", False)


def test_awxkit_imports_the_file(caplog):
    """awxkit's ApiV2.import_assets, unchanged, against an in-memory AWX API (tests/ecosystem/awx_api.py)."""
    # awxkit ignores a field the API does not take without a word: every field must be one it takes.
    kinds = {"execution_environments": DATA["execution_environments"], "projects": DATA["projects"],
             "job_templates": TEMPLATES, "workflow_job_templates": [WORKFLOW],
             "workflow_job_template_nodes": WORKFLOW["related"]["workflow_nodes"]}
    for kind, assets in kinds.items():
        for asset in assets:
            assert set(asset) - {"natural_key", "related"} <= set(FIELDS[kind]), asset["natural_key"]
    fake = FakeAWX()
    with caplog.at_level(logging.WARNING, logger="awxkit"):
        assert run_import(fake) == (True, False)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
    objects = {kind: list(found.values()) for kind, found in fake.objects.items()}
    (ee,), (project,) = objects["execution_environments"], objects["projects"]
    assert project["organization"] == 1 and project["default_environment"] == ee["id"] and project["scm_url"]
    jts = {jt["name"]: jt for jt in objects["job_templates"]}
    assert sorted(jts) == sorted(t["name"] for t in TEMPLATES)
    for t in TEMPLATES:
        jt = jts[t["name"]]
        assert (jt["project"], jt["execution_environment"], jt["playbook"]) == (project["id"], ee["id"], t["playbook"])
        assert fake.surveys[("job_templates", jt["id"])] == t["related"]["survey_spec"] and jt["survey_enabled"]
    (wf,) = objects["workflow_job_templates"]
    assert fake.surveys[("workflow_job_templates", wf["id"])] == WORKFLOW["related"]["survey_spec"]
    nodes = {n["identifier"]: n for n in objects["workflow_job_template_nodes"]}
    assert sorted(nodes) == sorted(LOOP) and all(n["workflow_job_template"] == wf["id"] for n in nodes.values())
    by_id = {n["id"]: i for i, n in nodes.items()}
    assert {(by_id[s], by_id[t]) for (s, edge), ts in fake.edges.items() for t in ts if edge == "success_nodes"} \
        == set(zip(LOOP, LOOP[1:]))
    (approval,) = objects["workflow_approval_templates"]
    assert fake.approvals == {nodes["approve"]["id"]: approval["id"]}
    assert nodes["approve"].get("unified_job_template") is None
    assert {i: n["unified_job_template"] for i, n in nodes.items() if i != "approve"} == {
        "triage": jts[SOURCE["job_templates"]["triage"]["name"]]["id"],
        "enable_preview": jts[SOURCE["job_templates"]["enable"]["name"]]["id"],
        "enable": jts[SOURCE["job_templates"]["enable"]["name"]]["id"],
        "wait_for_dump": jts[SOURCE["job_templates"]["wait"]["name"]]["id"],
        "harvest": jts[SOURCE["job_templates"]["harvest"]["name"]]["id"],
        "cleanup": jts[SOURCE["job_templates"]["cleanup"]["name"]]["id"]}

    # Again: every natural key finds what the first import made, so it is updated, not made twice.
    first = len(fake.requests)
    assert run_import(fake) == (True, False)
    assert any(r[0] == "PUT" for r in fake.requests[first:])
    # AWX makes a new approval template each time the node is given one (the old one is left unused).
    counts = {kind: len(found) for kind, found in fake.objects.items()}
    assert counts == dict({k: len(v) for k, v in objects.items()}, workflow_approval_templates=2)
    assert fake.approvals == {nodes["approve"]["id"]: max(fake.objects["workflow_approval_templates"])}


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
