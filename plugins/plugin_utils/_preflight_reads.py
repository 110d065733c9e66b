# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The preflight's one read batch: the named facts and the registry keys its findings are drawn from."""

from __future__ import annotations

from . import _gflags, _wer
from ._accounts import host_name
from ._preflight_acl import LOCAL_SERVICE, NETWORK_SERVICE, SYSTEM
from ._registry import fold, read_op

# The accounts always probed, by SID (their names are localised): services of
# the image that are not running use one of them.
BUILTIN_ACCOUNTS = (SYSTEM, LOCAL_SERVICE, NETWORK_SERVICE)
# User hives where LocalDumps is sometimes written by mistake: WER reads HKLM only.
USER_HIVES = ("HKCU", "HKU\\.DEFAULT", "HKU\\" + SYSTEM, "HKU\\" + LOCAL_SERVICE, "HKU\\" + NETWORK_SERVICE)
USER_LOCAL_DUMPS = "Software\\Microsoft\\Windows\\Windows Error Reporting\\LocalDumps"
POLICY_LOCAL_DUMPS = _wer.WER_POLICY_KEY + "\\LocalDumps"


def batch(exe, paths, account, planned_folder, restart_service=None):
    """The one read batch: ({name: op} for the named facts, [reg_read ops])."""
    image_key = _wer.image_key(exe)
    if planned_folder is not None:
        value = []
    else:
        value = [{"key": image_key, "view": 64, "name": "DumpFolder"},
                 {"key": _wer.LOCAL_DUMPS, "view": 64, "name": "DumpFolder"}]
    accounts = []
    for name in ([host_name(account)] if account else []) + list(BUILTIN_ACCOUNTS):
        if fold(name) not in map(fold, accounts):
            accounts.append(name)
    named = {
        "os": {"op": "os_facts"},
        "updates": {"op": "hotfix_latest"},
        "files": {"op": "image_files", "name": exe, "paths": list(paths)},
        "processes": {"op": "process_list", "names": [exe]},
        "memory": {"op": "process_memory", "names": [exe]},
        "wersvc": {"op": "service_state", "name": "WerSvc"},
        "folder": {"op": "folder_probe", "value": value,
                   "default": planned_folder if planned_folder is not None else _wer.DEFAULTS["DumpFolder"],
                   "accounts": accounts, "process_names": [exe]},
        "defender": {"op": "defender_state"},
        "av": {"op": "av_products"},
    }
    if restart_service is not None:
        named["restart_service"] = {"op": "service_state", "name": restart_service}
    keys = [(_wer.WER_KEY, 64), (_wer.WER_POLICY_KEY, 64), (POLICY_LOCAL_DUMPS, 64),
            (_wer.LOCAL_DUMPS, 64), (_wer.LOCAL_DUMPS, 32), (image_key, 64), (image_key, 32),
            (_wer.AEDEBUG_KEY, 64), (_wer.AEDEBUG_KEY, 32), (_gflags.image_key(exe), 64)]
    for hive in USER_HIVES:
        keys += [(hive + "\\" + USER_LOCAL_DUMPS, 64), (hive + "\\" + USER_LOCAL_DUMPS + "\\" + exe, 64)]
    reads = [read_op(key, view) for key, view in keys]
    # The IFEO key's last write time tells whether running instances have its flags (see last_write).
    reads[keys.index((_gflags.image_key(exe), 64))]["last_write"] = True
    return named, reads


def last_write(reads, datas):
    """The IFEO key's last write time from the read batch's results."""
    return next((d.get("last_write") for op, d in zip(reads, datas) if op.get("last_write")), None)
