"""The WOW64 file system redirector, for a lab host whose agent runs as a 32-bit process.

A host's state says so with ``os.agent_32bit`` (the psrp configuration
Microsoft.PowerShell32, or a 32-bit powershell.exe, on 64-bit Windows).
Microsoft, "File System Redirector"
(https://learn.microsoft.com/en-us/windows/win32/winprog64/file-system-redirector):
a 32-bit process that opens %windir%\\System32, %windir%\\lastgood\\system32 or
%windir%\\regedit.exe gets %windir%\\SysWOW64, %windir%\\lastgood\\SysWOW64 or
%windir%\\SysWOW64\\regedit.exe, except below the exempt subdirectories listed;
%windir%\\Sysnative names the real System32 for it. Nothing is redirected for a
64-bit process or on 32-bit Windows.
"""

from __future__ import annotations

# Below System32, not redirected (Windows 7 / 2008 R2 and later; driverstore is redirected before).
EXEMPT = ("catroot", "catroot2", "driverstore", "drivers\\etc", "logfiles", "spool")


def wow64_agent(state):
    return bool(state["os"].get("is_64bit")) and bool(state["os"].get("agent_32bit"))


def redirect(path, windir):
    """What a 32-bit process opening ``path`` (absolute, normalised) opens on 64-bit Windows."""
    folded, root = path.casefold(), windir.rstrip("\\").casefold()
    if folded == root + "\\regedit.exe":
        return windir.rstrip("\\") + "\\SysWOW64\\regedit.exe"
    for folder, target in (("\\system32", "\\SysWOW64"), ("\\lastgood\\system32", "\\lastgood\\SysWOW64"),
                           ("\\sysnative", "\\System32")):
        base = root + folder
        if folded == base or folded.startswith(base + "\\"):
            rest = path[len(base):]
            if folder == "\\system32" and any(rest.casefold() == "\\" + e or rest.casefold().startswith("\\" + e + "\\")
                                              for e in EXEMPT):
                return path
            return windir.rstrip("\\") + target + rest
    return path
