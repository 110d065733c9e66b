"""A clean lab host: what a fresh Windows install looks like to the collection.

Deterministic for a given host name and architecture, so two resets compare
equal. Unless told otherwise the host name decides: ``x86`` or ``arm64`` in
it gives that architecture (else AMD64), ``win11`` or ``win10`` a client OS
(else Windows Server 2022)."""

from __future__ import annotations

import hashlib

from . import processes, sddl

ARCHES = ("AMD64", "x86", "ARM64")
INSTALL_TIME = "2026-01-05T09:00:00.000Z"
BOOT_TIME = "2026-11-20T06:00:00.000Z"
TRUSTED_INSTALLER = "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464"

PROFILES = {
    "server2022": {"os_name": "Microsoft Windows Server 2022 Datacenter", "build": 20348, "product_type": 3,
                   "ps_version": "5.1.20348.2849", "product": "Windows Server 2022 Datacenter"},
    # Windows 11 still says "Windows 10" in the registry's ProductName; only the build tells them apart.
    "win11": {"os_name": "Microsoft Windows 11 Enterprise", "build": 22631, "product_type": 1,
              "ps_version": "5.1.22621.4391", "product": "Windows 10 Enterprise"},
    "win10": {"os_name": "Microsoft Windows 10 Enterprise", "build": 19045, "product_type": 1,
              "ps_version": "5.1.19041.5129", "product": "Windows 10 Enterprise"},
}

WER_KEY = "HKLM\\SOFTWARE\\Microsoft\\Windows\\Windows Error Reporting"
NT_CURRENT = "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion"
IFEO_KEY = NT_CURRENT + "\\Image File Execution Options"
AEDEBUG_KEY = NT_CURRENT + "\\AeDebug"

# Folder ACLs as a fresh install has them (integrity labels left out).
_ROOT_SDDL = ("O:%sG:%sD:PAI(A;OICI;FA;;;BA)(A;OICI;FA;;;SY)(A;OICI;0x1200a9;;;BU)(A;OICIIO;SDGXGWGR;;;AU)"
              "(A;;LC;;;AU)" % (TRUSTED_INSTALLER, TRUSTED_INSTALLER))
_SYSTEM_TREE_SDDL = ("O:%sG:%sD:PAI(A;OICIIO;GA;;;CO)(A;OICIIO;GA;;;SY)(A;;0x1301bf;;;SY)(A;OICIIO;GA;;;BA)"
                     "(A;;0x1301bf;;;BA)(A;OICIIO;GXGR;;;BU)(A;;0x1200a9;;;BU)(A;CIIO;GA;;;%s)(A;;FA;;;%s)"
                     % (TRUSTED_INSTALLER, TRUSTED_INSTALLER, TRUSTED_INSTALLER, TRUSTED_INSTALLER))
_USERS_SDDL = ("O:SYG:SYD:PAI(A;OICIIO;GA;;;SY)(A;;FA;;;SY)(A;OICIIO;GA;;;BA)(A;;FA;;;BA)(A;OICIIO;GXGR;;;BU)"
               "(A;;0x1200a9;;;BU)(A;OICIIO;GXGR;;;WD)(A;;0x1200a9;;;WD)")
_PROGRAMDATA_SDDL = ("O:SYG:SYD:PAI(A;OICIIO;GA;;;CO)(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU)"
                     "(A;CI;0x100116;;;BU)")
_PRIVATE_SDDL = "O:SYG:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"


def _private_for(sid):
    return "O:%sG:%sD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;%s)" % (sid, sid, sid)


def arch_for_host(host):
    lowered = host.lower()
    return "x86" if "x86" in lowered else "ARM64" if "arm64" in lowered else "AMD64"


def profile_for_host(host):
    lowered = host.lower()
    return "win11" if "win11" in lowered else "win10" if "win10" in lowered else "server2022"


def _domain_sid(host):
    digest = hashlib.sha256(host.encode("utf-8")).digest()
    return "S-1-5-21-%d-%d-%d" % tuple(int.from_bytes(digest[i:i + 4], "little") % 4000000000 for i in (0, 4, 8))


