"""An in-memory stand-in for the part of AWX's REST API (/api/v2/) that `awx import` talks to.

awxkit's import code (ApiV2.import_assets) runs unchanged against it: it is
handed this object as its connection, and every request is answered here as
AWX 24 answers it and recorded. What it models, and nothing more:

* GET /api/ and /api/v2/ (the resource list awxkit orders its work by);
* OPTIONS of a list: the fields AWX accepts in a POST, with their types
  (awxkit drops any other field of the import file without a word);
* lists filtered by their query (how awxkit resolves natural keys), detail
  pages with ``related`` links, POST (create), PUT (replace);
* the sub-resources an import uses: survey_spec, workflow_nodes,
  success/failure/always_nodes (association: 204), create_approval_template.

AWX checks it makes too: required fields, foreign keys that exist, a name
unique in its organization, a job template's organization from its project,
and nodes linked only within their workflow.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from urllib.parse import urlencode

import requests

ID, STR, BOOL, INT, JSON, CHOICE = "id", "string", "boolean", "integer", "json", "choice"
_ASK = ("scm_branch", "credential", "diff_mode", "inventory", "job_type", "limit", "skip_tags", "tags", "variables",
        "verbosity", "execution_environment", "labels", "forks", "job_slice_count", "timeout", "instance_groups")
# The POST fields of each list, as AWX 24's OPTIONS lists them (type, required).
FIELDS = {
    "organizations": {"name": (STR, True), "description": (STR, False), "max_hosts": (INT, False),
                      "default_environment": (ID, False)},
    "execution_environments": {"name": (STR, True), "description": (STR, False), "organization": (ID, False),
                               "image": (STR, True), "credential": (ID, False), "pull": (CHOICE, False)},
    "projects": {"name": (STR, True), "description": (STR, False), "local_path": (STR, False),
                 "scm_type": (CHOICE, False), "scm_url": (STR, False), "scm_branch": (STR, False),
                 "scm_refspec": (STR, False), "scm_clean": (BOOL, False), "scm_track_submodules": (BOOL, False),
                 "scm_delete_on_update": (BOOL, False), "credential": (ID, False), "timeout": (INT, False),
                 "scm_update_on_launch": (BOOL, False), "scm_update_cache_timeout": (INT, False),
                 "allow_override": (BOOL, False), "organization": (ID, True), "default_environment": (ID, False),
                 "signature_validation_credential": (ID, False)},
    "job_templates": dict({"name": (STR, True), "description": (STR, False), "job_type": (CHOICE, False),
                           "inventory": (ID, False), "project": (ID, True), "playbook": (STR, True),
                           "scm_branch": (STR, False), "forks": (INT, False), "limit": (STR, False),
                           "verbosity": (CHOICE, False), "extra_vars": (JSON, False), "job_tags": (STR, False),
                           "force_handlers": (BOOL, False), "skip_tags": (STR, False), "start_at_task": (STR, False),
                           "timeout": (INT, False), "use_fact_cache": (BOOL, False),
                           "execution_environment": (ID, False), "host_config_key": (STR, False),
                           "survey_enabled": (BOOL, False), "become_enabled": (BOOL, False),
                           "diff_mode": (BOOL, False), "allow_simultaneous": (BOOL, False),
                           "job_slice_count": (INT, False), "webhook_service": (CHOICE, False),
                           "webhook_credential": (ID, False), "prevent_instance_group_fallback": (BOOL, False)},
                          **{"ask_%s_on_launch" % a: (BOOL, False) for a in _ASK}),
    "workflow_job_templates": {"name": (STR, True), "description": (STR, False), "extra_vars": (JSON, False),
                               "organization": (ID, False), "survey_enabled": (BOOL, False),
                               "allow_simultaneous": (BOOL, False), "ask_variables_on_launch": (BOOL, False),
                               "inventory": (ID, False), "limit": (STR, False), "scm_branch": (STR, False),
                               "ask_inventory_on_launch": (BOOL, False), "ask_scm_branch_on_launch": (BOOL, False),
                               "ask_limit_on_launch": (BOOL, False), "webhook_service": (CHOICE, False),
                               "webhook_credential": (ID, False), "ask_labels_on_launch": (BOOL, False),
                               "ask_skip_tags_on_launch": (BOOL, False), "ask_tags_on_launch": (BOOL, False),
                               "skip_tags": (STR, False), "job_tags": (STR, False)},
    "workflow_job_template_nodes": {"extra_data": (JSON, False), "inventory": (ID, False),
                                    "scm_branch": (STR, False), "job_type": (CHOICE, False),
                                    "job_tags": (STR, False), "skip_tags": (STR, False), "limit": (STR, False),
                                    "diff_mode": (BOOL, False), "verbosity": (CHOICE, False),
                                    "execution_environment": (ID, False), "forks": (INT, False),
                                    "job_slice_count": (INT, False), "timeout": (INT, False),
                                    "workflow_job_template": (ID, True), "unified_job_template": (ID, False),
                                    "all_parents_must_converge": (BOOL, False), "identifier": (STR, False)},
    "workflow_approval_templates": {"name": (STR, True), "description": (STR, False), "timeout": (INT, False)},
}
# Their type field, and the lists an object links to (related name: list).
TYPES = {"organizations": "organization", "execution_environments": "execution_environment", "projects": "project",
         "job_templates": "job_template", "workflow_job_templates": "workflow_job_template",
         "workflow_job_template_nodes": "workflow_job_template_node",
         "workflow_approval_templates": "workflow_approval_template"}
FOREIGN = {"organization": "organizations", "execution_environment": "execution_environments",
           "default_environment": "execution_environments", "project": "projects", "inventory": None,
           "credential": None, "webhook_credential": None, "signature_validation_credential": None,
           "workflow_job_template": "workflow_job_templates", "unified_job_template": None}
EDGES = ("success_nodes", "failure_nodes", "always_nodes")
# Other lists AWX's /api/v2/ names that awxkit's dependency order needs; always empty here.
EMPTY = ("users", "teams", "credential_types", "credentials", "notification_templates", "inventory",
         "inventory_sources", "applications", "schedules", "labels", "instance_groups", "system_job_templates")


class Invalid(Exception):
    pass


class FakeAWX:
    """The connection object awxkit's pages call (get, options, post, put, ...); ``requests`` records them."""

    def __init__(self):
        self.requests = []
        self.objects = {name: {} for name in TYPES}
        self.surveys, self.edges, self.approvals = {}, {}, {}
        self.objects["organizations"][1] = {"id": 1, "type": "organization", "name": "Default"}  # as AWX installs

    # -- the connection interface ---------------------------------------------------------

    def get(self, endpoint, query_parameters=None, headers=None):
        return self._handle("GET", endpoint, query_parameters or {})

    def options(self, endpoint):
        return self._handle("OPTIONS", endpoint, None)

    def post(self, endpoint, json=None, data=None, headers=None):
        return self._handle("POST", endpoint, json)

    def put(self, endpoint, json):
        return self._handle("PUT", endpoint, json)

    def patch(self, endpoint, json):
        return self._handle("PATCH", endpoint, json)

    def _handle(self, method, endpoint, body):
        path = "/" + endpoint.split("://", 1)[-1].split("/", 1)[-1].lstrip("/") if "://" in endpoint else endpoint
        self.requests.append((method, path, body))
        try:
            status, payload, allow = self._route(method, path, body)
        except Invalid as e:
            status, payload, allow = 400, {"detail": str(e)}, ""
        return _response(method, path, body if method == "GET" else None, status, payload, allow)

    # -- routing ---------------------------------------------------------------------------

    def _route(self, method, path, body):
        if path == "/api/":
            return 200, {"available_versions": {"v2": "/api/v2/"}}, "GET"
        if path == "/api/v2/":
            names = list(TYPES) + list(EMPTY)
            return 200, {n: "/api/v2/%s/" % ("inventories" if n == "inventory" else n) for n in names}, "GET"
        m = re.fullmatch(r"/api/v2/(\w+)/(?:(\d+)/(?:(\w+)/)?)?", path)
        if not m:
            return 404, {"detail": "Not found."}, ""
        kind, oid, sub = m.group(1), m.group(2) and int(m.group(2)), m.group(3)
        if kind not in self.objects:
            return 200, _page([]) if method == "GET" else _options({}), "GET, POST"
        if oid is None:
            return self._list(kind, method, body, {})
        obj = self.objects[kind].get(oid)
        if obj is None:
            return 404, {"detail": "Not found."}, ""
        if sub is None:
            if method == "PUT":
                # A node stays in its workflow (the field is not in the list's OPTIONS it was created through).
                kept = {k: obj[k] for k in ("workflow_job_template",) if k in obj and k not in body}
                self._store(kind, dict(body, id=oid, **kept))
            return 200, self._detail(kind, self.objects[kind][oid]), "GET, PUT"
        if sub == "survey_spec":
            if method == "POST":
                self.surveys[(kind, oid)] = body
            return 200, self.surveys.get((kind, oid), {}), "GET, POST"
        if sub == "workflow_nodes":
            return self._list("workflow_job_template_nodes", method, body, {"workflow_job_template": oid})
        if sub in EDGES:
            return self._edge(obj, sub, method, body)
        if sub == "create_approval_template":
            if method == "OPTIONS":
                return 200, _options(FIELDS["workflow_approval_templates"]), "POST"
            template = self._store("workflow_approval_templates", body)
            self.approvals[oid] = template["id"]
            return 201, self._detail("workflow_approval_templates", template), "POST"
        return 404, {}, ""

    def _list(self, kind, method, body, fixed):
        if method == "OPTIONS":
            fields = {k: v for k, v in FIELDS[kind].items() if k not in fixed}
            return 200, _options(fields), "GET, POST"
        if method == "POST":
            created = self._store(kind, dict(body, **fixed))
            return 201, self._detail(kind, created), "GET, POST"
        query = self.requests[-1][2] or {}
        rows = [o for o in self.objects[kind].values() if all(o.get(k) == v for k, v in fixed.items())
                and all(str(o.get(k)) == str(v) for k, v in query.items() if k in FIELDS[kind])]
        return 200, _page([self._detail(kind, o) for o in rows]), "GET, POST"

    def _edge(self, node, sub, method, body):
        linked = self.edges.setdefault((node["id"], sub), [])
        if method == "OPTIONS":
            return 200, _options(dict(FIELDS["workflow_job_template_nodes"], id=(INT, False))), "GET, POST"
        if method == "POST":
            target = self.objects["workflow_job_template_nodes"].get(body.get("id"))
            if target is None or target["workflow_job_template"] != node["workflow_job_template"]:
                raise Invalid("a node links only to a node of its own workflow")
            if target["id"] not in linked:
                linked.append(target["id"])
            return 204, None, "GET, POST"
        nodes = self.objects["workflow_job_template_nodes"]
        return 200, _page([self._detail("workflow_job_template_nodes", nodes[i]) for i in linked]), "GET, POST"

    # -- objects -----------------------------------------------------------------------------

    def _store(self, kind, body):
        fields = FIELDS[kind]
        for name, (_type, required) in fields.items():
            if required and body.get(name) in (None, ""):
                raise Invalid("%s: this field is required" % name)
        unknown = set(body) - set(fields) - {"id"}
        if unknown:
            raise Invalid("not fields of %s: %s" % (kind, sorted(unknown)))
        for name, value in body.items():
            target = FOREIGN.get(name) if fields.get(name, ("",))[0] == ID else None
            if target and value is not None and value not in self.objects[target]:
                raise Invalid("%s: invalid pk %r - object does not exist" % (name, value))
        obj = dict(body, type=TYPES[kind])
        if kind == "job_templates":
            obj["organization"] = self.objects["projects"][body["project"]]["organization"]
        oid = body.get("id") or max(self.objects[kind], default=0) + 1
        # Unique (name, organization), as a database constraint: no two NULL organizations are equal.
        same = [o for o in self.objects[kind].values() if "name" in body and o["id"] != oid
                and obj.get("organization") is not None
                and o.get("name") == body["name"] and o.get("organization") == obj.get("organization")]
        if same:
            raise Invalid("%s with this name and organization already exists" % TYPES[kind])
        obj["id"] = oid
        if kind == "projects":
            obj["status"] = "successful"  # the first project update, which the import waits for
        self.objects[kind][oid] = obj
        return obj

    def _detail(self, kind, obj):
        url = "/api/v2/%s/%d/" % (kind, obj["id"])
        related = {name: "/api/v2/%s/%d/" % (FOREIGN[name], obj[name]) for name in obj
                   if FOREIGN.get(name) and obj[name] is not None}
        if kind in ("job_templates", "workflow_job_templates"):
            related["survey_spec"] = url + "survey_spec/"
        if kind == "workflow_job_templates":
            related["workflow_nodes"] = url + "workflow_nodes/"
        if kind == "workflow_job_template_nodes":
            related.update({e: url + e + "/" for e in EDGES})
            related["create_approval_template"] = url + "create_approval_template/"
        return dict(obj, url=url, related=related)


def _options(fields):
    return {"actions": {"POST": {k: {"type": t, "required": r} for k, (t, r) in fields.items()}},
            "search_fields": ["name"]}


def _page(results):
    return {"count": len(results), "next": None, "previous": None, "results": results}


def _response(method, path, query, status, payload, allow):
    r = requests.Response()
    r.status_code = status
    r._content = b"" if payload is None else json.dumps(payload).encode()
    r.encoding = "utf-8"
    r.headers["Allow"] = allow
    r.elapsed = dt.timedelta(0)
    r.request = requests.Request(method, "http://awx.invalid" + path + ("?" + urlencode(query) if query else ""))
    r.request = r.request.prepare()
    r.url = r.request.url
    return r
