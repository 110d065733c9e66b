"""The agent protocol executed against a lab host (docs/docsite/rst/agent_protocol.rst).

``execute_batch(host, batch)`` returns the reply the real agent
(plugins/plugin_utils/agent.ps1) would print: one result per operation, in
order; after a failure with ``stop_on_error`` the rest report
``{"ok": false, "skipped": true}``. A batch that is not a protocol batch at
all raises BatchError (the agent then prints ``{"version": 1, "error": ...}``
and exits 1). Where the agent leans on a Windows API, the lab answers as that
API would: ``[IO.File]::Exists`` is false for a malformed path, so path_stat,
file_list, file_remove and dir_remove see nothing there rather than failing.

The handlers live by concept: ops_registry (reg_*), ops_files (paths, folders,
files, temp_dir, file_compress), ops_host (os_facts, services, processes,
event_query) and ops_preflight (image_files, process_memory, folder_probe,
antivirus, hotfixes); op_args checks an operation's fields.
"""

from __future__ import annotations

from . import errors, ops_files, ops_host, ops_preflight, ops_registry, redirector
from .op_args import _Args

PROTOCOL_VERSION = 1


# The agent refuses these in a 32-bit process on 64-bit Windows: the file system redirector would show it
# SysWOW64 for System32 (lab/crashdump_lab/redirector.py).
FILE_SYSTEM_OPS = ("path_stat", "dir_ensure", "dir_remove", "file_list", "file_remove", "file_find", "temp_dir",
                   "file_compress", "image_files", "folder_probe")
WOW64_REFUSAL = ("the agent runs in a 32-bit PowerShell on 64-bit Windows (such as the psrp configuration "
                 "Microsoft.PowerShell32): the file system redirector would show it %WINDIR%\\SysWOW64 for "
                 "%WINDIR%\\System32 and the SYSTEM profile below it, so file operations are refused; connect to the "
                 "64-bit configuration (Microsoft.PowerShell, the default)")


class BatchError(ValueError):
    pass


def execute_batch(host, batch):
    if not isinstance(batch, dict):
        raise BatchError("malformed batch: not a JSON object")
    if str(batch.get("version")) != str(PROTOCOL_VERSION):
        raise BatchError("unsupported batch version")
    ops = batch.get("ops")
    stop_on_error = batch.get("stop_on_error", True)
    if not isinstance(ops, list) or not isinstance(stop_on_error, bool):
        raise BatchError("malformed batch: 'ops' must be a list and 'stop_on_error' a boolean")
    results = []
    stopped = False
    for op in ops:
        if stopped:
            results.append({"ok": False, "skipped": True})
            continue
        op = op if isinstance(op, dict) else {}
        name = op.get("op") if isinstance(op.get("op"), str) else ""
        try:
            handler = _OPS.get(name)
            if handler is None:
                raise errors.unknown_op(name)
            if name in FILE_SYSTEM_OPS and redirector.wow64_agent(host.state):
                raise errors.not_supported(WOW64_REFUSAL)
            results.append({"ok": True, "data": handler(host, _Args(op))})
        except errors.WinError as e:
            results.append({"ok": False, "error": {"op": name, "path": _error_path(op, name), "message": e.message,
                                                   "type": e.type_name, "hresult": e.hresult}})
            stopped = stop_on_error
    return {"version": PROTOCOL_VERSION, "results": results}


def _error_path(op, name):
    """What an error names: the key (plus the value for value operations), else path, name or log."""
    key = op.get("key")
    if key is not None:
        text = str(key)
        if name in ("reg_set", "reg_delete_value") and op.get("name") is not None:
            text = text.rstrip("\\") + "\\" + (str(op["name"]) or "(default)")
        return text
    return next((op[f] for f in ("path", "name", "log") if isinstance(op.get(f), str)), None)


_OPS = {
    "reg_read": ops_registry._reg_read, "reg_set": ops_registry._reg_set,
    "reg_delete_value": ops_registry._reg_delete_value,
    "reg_create_key": ops_registry._reg_create_key, "reg_delete_key": ops_registry._reg_delete_key,
    "path_stat": ops_files._path_stat, "dir_ensure": ops_files._dir_ensure, "dir_remove": ops_files._dir_remove,
    "file_list": ops_files._file_list, "file_remove": ops_files._file_remove,
    "os_facts": ops_host._os_facts, "service_state": ops_host._service_state,
    "service_restart": ops_host._service_restart, "process_list": ops_host._process_list,
    "event_query": ops_host._event_query,
    "file_find": ops_files._file_find, "temp_dir": ops_files._temp_dir, "file_compress": ops_files._file_compress,
    "image_files": ops_preflight._image_files, "process_memory": ops_preflight._process_memory,
    "folder_probe": ops_preflight._folder_probe, "defender_state": ops_preflight._defender_state,
    "av_products": ops_preflight._av_products, "hotfix_latest": ops_preflight._hotfix_latest,
}
