"""The rulebooks as ansible-rulebook reads them (its schema and parser), and the AWX variant against the workflow
that awx/crashdump_windows.json defines. crash_remediation.yml itself runs in tests/lab/test_eda_rulebook.py."""

import json
from pathlib import Path

import pytest
import yaml
from ansible_rulebook import rules_parser
from ansible_rulebook.validators import Validate

REPO = Path(__file__).resolve().parents[4]
RULEBOOKS = REPO / "extensions" / "eda" / "rulebooks"
AWX = json.loads((REPO / "awx" / "crashdump_windows.json").read_text())


def load(name):
    data = yaml.safe_load((RULEBOOKS / name).read_text())
    Validate.rulebook(data)
    (ruleset,) = rules_parser.parse_rule_sets(data, {"crashdump_eda_port": 5999})
    return data[0], ruleset


@pytest.mark.parametrize("name", ["crash_remediation.yml", "crash_remediation_awx.yml"])
def test_the_collections_source_on_loopback_by_default(name):
    data, ruleset = load(name)
    (source,) = ruleset.sources
    assert source.source_name == "crashdump.windows.wer_events"
    assert source.source_args == {"host": "{{ crashdump_eda_host | default('127.0.0.1') }}",
                                  "port": "{{ crashdump_eda_port | default(5000) }}",
                                  "token": "{{ crashdump_eda_token | default('') }}"}
    throttled = [rule for rule in data["rules"] if "throttle" in rule]
    assert [rule["throttle"]["group_by_attributes"] for rule in throttled] == [["event.crash.host",
                                                                               "event.crash.image"]]


def test_the_playbook_variant_runs_the_enable_playbook():
    data, _ruleset = load("crash_remediation.yml")
    (run,) = [rule["action"]["run_playbook"] for rule in data["rules"] if "run_playbook" in rule["action"]]
    assert run["name"] == "crashdump.windows.enable_crash_dumps"
    assert (REPO / "playbooks" / "enable_crash_dumps.yml").is_file()


def test_the_awx_variant_launches_the_imported_workflow_with_its_survey_variables():
    data, _ruleset = load("crash_remediation_awx.yml")
    (launch,) = [rule["action"]["run_workflow_template"] for rule in data["rules"]]
    (workflow,) = AWX["workflow_job_templates"]
    assert launch["name"] == workflow["name"]
    assert launch["organization"] == "{{ crashdump_awx_organization | default('%s') }}" % (
        workflow["organization"]["name"])
    survey = {q["variable"] for q in workflow["related"]["survey_spec"]["spec"]}
    assert set(launch["job_args"]["extra_vars"]) == {"exe", "crashdump_hosts"} <= survey
    # The workflow asks for a limit, and no variables beyond its survey: no event payload.
    assert workflow["ask_limit_on_launch"] and not workflow.get("ask_variables_on_launch")
    assert launch["include_events"] is False and launch["job_args"]["limit"] == "{{ event.crash.host }}"