def default_state(host, arch=None, profile=None):
    """A clean host; ``arch`` and ``profile`` default to what the host name says."""
    arch = arch or arch_for_host(host)
    if arch not in ARCHES:
        raise ValueError("arch must be one of %s" % ", ".join(ARCHES))
    os_profile = PROFILES[profile or profile_for_host(host)]
    is_64bit = arch != "x86"
    hostname = host.upper().replace(".", "-")[:15]
    domain = _domain_sid(host)
    accounts = {
        "Administrator": {"sid": domain + "-500", "kind": "user", "profile": "C:\\Users\\Administrator",
                          "admin": True},
        "alice": {"sid": domain + "-1001", "kind": "user", "profile": "C:\\Users\\alice"},
        "SYSTEM": {"sid": "S-1-5-18", "kind": "system",
                   "profile": "C:\\Windows\\System32\\config\\systemprofile"},
        "LocalService": {"sid": "S-1-5-19", "kind": "service",
                         "profile": "C:\\Windows\\ServiceProfiles\\LocalService"},
        "NetworkService": {"sid": "S-1-5-20", "kind": "service",
                           "profile": "C:\\Windows\\ServiceProfiles\\NetworkService"},
    }
    env = {"SystemRoot": "C:\\Windows", "windir": "C:\\Windows", "ProgramData": "C:\\ProgramData",
           "ProgramFiles": "C:\\Program Files", "SystemDrive": "C:", "ALLUSERSPROFILE": "C:\\ProgramData",
           "PUBLIC": "C:\\Users\\Public"}
    if is_64bit:
        env.update({"ProgramW6432": "C:\\Program Files", "ProgramFiles(x86)": "C:\\Program Files (x86)"})
    return {
        "host": host,
        "os": {"hostname": hostname, "os_name": os_profile["os_name"],
               "version": "10.0.%d.0" % os_profile["build"], "build": os_profile["build"], "arch": arch,
               "is_64bit": is_64bit, "ps_version": os_profile["ps_version"], "language_mode": "FullLanguage",
               "language": "en-US",
               "system_root": "C:\\Windows", "product_type": os_profile["product_type"]},
        "env": env,
        "quirks": {"dumpcount_zero": "no_dump", "wer_disabled_blocks_localdumps": False},
        "registry": _registry(os_profile, is_64bit, accounts),
        "files": _files(is_64bit, accounts),
        "accounts": accounts,
        "services": {
            "WerSvc": {"display_name": "Windows Error Reporting Service", "status": "Stopped",
                       "start_mode": "Manual", "account": "LocalSystem", "pid": 0},
            # Groups as in their ImagePath (svchost.exe -k GROUP). Each runs alone in its process, as on a
            # host with more than 3.5 GB of memory since Windows 10 1703 ("Changes to Service Host
            # grouping in Windows 10", learn.microsoft.com); seeds declare shared processes.
            "EventLog": {"display_name": "Windows Event Log", "status": "Running", "start_mode": "Auto",
                         "account": "NT AUTHORITY\\LocalService", "pid": 1372,
                         "group": "LocalServiceNetworkRestricted"},
            "Schedule": {"display_name": "Task Scheduler", "status": "Running", "start_mode": "Auto",
                         "account": "LocalSystem", "pid": 1544, "group": "netsvcs"},
            # "The Event Collector service also uses the local Event Log service" (learn.microsoft.com,
            # Windows Event Collector Service): a dependent of EventLog, stopped until subscriptions exist.
            "Wecsvc": {"display_name": "Windows Event Collector", "status": "Stopped", "start_mode": "Manual",
                       "account": "NT AUTHORITY\\NetworkService", "pid": 0, "group": "NetworkService",
                       "depends_on": ["EventLog"]},
        },
        "processes": [
            _process("lsass.exe", 708, "SYSTEM"),
            _process("services.exe", 688, "SYSTEM"),
            _process("svchost.exe", 1372, "LocalService", ["EventLog"]),
            _process("svchost.exe", 1544, "SYSTEM", ["Schedule"]),
            _process("explorer.exe", 4412, "alice", path="C:\\Windows\\explorer.exe"),
            # Protected processes (processes.PROTECTED): Win32_Process shows no path or owner to an administrator.
            dict(_process("csrss.exe", 560, "SYSTEM"), protected=True),
            dict(_process("MsMpEng.exe", 3016, "SYSTEM",
                          path="C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.24090.11-0\\MsMpEng.exe"),
                 protected=True),
        ],
        "events": [
            {"log": "Application", "provider": "Windows Error Reporting", "id": 1001, "level": 4,
             "time": "2026-11-20T06:05:12.000Z", "record_id": 4101, "machine": hostname,
             "properties": ["", "0", "StoreAgentScanForUpdatesFailure0", "Not available", "0", "", "80070005", "",
                            "", "", "", "", "", "", "", "", "", "", "0", "5c2a0d0e-3f5e-4b53-9b63-0a6d1f0a8c11",
                            "268435456", "", "0"]},
            {"log": "Application", "provider": "Microsoft-Windows-Security-SPP", "id": 16384, "level": 4,
             "time": "2026-11-20T06:06:40.000Z", "record_id": 4102, "machine": hostname,
             "properties": ["2126-10-27T06:06:40Z", "RulesEngine"]},
        ],
        "counters": {"round_trips": 0, "bytes_sent": 0, "bytes_received": 0,
                     "fetch_round_trips": 0, "fetch_bytes": 0},
        "faults": [],
        **_preflight_facts(os_profile, is_64bit),
        "clock": BOOT_TIME,
    }


