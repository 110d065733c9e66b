# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""crashdump.windows.fetch_dumps: bring the dumps of an image to the controller, verified."""

from __future__ import annotations

import datetime as dt
import functools
import os

from ansible.errors import AnsibleActionFail, AnsibleConnectionFailure, AnsibleError

from ansible_collections.crashdump.windows.plugins.plugin_utils import _dump_listing, _harvest, _job_folder, _winpath
from ansible_collections.crashdump.windows.plugins.plugin_utils._agent import describe_error, execute_batch
from ansible_collections.crashdump.windows.plugins.plugin_utils._base import ModuleFailure, WindowsAgentAction
from ansible_collections.crashdump.windows.plugins.plugin_utils._connection_error import describe, fetch_file
from ansible_collections.crashdump.windows.plugins.plugin_utils._image import image_problem, is_sensitive

# Batches after the read batch: one to compress, one to clean up and remove.
MAX_APPLY_BATCHES = 2


class ActionModule(WindowsAgentAction):

    argument_spec = dict(
        exe=dict(type="list", elements="str", required=True),
        dest=dict(type="path", required=True),
        max_age=dict(type="str"),
        remove_after_fetch=dict(type="bool", default=False),
        compress=dict(type="str", default="auto", choices=["auto", "always", "never"]),
        max_bytes_per_run=dict(type="bytes"),
        min_free_space=dict(type="bytes", default="1G"),
        extra_folders=dict(type="list", elements="str", default=[]),
        allow_sensitive_image=dict(type="bool", default=False),
        trust_manifest=dict(type="bool", default=False),
        fetch_new=dict(type="bool", default=True),
    )

    def validate(self, args):
        if not args["exe"]:
            raise ModuleFailure("exe must name at least one image, e.g. netsh.exe")
        for exe in args["exe"]:
            problem = image_problem(exe)
            if problem:
                raise ModuleFailure("exe: %s" % problem)
            # Listing what stays on the host (fetch_new and remove_after_fetch false) moves nothing.
            moves = args["fetch_new"] or args["remove_after_fetch"]
            if moves and is_sensitive(exe) and not args["allow_sensitive_image"]:
                raise ModuleFailure(
                    "exe: dumps of %s hold the credentials of everyone logged on; set allow_sensitive_image=true "
                    "to fetch them anyway" % exe)
        if not args["dest"].strip():
            raise ModuleFailure("dest (harvest_dest) is empty: name the controller folder for the dumps, such as "
                                "~/crash_dumps")
        job_folder = _job_folder.private_folder_of(args["dest"], os.environ)
        if job_folder and args["remove_after_fetch"]:
            raise ModuleFailure(
                "dest %s is inside the job's private data folder %s, which AWX (ansible-runner) deletes after the "
                "job: with remove_after_fetch the dumps would be gone everywhere. Use a persistent, mounted folder "
                "such as /mnt/crash_dumps (see the harvest guide)" % (args["dest"], job_folder))
        if job_folder:
            self.warn("dest %s is inside the job's private data folder %s, which AWX (ansible-runner) deletes after "
                      "the job: the dumps fetched stay on the host, but their copies here go with the job"
                      % (args["dest"], job_folder))
        try:
            args["max_age"] = _harvest.parse_duration(args["max_age"])
        except ValueError as e:
            raise ModuleFailure("max_age: %s" % e) from None
        if args["max_bytes_per_run"] is not None and args["max_bytes_per_run"] <= 0:
            raise ModuleFailure("max_bytes_per_run must be more than 0 bytes")
        if args["min_free_space"] < 0:
            raise ModuleFailure("min_free_space must not be negative")
        for folder in args["extra_folders"]:
            problem = _winpath.path_problem(folder, variables=True)
            if problem:
                raise ModuleFailure("extra_folders: %r %s" % (folder, problem))
        host = self.task_vars.get("inventory_hostname") or self._play_context.remote_addr
        try:
            args["host_folder"] = _harvest.host_folder(args["dest"], host)
        except ValueError as e:
            raise ModuleFailure(str(e)) from None
        args["host"] = host

    # -- batches after the read -------------------------------------------------

    def _apply(self, ops):
        """One more batch (compress, or clean up); every operation runs, each reports itself."""
        if self.check_mode:
            raise AnsibleActionFail("internal error: apply batch in check mode")
        if self._batches.count("apply") >= MAX_APPLY_BATCHES:
            raise AnsibleActionFail("internal error: fetch_dumps makes at most two apply batches")
        self._batches.append("apply")
        return execute_batch(self, ops, stop_on_error=False)

    # -- the module ---------------------------------------------------------------

    def run_module(self, args):
        images = args["exe"]
        manifest = _dump_listing.load_manifest(args["host_folder"], args["host"])
        now = dt.datetime.now(dt.timezone.utc)
        since = now - dt.timedelta(seconds=args["max_age"]) if args["max_age"] is not None else None
        found, events, temp = self.read_batch(_dump_listing.find_ops(images, args["extra_folders"], since) + [
            {"op": "temp_dir", "name": _harvest.TEMP_NAME, "create": False}])
        dumps, candidates = _dump_listing.classify(self.warn, found, events, images, args["extra_folders"], manifest,
                                                   args["trust_manifest"], args["fetch_new"])
        run = _Run(self, args, manifest, temp, dumps, found)
        if self.check_mode:
            return run.predict(candidates)
        return run.transfer(candidates)


