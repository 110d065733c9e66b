# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write awx/crashdump_windows.json, the file `awx import` reads, from awx/job_templates.yml.

The surveys come from the options they set (roles/*/meta/argument_specs.yml,
or the DOCUMENTATION of the module a playbook runs), so they cannot drift
from what the playbooks accept. Run it after changing either:

    python awx/make_import.py                        # rewrites awx/crashdump_windows.json
    python awx/make_import.py --organization Ops --project "Crash dumps" \\
        --scm-url https://git.example.com/crashdump.windows.git -o my_import.json
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO / "awx" / "job_templates.yml"
OUTPUT = REPO / "awx" / "crashdump_windows.json"
# C(x), V(x), O(x), M(x), P(x#role), RV(x): the text without the markup.
_MARKUP = re.compile(r"\b[A-Z]{1,2}\(([^)#]*)(?:#[^)]*)?\)")
_FIRST_VAR = re.compile(r"^\{\{\s*(\w+)")
TEXT_MAX = 1024


def plain(description):
    """The first paragraph of an option's description, without Ansible's markup."""
    first = description[0] if isinstance(description, list) else description
    return _MARKUP.sub(r"\1", " ".join(first.split()))


def module_doc(name):
    tree = ast.parse((REPO / "plugins" / "modules" / (name + ".py")).read_text())
    text = next(n.value.value for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == "DOCUMENTATION")
    return yaml.safe_load(text)


def playbook_options(playbook):
    """(description, {extra var: (option name, option spec)}) of what the playbook's role or module takes."""
    play = yaml.safe_load((REPO / playbook).read_text())[0]
    if play.get("roles"):
        role = play["roles"][0]
        name = role["role"].rsplit(".", 1)[-1]
        spec = yaml.safe_load((REPO / "roles" / name / "meta" / "argument_specs.yml").read_text())
        spec, passed = spec["argument_specs"]["main"], role.get("vars", {})
    else:
        task = next(t for t in play["tasks"] if any(k.startswith("crashdump.windows.") for k in t))
        module = next(k for k in task if k.startswith("crashdump.windows."))
        spec, passed = module_doc(module.rsplit(".", 1)[-1]), task[module]
    # An option the playbook fills from an extra var of another name: `harvest_exe: "{{ exe }}"`.
    aliases = {_FIRST_VAR.match(v).group(1): k for k, v in passed.items() if isinstance(v, str) and _FIRST_VAR.match(v)}
    options = {aliases.get(k, k): (k, o) for k, o in spec["options"].items() if k not in aliases.values()}
    options.update({var: (name, spec["options"][name]) for var, name in aliases.items()})
    return plain(spec["short_description"]), options


def question(variable, title, option, awx_default):
    """One survey question for the extra var ``variable``, set from the option's spec."""
    kind, required = option["type"], bool(option.get("required"))
    default = option.get("default") if awx_default is None else awx_default
    q = {"question_name": title, "question_description": plain(option["description"]), "required": required,
         "variable": variable}
    if kind == "bool":
        q.update(type="multiplechoice", choices=["true", "false"], default="true" if default else "false")
    elif option.get("choices"):
        q.update(type="multiplechoice", choices=[str(c) for c in option["choices"]],
                 default="" if default is None else str(default))
    elif kind == "int":
        q.update(type="integer", default="" if default is None else default)
    elif kind in ("str", "path", "raw") or (kind == "list" and option.get("elements") == "str"):
        # A list of strings takes the comma-separated text an extra var gives it.
        q.update(type="text", min=1 if required else 0, max=TEXT_MAX, default="" if default is None else default)
    else:
        raise ValueError("%s: an option of type %s cannot be a survey question" % (variable, kind))
    return q


def survey(name, questions, options, config):
    spec = []
    for variable, title in questions.items():
        option = config["host_pattern"].get(variable) or options[variable][1]
        spec.append(question(variable, title, option, config["awx_defaults"].get(variable)))
    return {"name": name, "description": "", "spec": spec}


def build(config):
    org = {"name": config["organization"], "type": "organization"}
    ee_key = {"name": config["execution_environment"]["name"], "type": "execution_environment"}
    project_key = {"organization": org, "name": config["project"]["name"], "type": "project"}
    ee = {"name": ee_key["name"], "description": "ansible-core, pywinrm, pypsrp and crashdump.windows",
          "image": config["execution_environment"]["image"], "pull": "missing", "natural_key": ee_key}
    project = {"name": project_key["name"], "description": "crashdump.windows: playbooks/", "scm_type": "git",
               "scm_url": config["project"]["scm_url"], "scm_branch": config["project"]["scm_branch"],
               "organization": org, "default_environment": ee_key, "natural_key": project_key}
    templates, options_of = [], {}
    for key, jt in config["job_templates"].items():
        description, options = playbook_options(jt["playbook"])
        options_of[key] = options
        templates.append(dict(
            {"name": jt["name"], "description": description, "job_type": "run", "playbook": jt["playbook"],
             "project": project_key, "execution_environment": ee_key, "survey_enabled": True},
            **{"ask_%s_on_launch" % a: True for a in jt["ask"]},
            natural_key={"organization": org, "name": jt["name"], "type": "job_template"},
            related={"survey_spec": survey(jt["name"], jt["survey"], options, config)}))
    wf = config["workflow"]
    wf_key = {"organization": org, "name": wf["name"], "type": "workflow_job_template"}
    workflow_options = {}
    for node in wf["nodes"]:
        if "template" in node:
            for variable, option in options_of[node["template"]].items():
                workflow_options.setdefault(variable, option)
    nodes = []
    for node in wf["nodes"]:
        entry = {"identifier": node["identifier"], "all_parents_must_converge": False,
                 "natural_key": {"workflow_job_template": wf_key, "identifier": node["identifier"],
                                 "type": "workflow_job_template_node"}}
        related = {"success_nodes": [{"workflow_job_template": wf_key, "identifier": node["success"],
                                      "type": "workflow_job_template_node"}] if "success" in node else []}
        if "template" in node:
            entry["unified_job_template"] = {"organization": org, "name": config["job_templates"][node["template"]][
                "name"], "type": "job_template"}
            if "job_type" in node:
                entry["job_type"] = node["job_type"]
        else:
            approval = wf["approval"]
            related["create_approval_template"] = {k: approval[k] for k in ("name", "description", "timeout")}
        entry["related"] = related
        nodes.append(entry)
    workflow = {"name": wf["name"], "description": "triage, enable (check), approval, enable, wait for a dump, "
                "harvest, clean up", "organization": org, "survey_enabled": True, "ask_inventory_on_launch": True,
                "ask_limit_on_launch": True, "natural_key": wf_key,
                "related": {"survey_spec": survey(wf["name"], wf["survey"], workflow_options, config),
                            "workflow_nodes": nodes}}
    return {"execution_environments": [ee], "projects": [project], "job_templates": templates,
            "workflow_job_templates": [workflow]}


def render(config):
    return json.dumps(build(config), indent=2, ensure_ascii=False) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    # Each defaults to the value in awx/job_templates.yml.
    p.add_argument("--organization", help="the AWX organization the objects belong to")
    p.add_argument("--project", help="the project's name")
    p.add_argument("--scm-url", help="the Git URL AWX syncs the project from")
    p.add_argument("--scm-branch", help="the branch, tag or commit")
    p.add_argument("--ee-image", help="the execution environment's image")
    p.add_argument("-o", "--output", default=str(OUTPUT), help="the file to write; - for standard output")
    args = p.parse_args(argv)
    config = yaml.safe_load(SOURCE.read_text())
    config["organization"] = args.organization or config["organization"]
    for attr, (section, key) in {"project": ("project", "name"), "scm_url": ("project", "scm_url"),
                                 "scm_branch": ("project", "scm_branch"),
                                 "ee_image": ("execution_environment", "image")}.items():
        if getattr(args, attr):
            config[section][key] = getattr(args, attr)
    text = render(config)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text)


if __name__ == "__main__":
    main()