GIB = 1024 ** 3


# What preflight reads besides the registry and the files. ``executables``:
# installed programs with their version resources (their content is not
# modelled; a file under ``files`` has no version resource); ``volumes``: free
# and total bytes by drive; ``defender``: Get-MpPreference and
# Get-MpComputerStatus; ``av_products``: root\SecurityCenter2, which only
# client editions have (None on servers); ``hotfixes``: Win32_QuickFixEngineering.
def _preflight_facts(os_profile, is_64bit):
    version = "10.0.%d.1" % os_profile["build"]
    folders = ["C:\\Windows\\System32"] + (["C:\\Windows\\SysWOW64"] if is_64bit else [])
    paths = [folder + "\\" + image for folder in folders for image in sorted(processes.SYSTEM_IMAGES)]
    windows = {"version": version, "product_version": version, "product_name": "Microsoft Windows Operating System",
               "company": "Microsoft Corporation", "size": 98304, "mtime": INSTALL_TIME}
    client = os_profile["product_type"] == 1
    return {
        "executables": {path: dict(windows) for path in paths + ["C:\\Windows\\explorer.exe"]},
        "volumes": {"C:": {"free_bytes": 48 * GIB, "total_bytes": 127 * GIB, "format": "NTFS"}},
        "defender": {"available": True, "real_time_protection": True, "am_running_mode": "Normal",
                     "signature_age_days": 0, "exclusion_paths": [], "exclusion_processes": [],
                     "exclusion_extensions": []},
        "av_products": [{"name": "Windows Defender", "product_state": 0x61100, "path": "windowsdefender://",
                         "timestamp": "Fri, 20 Nov 2026 06:00:00 GMT"}] if client else None,
        "hotfixes": [{"id": "KB5046616", "description": "Security Update", "installed_on": "2026-11-12"},
                     {"id": "KB5044023", "description": "Update", "installed_on": "2026-10-08"}],
    }


def _process(name, pid, account, services=(), path=None):
    return {"name": name, "pid": pid, "start_time": BOOT_TIME, "account": account,
            "path": path or "C:\\Windows\\System32\\" + name, "services": list(services)}


