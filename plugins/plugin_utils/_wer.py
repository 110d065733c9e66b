# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""WER LocalDumps facts: registry locations, value types, defaults, dump folders."""

from __future__ import annotations

import re

from ._accounts import well_known_sid

SOFTWARE = "HKLM\\SOFTWARE"
WER_KEY = SOFTWARE + "\\Microsoft\\Windows\\Windows Error Reporting"
WER_POLICY_KEY = SOFTWARE + "\\Policies\\Microsoft\\Windows\\Windows Error Reporting"
LOCAL_DUMPS = WER_KEY + "\\LocalDumps"
AEDEBUG_KEY = SOFTWARE + "\\Microsoft\\Windows NT\\CurrentVersion\\AeDebug"

VALUE_TYPES = {
    "DumpFolder": "REG_EXPAND_SZ",
    "DumpCount": "REG_DWORD",
    "DumpType": "REG_DWORD",
    "CustomDumpFlags": "REG_DWORD",
}
DEFAULTS = {
    "DumpFolder": "%LOCALAPPDATA%\\CrashDumps",
    "DumpCount": 10,
    "DumpType": 1,
    "CustomDumpFlags": 0x121,
}
DUMP_TYPES = {"custom": 0, "mini": 1, "full": 2}
DUMP_TYPE_NAMES = {v: k for k, v in DUMP_TYPES.items()}

MINIDUMP_TYPE = {
    "Normal": 0x0, "WithDataSegs": 0x1, "WithFullMemory": 0x2, "WithHandleData": 0x4,
    "FilterMemory": 0x8, "ScanMemory": 0x10, "WithUnloadedModules": 0x20,
    "WithIndirectlyReferencedMemory": 0x40, "FilterModulePaths": 0x80,
    "WithProcessThreadData": 0x100, "WithPrivateReadWriteMemory": 0x200,
    "WithoutOptionalData": 0x400, "WithFullMemoryInfo": 0x800, "WithThreadInfo": 0x1000,
    "WithCodeSegs": 0x2000, "WithoutAuxiliaryState": 0x4000, "WithFullAuxiliaryState": 0x8000,
    "WithPrivateWriteCopyMemory": 0x10000, "IgnoreInaccessibleMemory": 0x20000,
    "WithTokenInformation": 0x40000, "WithModuleHeaders": 0x80000, "FilterTriage": 0x100000,
    "WithAvxXStateContext": 0x200000, "WithIptTrace": 0x400000,
    "ScanInaccessiblePartialPages": 0x800000, "FilterWriteCombinedMemory": 0x1000000,
}
MINIDUMP_TYPE_MASK = sum(MINIDUMP_TYPE.values())

# Accounts whose LOCALAPPDATA is not under C:\Users; WerFault runs as the
# crashing process's account, so %LOCALAPPDATA% resolves to these.
SERVICE_PROFILES = {
    "S-1-5-18": "%SystemRoot%\\System32\\config\\systemprofile",
    "S-1-5-19": "%SystemRoot%\\ServiceProfiles\\LocalService",
    "S-1-5-20": "%SystemRoot%\\ServiceProfiles\\NetworkService",
}
# USERNAME as those accounts see it (SYSTEM sees the computer account).
_SERVICE_USERNAMES = {"S-1-5-18": "%COMPUTERNAME%$", "S-1-5-19": "LOCAL SERVICE", "S-1-5-20": "NETWORK SERVICE"}
# Variables that differ per account: a folder using them is not one folder.
PER_ACCOUNT_VARIABLES = frozenset(["localappdata", "appdata", "userprofile", "temp", "tmp", "homepath",
                                   "username", "userdomain", "onedrive"])

_VAR = re.compile(r"%([^%]+)%")


def image_key(exe):
    return LOCAL_DUMPS if exe is None else LOCAL_DUMPS + "\\" + exe


def variables(path):
    return [m.group(1) for m in _VAR.finditer(path)]


def profile_for(account, system_drive="C:"):
    sid = well_known_sid(account)
    if sid:
        return SERVICE_PROFILES[sid]
    return "%s\\Users\\%s" % (system_drive, account.rsplit("\\", 1)[-1])


def expand_for_account(path, account, env):
    """Expand ``path`` as WerFault would for ``account`` (a name, ``.\\name``, or a SID
    of a built-in service account); unknown variables stay."""
    profile = _expand(profile_for(account, env.get("SystemDrive", "C:")), env, {})
    sid = well_known_sid(account)
    personal = {
        "userprofile": profile,
        "localappdata": profile + "\\AppData\\Local",
        "appdata": profile + "\\AppData\\Roaming",
        "temp": profile + "\\AppData\\Local\\Temp",
        "tmp": profile + "\\AppData\\Local\\Temp",
        "username": _expand(_SERVICE_USERNAMES[sid], env, {}) if sid else account.rsplit("\\", 1)[-1],
    }
    return _expand(path, env, personal)


def _expand(path, env, personal):
    folded_env = {k.casefold(): v for k, v in (env or {}).items() if isinstance(v, str)}

    def repl(m):
        name = m.group(1).casefold()
        return personal.get(name) or folded_env.get(name) or m.group(0)
    return _VAR.sub(repl, path)


def effective(global_state, image_state):
    """Per-image over global over default, as WER applies them.

    The arguments are the KeyStates of the LocalDumps key and of the image's
    subkey (None or not existing: no values). Returns
    {name: {"value", "source"}} with source ``image``, ``global`` or ``default``.
    """
    result = {}
    for name, default in DEFAULTS.items():
        for source, state in (("image", image_state), ("global", global_state)):
            value = state.value(name) if state is not None and state.exists else None
            if value is not None and _valid(name, value):
                result[name] = {"value": value["data"], "source": source}
                break
        else:
            result[name] = {"value": default, "source": "default"}
    return result


def _valid(name, value):
    # WER ignores a value of the wrong type; treat it as absent. Data of odd size (raw) is treated alike:
    # what WER makes of it is not documented.
    if value.get("raw"):
        return False
    if name == "DumpFolder":
        return value["type"] in ("REG_EXPAND_SZ", "REG_SZ")
    return value["type"] == VALUE_TYPES[name]