class _Run:
    """One invocation's transfer: compress, fetch, verify, clean up, report."""

    def __init__(self, action, args, manifest, temp, dumps, found):
        self.action = action
        self.args = args
        self.manifest = manifest
        self.temp = temp
        self.dumps = dumps
        self.found = found
        self.folder = args["host_folder"]
        self.temp_files = [f["path"] for f in temp["files"]]
        self.temp_dir_used = temp["exists"]
        self.leftovers_removed = False
        self.errors = []
        self.fetched = []
        self.removed = []
        self.transfer_stats = {"fetches": 0, "fetch_round_trips": 0, "wire_bytes": 0, "dump_bytes": 0}

    # -- check mode ---------------------------------------------------------------

    def predict(self, candidates):
        for d in candidates:
            d["status"] = "would_fetch"
        # A dump held on the manifest's word alone (trust_manifest) has no copy here to verify, and one not
        # harvested (fetch_new=false) is not fetched: both stay.
        kept = ("held", "not_harvested", "being_written")
        would_remove = [d["remote_path"] for d in self.dumps if d["status"] not in kept or "local_path" in d] \
            if self.args["remove_after_fetch"] else []
        need = sum(d["size"] for d in candidates)
        if candidates:
            problem = _harvest.free_space_problem(_harvest.existing_ancestor(self.folder), need,
                                                  self.args["min_free_space"])
            if problem:
                self.action.warn(problem + " (sizes before compression)")
        limit = self.args["max_bytes_per_run"]
        if limit is not None and need > limit:
            self.action.warn("the dumps to fetch are %d bytes before compression, above max_bytes_per_run %d: "
                             "some may be left for a later run" % (need, limit))
        return self.result(changed=bool(candidates or would_remove or self.temp_files),
                           would_remove=would_remove)

    # -- the real thing -------------------------------------------------------------

    def transfer(self, candidates):
        for d in candidates:
            d["wire"] = {"path": d["remote_path"], "size": d["size"], "sha256": d["sha256"], "compressed": False}
        mode = self.args["compress"]
        if candidates and (mode == "always" or (mode == "auto" and any(
                d["size"] > _harvest.FETCH_CHUNK for d in candidates))):
            self.compress(candidates)
        ready = [d for d in candidates if "status" not in d]
        selected, deferred = _harvest.select(ready, self.args["max_bytes_per_run"])
        for d in deferred:
            d["status"] = "deferred"
        if deferred:
            self.errors.append(
                "max_bytes_per_run (%d bytes) reached: %d dump(s), %d bytes over the wire, were left on the host for "
                "a later run: %s" % (self.args["max_bytes_per_run"], len(deferred),
                                     sum(d["wire"]["size"] for d in deferred),
                                     ", ".join(d["remote_path"] for d in deferred)))
        try:
            if selected:
                self.fetch_all(selected)
        except AnsibleConnectionFailure as e:
            note = self.finish(remove=False) or "temporary files removed from the host"
            raise AnsibleConnectionFailure("%s; nothing was written to %s for the dump being fetched and no dump was "
                                           "removed from the host; %s" % (e, self.folder, note)) from e
        note = self.finish(remove=self.args["remove_after_fetch"])
        if note:
            self.action.warn(note)
        changed = bool(self.fetched or self.removed or self.leftovers_removed)
        result = self.result(changed=changed)
        if self.errors:
            del result["msg"]
            raise ModuleFailure("; ".join(self.errors), **result)
        return result

    def compress(self, candidates):
        temp_path = self.temp["path"]
        ops = [{"op": "temp_dir", "name": _harvest.TEMP_NAME, "create": True}]
        ops += [{"op": "file_compress", "path": d["remote_path"], "dest": "%s\\%s.dmp.gz" % (temp_path, d["sha256"])}
                for d in candidates]
        results = self.action._apply(ops)
        if not results[0].get("ok"):
            self.action.warn("cannot prepare %s (%s): the dumps move uncompressed" % (
                temp_path, describe_error(ops[0], results[0].get("error") or {})))
            return
        self.temp_dir_used = True
        for d, op, r in zip(candidates, ops[1:], results[1:]):
            self.temp_files.append(op["dest"])
            if not r.get("ok"):
                error = r.get("error") or {}
                if error.get("type") == "System.IO.FileNotFoundException":
                    d["status"] = "vanished"
                    self.action.warn("%s disappeared before it could be fetched (rotated by WER?)" % d["remote_path"])
                elif _harvest.is_locked(error):
                    d["status"] = "being_written"
                    self.action.warn(_harvest.BEING_WRITTEN % d["remote_path"])
                else:
                    d.update(status="failed", error=describe_error(op, error))
                    self.errors.append(d["error"])
                continue
            data = r["data"]
            if data["sha256"] != d["sha256"]:
                d["status"] = "changed"
                self.action.warn("%s changed while it was being fetched: left for the next run" % d["remote_path"])
            elif data["compressed_size"] < d["size"]:
                d["wire"] = {"path": op["dest"], "size": data["compressed_size"], "sha256": data["compressed_sha256"],
                             "compressed": True}

    def fetch_all(self, selected):
        try:
            _harvest.ensure_private_dir(self.folder)
            problem = _harvest.free_space_problem(self.folder, _harvest.space_needed(selected),
                                                  self.args["min_free_space"])
        except OSError as e:
            problem = "cannot prepare %s: %s" % (self.folder, e)
        if problem:
            for d in selected:
                d["status"] = "not_fetched"
            self.errors.append("%s; nothing was fetched and nothing was removed from the host" % problem)
            return
        for d in selected:
            final = os.path.join(self.folder, _harvest.local_name(d["name"], d["sha256"], self.manifest, self.folder))
            self.transfer_stats["fetches"] += 1
            self.transfer_stats["fetch_round_trips"] += _harvest.fetch_round_trips(d["wire"]["size"])
            try:
                _harvest.receive(functools.partial(fetch_file, self.action._connection, d["wire"]["path"]), d, final)
                self.record(d, final)
            except _harvest.VerifyError as e:
                d.update(status="failed", error="%s; the remote copy is kept" % e)
                self.errors.append(d["error"])
            except _harvest.DiskFull as e:
                d.update(status="failed", error="%s; nothing partial is left and the remote copy is kept" % e)
                self.errors.append(d["error"])
                for rest in selected[selected.index(d) + 1:]:
                    rest["status"] = "not_fetched"
                return
            except AnsibleConnectionFailure:
                d["status"] = "failed"
                raise
            except AnsibleError as e:
                d.update(status="failed", error="fetching %s failed: %s; the remote copy is kept" % (
                    d["wire"]["path"], describe(e)))
                self.errors.append(d["error"])

    def record(self, d, final):
        entry = {"file": os.path.basename(final), "host": self.args["host"], "image": d["image"],
                 "remote_path": d["remote_path"], "size": d["size"], "sha256": d["sha256"],
                 "remote_mtime": d["mtime"], "remote_ctime": d["ctime"], "profile": d["profile"], "pid": d["pid"],
                 "fetched_at": _harvest.iso(dt.datetime.now(dt.timezone.utc)), "event": d["event"],
                 "compressed": d["wire"]["compressed"], "wire_bytes": d["wire"]["size"], "removed_from_host": False}
        self.manifest.put(entry)
        try:
            self.manifest.save()
        except OSError as e:
            self.manifest.entries.remove(entry)
            os.unlink(final)
            raise _harvest.DiskFull("cannot write %s: %s" % (self.manifest.path, e)) from e
        d.update(status="fetched", local_path=final)
        self.fetched.append(d)
        self.transfer_stats["wire_bytes"] += d["wire"]["size"]
        self.transfer_stats["dump_bytes"] += d["size"]

    def removable(self):
        """Dumps whose controller copy is verified: fetched now, or held and hashed again now."""
        return _dump_listing.verified(self.dumps, {d["sha256"] for d in self.fetched}, self.action.warn)

    def finish(self, remove):
        """The cleanup batch: host temp files, the temp folder, and (``remove``) verified dumps.

        Returns a warning when temporary files stay on the host, else None."""
        temp_ops = [{"op": "file_remove", "path": p} for p in dict.fromkeys(self.temp_files)]
        if self.temp_dir_used:
            temp_ops.append({"op": "dir_remove", "path": self.temp["path"]})
        targets = self.removable() if remove else []
        ops = temp_ops + [{"op": "file_remove", "path": d["remote_path"]} for d in targets]
        if not ops:
            return None
        try:
            results = self.action._apply(ops)
        except AnsibleError as e:
            if targets:
                self.errors.append("the cleanup batch failed (%s): no dump was removed from the host" % e)
            return "temporary files may be left in %s (%s): the next run removes them" % (self.temp["path"], e)
        leftovers = {f["path"] for f in self.temp["files"]}
        left = []
        for op, r in zip(temp_ops, results):
            if not r.get("ok") or r["data"].get("reason") == "not_empty":
                left.append(op["path"])
            elif r["data"].get("removed") and (op["path"] in leftovers or op["op"] == "dir_remove"
                                               and self.temp["exists"]):
                self.leftovers_removed = True
        for d, op, r in zip(targets, ops[len(temp_ops):], results[len(temp_ops):]):
            if not r.get("ok"):
                self.errors.append("removing %s failed: %s" % (d["remote_path"], describe_error(op, r["error"])))
                continue
            _dump_listing.mark_removed(d, self.manifest)
            self.removed.append(d["remote_path"])
        if self.removed:
            self.manifest.save()
        if left:
            return "temporary files could not be removed from the host: %s; the next run removes them" % (
                ", ".join(left))
        return None

    # -- result -------------------------------------------------------------------------

    def result(self, changed, would_remove=None):
        dumps = []
        for d in self.dumps:
            out = _dump_listing.public(d)
            if "wire" in d and d["status"] == "fetched":
                out.update(compressed=d["wire"]["compressed"], wire_bytes=d["wire"]["size"])
            dumps.append(out)
        batches = len(self.action._batches)
        result = {
            "changed": changed,
            "dest": self.folder,
            "manifest": self.manifest.path,
            "dumps": dumps,
            "fetched": [d["local_path"] for d in self.fetched],
            "removed": self.removed,
            "searched": [{"path": f["path"], "exists": f["exists"], "profile": f["profile"]}
                         for f in self.found["folders"]],
            "transfer": dict(self.transfer_stats, batches=batches),
        }
        if would_remove is not None:
            result["would_remove"] = would_remove
        counts = {}
        for d in self.dumps:
            counts[d["status"]] = counts.get(d["status"], 0) + 1
        result["msg"] = "%d dump(s) found: %s" % (len(self.dumps), ", ".join(
            "%d %s" % (n, s) for s, n in sorted(counts.items())) or "none")
        return result