def _registry(os_profile, is_64bit, accounts):
    keys = {}

    def add(path, values=None):
        parts = path.split("\\")
        for i in range(1, len(parts)):
            keys.setdefault("\\".join(parts[:i]), {"values": {}})
        keys.setdefault(path, {"values": {}})["values"].update(values or {})

    def sz(text):
        return {"type": "REG_SZ", "data": text}

    def dword(number):
        return {"type": "REG_DWORD", "data": number}

    admin_sid = accounts["Administrator"]["sid"]
    add("HKLM\\SOFTWARE\\Classes")
    add("HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows")
    add("HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion", {"ProgramFilesDir": sz("C:\\Program Files")})
    add(WER_KEY, {"ErrorPort": sz("\\WindowsErrorReportingServicePort"), "ServiceTimeout": dword(60000)})
    add(NT_CURRENT, {"ProductName": sz(os_profile["product"]), "CurrentBuild": sz(str(os_profile["build"])),
                     "CurrentMajorVersionNumber": dword(10), "CurrentMinorVersionNumber": dword(0)})
    add(IFEO_KEY)
    add(AEDEBUG_KEY, {"Auto": sz("0"), "UserDebuggerHotKey": dword(0)})
    expand_sz = {"type": "REG_EXPAND_SZ"}
    add(NT_CURRENT + "\\ProfileList", {name: dict(expand_sz, data=data) for name, data in (
        ("Default", "%SystemDrive%\\Users\\Default"), ("ProfilesDirectory", "%SystemDrive%\\Users"),
        ("ProgramData", "%SystemDrive%\\ProgramData"), ("Public", "%SystemDrive%\\Users\\Public"))})
    # One subkey per account with a profile, as Windows keeps them; the
    # built-in accounts' paths are written with %systemroot%.
    for account in accounts.values():
        image_path = account["profile"]
        if image_path.casefold().startswith("c:\\windows\\"):
            image_path = "%systemroot%" + image_path[len("C:\\Windows"):]
        add(NT_CURRENT + "\\ProfileList\\" + account["sid"], {
            "ProfileImagePath": dict(expand_sz, data=image_path), "Flags": dword(0), "State": dword(0)})
    add("HKLM\\SYSTEM\\CurrentControlSet\\Services\\WerSvc", {"Start": dword(3)})
    add("HKU\\.DEFAULT\\Software")
    add("HKU\\%s\\Software\\Microsoft" % admin_sid)
    if is_64bit:
        wow = "HKLM\\SOFTWARE\\Wow6432Node"
        # Where the 32-bit view's redirected Classes subkeys live (lab/crashdump_lab/wow64.py).
        add("HKLM\\SOFTWARE\\Classes\\Wow6432Node")
        add(wow + "\\Microsoft\\Windows\\CurrentVersion", {"ProgramFilesDir": sz("C:\\Program Files (x86)")})
        add(WER_KEY.replace("SOFTWARE", "SOFTWARE\\Wow6432Node", 1))
        add(AEDEBUG_KEY.replace("SOFTWARE", "SOFTWARE\\Wow6432Node", 1),
            {"Auto": sz("0"), "UserDebuggerHotKey": dword(0)})
    return keys


def _files(is_64bit, accounts):
    files = {}

    def folder(path, sddl_text=None):
        files[path] = {"type": "directory", "sddl": sddl_text or _inherited(path), "mtime": INSTALL_TIME}

    def _inherited(path):
        parent = path.rsplit("\\", 1)[0]
        parent = parent + "\\" if len(parent) == 2 else parent
        owner = sddl.split(files[parent]["sddl"])["O"]
        return sddl.inherit(files[parent]["sddl"], True, owner)

    folder("C:\\", _ROOT_SDDL)
    folder("C:\\Windows", _SYSTEM_TREE_SDDL)
    for sub in ("System32", "System32\\config", "Temp"):
        folder("C:\\Windows\\" + sub)
    if is_64bit:
        folder("C:\\Windows\\SysWOW64")
    folder("C:\\Windows\\System32\\config\\systemprofile", _PRIVATE_SDDL)
    folder("C:\\Windows\\ServiceProfiles", _PRIVATE_SDDL)
    for name in ("LocalService", "NetworkService"):
        folder("C:\\Windows\\ServiceProfiles\\" + name, _private_for(accounts[name]["sid"]))
    folder("C:\\Program Files", _SYSTEM_TREE_SDDL)
    if is_64bit:
        folder("C:\\Program Files (x86)", _SYSTEM_TREE_SDDL)
    folder("C:\\ProgramData", _PROGRAMDATA_SDDL)
    for sub in ("Microsoft", "Microsoft\\Windows", "Microsoft\\Windows\\WER",
                "Microsoft\\Windows\\WER\\ReportArchive", "Microsoft\\Windows\\WER\\ReportQueue",
                "Microsoft\\Windows\\WER\\Temp"):
        folder("C:\\ProgramData\\" + sub)
    folder("C:\\Users", _USERS_SDDL)
    folder("C:\\Users\\Public")
    for name in ("Administrator", "alice"):
        folder(accounts[name]["profile"], _private_for(accounts[name]["sid"]))
    for account in accounts.values():
        for sub in ("AppData", "AppData\\Local", "AppData\\Local\\Temp", "AppData\\Roaming"):
            folder(account["profile"] + "\\" + sub)
    return files
