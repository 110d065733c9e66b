"""Which registry keys the WOW64 registry redirector redirects, and which it shares.

Source: Microsoft, "Registry Keys Affected by WOW64"
(https://learn.microsoft.com/en-us/windows/win32/winprog64/shared-registry-keys),
column "Windows Server 2008 R2, Windows 7, and Newer", every row. Subkeys
inherit the behaviour of their nearest listed ancestor; a key with no listed
ancestor is shared. A redirected key of the 32-bit view lives below
``SOFTWARE\\Wow6432Node``, except the redirected subkeys of the shared
``Classes`` key, which live below ``Classes\\Wow6432Node`` (the page's
"WOW64 Symbolic Links" link ``SOFTWARE\\Wow6432Node\\Classes`` there).
"""

from __future__ import annotations

NODE = "Wow6432Node"
SHARED, REDIRECTED = True, False

# HKEY_LOCAL_MACHINE, below the hive root: (path, shared).
_HKLM = (
    ("SOFTWARE", REDIRECTED),
    ("SOFTWARE\\Classes", SHARED),
    ("SOFTWARE\\Classes\\Appid", SHARED),
    ("SOFTWARE\\Classes\\CLSID", REDIRECTED),
    ("SOFTWARE\\Classes\\DirectShow", REDIRECTED),
    ("SOFTWARE\\Classes\\HCP", SHARED),
    ("SOFTWARE\\Classes\\Interface", REDIRECTED),
    ("SOFTWARE\\Classes\\Media Type", REDIRECTED),
    ("SOFTWARE\\Classes\\MediaFoundation", REDIRECTED),
    ("SOFTWARE\\Clients", SHARED),
    ("SOFTWARE\\Microsoft\\COM3", SHARED),
    ("SOFTWARE\\Microsoft\\Cryptography\\Calais\\Current", SHARED),
    ("SOFTWARE\\Microsoft\\Cryptography\\Calais\\Readers", SHARED),
    ("SOFTWARE\\Microsoft\\Cryptography\\Services", SHARED),
    ("SOFTWARE\\Microsoft\\CTF\\SystemShared", SHARED),
    ("SOFTWARE\\Microsoft\\CTF\\TIP", SHARED),
    ("SOFTWARE\\Microsoft\\DFS", SHARED),
    ("SOFTWARE\\Microsoft\\Driver Signing", SHARED),
    ("SOFTWARE\\Microsoft\\EnterpriseCertificates", SHARED),
    ("SOFTWARE\\Microsoft\\EventSystem", SHARED),
    ("SOFTWARE\\Microsoft\\MSMQ", SHARED),
    ("SOFTWARE\\Microsoft\\Non-Driver Signing", SHARED),
    ("SOFTWARE\\Microsoft\\Notepad\\DefaultFonts", SHARED),
    ("SOFTWARE\\Microsoft\\OLE", SHARED),
    ("SOFTWARE\\Microsoft\\RAS", SHARED),
    ("SOFTWARE\\Microsoft\\RPC", SHARED),
    # The page prints this row with the prefix doubled; kept as printed.
    ("SOFTWARE\\Microsoft\\SOFTWARE\\Microsoft\\Shared Tools\\MSInfo", SHARED),
    ("SOFTWARE\\Microsoft\\SystemCertificates", SHARED),
    ("SOFTWARE\\Microsoft\\TermServLicensing", SHARED),
    ("SOFTWARE\\Microsoft\\TransactionServer", SHARED),
    ("SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\App Paths", SHARED),
    ("SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Control Panel\\Cursors\\Schemes", SHARED),
    ("SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Explorer\\AutoplayHandlers", SHARED),
    ("SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Explorer\\DriveIcons", SHARED),
    ("SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Explorer\\KindMap", SHARED),
    ("SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Group Policy", SHARED),
    ("SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies", SHARED),
    ("SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\PreviewHandlers", SHARED),
    ("SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Setup", SHARED),
    ("SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Telephony\\Locations", SHARED),
    ("SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Console", SHARED),
    ("SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\FontDpi", SHARED),
    ("SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\FontLink", SHARED),
    ("SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\FontMapper", SHARED),
    ("SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Fonts", SHARED),
    ("SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\FontSubstitutes", SHARED),
    ("SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Gre_Initialize", SHARED),
    ("SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Image File Execution Options", SHARED),
    ("SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Language Pack", SHARED),
    ("SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\NetworkCards", SHARED),
    ("SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Perflib", SHARED),
    ("SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Ports", SHARED),
    ("SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Print", SHARED),
    ("SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\ProfileList", SHARED),
    ("SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Time Zones", SHARED),
    ("SOFTWARE\\Policies", SHARED),
    ("SOFTWARE\\RegisteredApplications", SHARED),
)

# HKEY_CURRENT_USER (a user's HKU\<sid>), below the user's root: SOFTWARE is shared, and
# so is SOFTWARE\Classes, but for these subkeys.
_USER = (
    ("SOFTWARE\\Classes\\CLSID", REDIRECTED),
    ("SOFTWARE\\Classes\\DirectShow", REDIRECTED),
    ("SOFTWARE\\Classes\\Interface", REDIRECTED),
    ("SOFTWARE\\Classes\\Media Type", REDIRECTED),
    ("SOFTWARE\\Classes\\MediaFoundation", REDIRECTED),
)


def _split(table):
    return tuple((tuple(p.casefold().split("\\")), shared) for p, shared in table)


_TABLES = {"HKLM": _split(_HKLM), "HKU": _split(_USER)}
# Every listed key, as logical paths with the hive: the names a 32-bit view
# can show under a parent whose physical copy lacks them.
LISTED = tuple("HKLM\\" + p for p, _ in _HKLM)


def redirect(parts):
    """The physical path of the 32-bit view's ``parts`` ([hive, ...], HKCU and HKCR already resolved)."""
    hive, below = parts[0], parts[1:]
    root = below[1:] if hive == "HKU" else below  # HKU\<sid>\... : the table starts below the user's root
    folded = [p.casefold() for p in root]
    if NODE.casefold() in folded:
        return list(parts)  # already a physical Wow6432Node path
    best = None
    for path, shared in _TABLES.get(hive, ()):
        if tuple(folded[:len(path)]) == path and (best is None or len(path) > len(best[0])):
            best = (path, shared)
    if best is None or best[1]:
        return list(parts)
    # Below SOFTWARE\Classes the node is Classes\Wow6432Node, elsewhere SOFTWARE\Wow6432Node.
    depth = 2 if best[0][:2] == ("software", "classes") else 1
    at = len(parts) - len(root) + depth
    return list(parts[:at]) + [NODE] + list(parts[at:])
