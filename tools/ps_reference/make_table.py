"""Build ps51_net45.json: the cmdlets, parameters, .NET types and members the
agent may use, as published by Microsoft.

The table holds names only (facts), made from public references that this
script reads from local git checkouts (fetch them yourself; they are never
committed here):

* MicrosoftDocs/PowerShell-Docs, reference/5.1/<module>/<Cmdlet>.md: the
  Windows PowerShell 5.1 cmdlet reference (``### -Name`` headings, their
  ``Aliases:`` lines, the ``### CommonParameters`` paragraph), and
  about_Type_Accelerators.md for the accelerators of 5.1,
  about_Automatic_Variables.md and about_Preference_Variables.md for the
  variables PowerShell 5.1 defines.
* MicrosoftDocs/windows-powershell-docs, docset/winserver2016-ps/<module>:
  the modules of Windows Server 2016 (which ships Windows PowerShell 5.1) that
  the agent uses when present, in the same page format (OPTIONAL_MODULES).
* microsoft/referencesource: the .NET Framework reference source (4.8, the
  last of the 4.x line; 4.5 is its ancestor, see NET_CAVEAT). Public types and
  the names of their public members are read from the C# declarations.

Usage:
    python tools/ps_reference/make_table.py --powershell-docs DIR --windows-docs DIR --reference-source DIR \
        [--output tests/unit/plugins/plugin_utils/ps51_net45.json]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUTPUT = ROOT / "tests" / "unit" / "plugins" / "plugin_utils" / "ps51_net45.json"

# Modules that ship with every Windows PowerShell 5.1: the core of the table.
MODULES = (
    "CimCmdlets",
    "Microsoft.PowerShell.Archive",
    "Microsoft.PowerShell.Core",
    "Microsoft.PowerShell.Diagnostics",
    "Microsoft.PowerShell.Management",
    "Microsoft.PowerShell.Security",
    "Microsoft.PowerShell.Utility",
)

# Windows modules outside PowerShell itself, present on most hosts; the agent
# checks for them before use.
OPTIONAL_MODULES = ("Defender",)

# .NET types the agent can plausibly use (registry, files, ACLs, services,
# text, numbers, time): the table lists every public member of each.
TYPES = (
    "Microsoft.Win32.Registry",
    "Microsoft.Win32.RegistryHive",
    "Microsoft.Win32.RegistryKey",
    "Microsoft.Win32.RegistryValueKind",
    "Microsoft.Win32.RegistryValueOptions",
    "Microsoft.Win32.RegistryView",
    "Microsoft.Win32.SafeHandles.SafeRegistryHandle",
    "System.Array",
    "System.BitConverter",
    "System.Boolean",
    "System.Byte",
    "System.Char",
    "System.Collections.ArrayList",
    "System.Collections.Generic.Dictionary",
    "System.Collections.Generic.List",
    "System.Collections.Hashtable",
    "System.Collections.IDictionary",
    "System.Collections.IEnumerable",
    "System.Collections.IList",
    "System.ComponentModel.Win32Exception",
    "System.Convert",
    "System.DBNull",
    "System.DateTime",
    "System.DateTimeKind",
    "System.DateTimeOffset",
    "System.Decimal",
    "System.Diagnostics.Eventing.Reader.EventLogSession",
    "System.Diagnostics.FileVersionInfo",
    "System.Diagnostics.Process",
    "System.Double",
    "System.Enum",
    "System.Environment",
    "System.Globalization.CultureInfo",
    "System.Globalization.DateTimeStyles",
    "System.Globalization.NumberStyles",
    "System.IO.Compression.CompressionLevel",
    "System.IO.Compression.CompressionMode",
    "System.IO.Compression.GZipStream",
    "System.IO.Directory",
    "System.IO.DirectoryInfo",
    "System.IO.DriveInfo",
    "System.IO.File",
    "System.IO.FileAccess",
    "System.IO.FileAttributes",
    "System.IO.FileInfo",
    "System.IO.FileMode",
    "System.IO.FileShare",
    "System.IO.FileStream",
    "System.IO.MemoryStream",
    "System.IO.Path",
    "System.IO.SearchOption",
    "System.IO.StreamReader",
    "System.Int16",
    "System.Int32",
    "System.Int64",
    "System.Math",
    "System.Net.Dns",
    "System.Object",
    "System.Reflection.BindingFlags",
    "System.Reflection.TargetInvocationException",
    "System.SByte",
    "System.Security.AccessControl.AccessControlSections",
    "System.Security.AccessControl.ControlFlags",
    "System.Security.AccessControl.DirectorySecurity",
    "System.Security.AccessControl.FileSecurity",
    "System.Security.AccessControl.RawSecurityDescriptor",
    "System.Security.Cryptography.SHA256CryptoServiceProvider",
    "System.Security.Cryptography.SHA256Managed",
    "System.Security.Principal.NTAccount",
    "System.Security.Principal.SecurityIdentifier",
    "System.Security.Principal.WellKnownSidType",
    "System.Security.Principal.WindowsIdentity",
    "System.ServiceProcess.ServiceController",
    "System.ServiceProcess.ServiceControllerStatus",
    "System.Single",
    "System.String",
    "System.StringComparer",
    "System.StringComparison",
    "System.Text.Encoding",
    "System.Text.RegularExpressions.Regex",
    "System.Text.RegularExpressions.RegexOptions",
    "System.Text.StringBuilder",
    "System.TimeSpan",
    "System.UInt16",
    "System.UInt32",
    "System.UInt64",
    "System.Void",
)

# Types of PowerShell itself and of System.Management (not in the reference
# source): listed when the Windows PowerShell 5.1 reference names them, with the
# static members it shows called as [Type]::Member.
POWERSHELL_TYPES = (
    "System.Management.Automation.ActionPreferenceStopException",
    "System.Management.Automation.MethodInvocationException",
    "System.Management.Automation.PSCustomObject",
    "System.Management.Automation.ScriptBlock",
    "System.Management.ManagementDateTimeConverter",
)

# Static members the 5.1 reference text does not show, each with its page in
# the PowerShell SDK reference.
SDK_MEMBERS = {
    "System.Management.Automation.ScriptBlock": {
        "Create": "https://learn.microsoft.com/dotnet/api/system.management.automation.scriptblock.create",
    },
}

NET_CAVEAT = (
    "microsoft/referencesource is the .NET Framework 4.8 source; members added after 4.5 "
    "(for example DateTimeOffset.FromUnixTimeSeconds, 4.6) are listed too"
)

_KINDS = r"(?:class|struct|enum|interface)"
_COMMENT_OR_STRING = re.compile(r'//[^\n]*|/\*.*?\*/|@"(?:[^"]|"")*"|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])+\'', re.S)
_PARAM_HEADING = re.compile(r"^### -(\w+)\s*$", re.M)
_COMMON = re.compile(r"^### CommonParameters\s*\n(.*?)(?=^#)", re.M | re.S)


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)
    return done.stdout.decode("utf-8", "replace")


def _revision(repo: Path) -> str:
    return _git(repo, "rev-parse", "HEAD").strip()


def _show(repo: Path, path: str) -> str:
    return _git(repo, "show", f"HEAD:{path}")


def cmdlet_parameters(markdown: str) -> list[str]:
    """Parameter names and aliases of one cmdlet page, common ones included."""
    names = set()
    for match in _PARAM_HEADING.finditer(markdown):
        names.add(match.group(1))
        block = markdown[match.end() : match.end() + 1500].split("\n### ", 1)[0]
        aliases = re.search(r"^Aliases:[ \t]*(.*)$", block, re.M)
        if aliases:
            names.update(a.strip() for a in aliases.group(1).split(",") if a.strip())
    common = _COMMON.search(markdown)
    if common:
        names.update(re.findall(r"-(\w+)", common.group(1)))
    return sorted(names, key=str.lower)


def cmdlets(docs: Path, folder: str, modules: tuple[str, ...]) -> dict[str, dict[str, list[str]]]:
    table = {}
    for module in modules:
        listing = _git(docs, "ls-tree", "--name-only", f"HEAD:{folder}/{module}/").split()
        for name in listing:
            if not name.endswith(".md") or "-" not in name:
                continue
            text = _show(docs, f"{folder}/{module}/{name}")
            if "## PARAMETERS" not in text:
                continue
            table[name[:-3]] = {"module": module, "parameters": cmdlet_parameters(text)}
    return dict(sorted(table.items(), key=lambda kv: kv[0].lower()))


def accelerators(docs: Path) -> dict[str, str]:
    text = _show(docs, "reference/5.1/Microsoft.PowerShell.Core/About/about_Type_Accelerators.md")
    rows = re.findall(r"^\|\s*(\w+)\s*\|\s*\[([\w.`]+)\]", text, re.M)
    return {name.lower(): full for name, full in rows}


def _first_branches(source: str) -> str:
    """Only the ``#if`` branch of each conditional (both branches unbalance braces)."""
    out, skipping = [], []
    for line in source.splitlines():
        directive = line.strip()
        if directive.startswith("#if"):
            skipping.append(bool(skipping and skipping[-1]))
        elif directive.startswith(("#else", "#elif")) and skipping:
            skipping[-1] = True
        elif directive.startswith("#endif") and skipping:
            skipping.pop()
        elif not (skipping and skipping[-1]):
            out.append(line)
    return "\n".join(out)


def powershell_types(docs: Path, accelerator_names: dict[str, str]) -> dict[str, list[str]]:
    short_names = "|".join(full.rsplit(".", 1)[1] for full in POWERSHELL_TYPES)
    pattern = rf"(\[[A-Za-z.]+\]::\w+|System\.Management\.[A-Za-z.]+|\b({short_names})\b)"
    text = _git(docs, "grep", "-h", "-i", "-o", "-E", pattern, "HEAD", "--", "reference/5.1")
    shorthand = dict(accelerator_names)
    found: dict[str, set[str]] = {}
    for hit in set(text.splitlines()):
        if "::" in hit:
            name, member = hit[1:].split("]::")
            name = shorthand.get(name.lower(), name)
        else:
            name, member = hit.rstrip("."), None
        for full in POWERSHELL_TYPES:
            if name.lower() in (full.lower(), full.rsplit(".", 1)[1].lower()):
                found.setdefault(full, set()).update([member] if member else [])
    for full, members in SDK_MEMBERS.items():
        found.setdefault(full, set()).update(members)
    return {full: sorted(found[full], key=str.lower) for full in sorted(found)}


def variables(docs: Path) -> list[str]:
    about = "reference/5.1/Microsoft.PowerShell.Core/About/"
    automatic = re.findall(r"^### `\$(\S+?)`\s*$", _show(docs, about + "about_Automatic_Variables.md"), re.M)
    preference = re.findall(r"^\| \[?`\$(\w+)`", _show(docs, about + "about_Preference_Variables.md"), re.M)
    return sorted(set(automatic) | set(preference), key=str.lower)


def _strip(source: str) -> str:
    """Comments out, string and char literals emptied (their braces confuse the rest)."""
    return _COMMENT_OR_STRING.sub(lambda m: " " if m.group().startswith("/") else '""', _first_branches(source))


def _body(source: str, start: int) -> str:
    """The text between the brace at or after ``start`` and its partner."""
    opening = source.index("{", start)
    depth = 0
    for index in range(opening, len(source)):
        if source[index] == "{":
            depth += 1
        elif source[index] == "}":
            depth -= 1
            if depth == 0:
                return source[opening + 1 : index]
    return source[opening + 1 :]


def _top_level(body: str) -> str:
    """``body`` with every nested brace block removed (members at depth 1)."""
    out, depth = [], 0
    for char in body:
        if char == "{":
            if depth == 0:
                out.append("{;")
            depth += 1
        elif char == "}":
            depth -= 1
        elif depth == 0:
            out.append(char)
    return "".join(out)


def member_names(kind: str, body: str, type_name: str) -> set[str]:
    flat = _top_level(body)
    if kind == "enum":
        return {m for m in re.findall(r"(?:^|,)\s*(?:\[[^\]]*\]\s*)*(\w+)\s*(?==|,|$)", flat, re.S) if m}
    names = set()
    public = kind == "interface"
    for decl in re.split(r"[;{]", flat):
        decl = re.sub(r"\[[\w.]+(?:\([^)]*\))?\]", " ", decl).strip()
        if not decl or not (public or re.search(r"\bpublic\b", decl)):
            continue
        if re.search(rf"\b{_KINDS}\b", decl) or re.search(r"\boperator\b", decl):
            continue
        head = decl.split("(", 1)[0].split("=", 1)[0].strip()
        match = re.search(r"(\w+)(?:\s*<[^>]*>)?\s*$", head)
        if not match:
            continue
        name = match.group(1)
        if name == "this":
            name = "Item"
        names.add("new" if name == type_name else name)
    return names


def net_types(source: Path) -> dict[str, list[str]]:
    wanted = {full.rsplit(".", 1)[1]: full for full in TYPES}
    found: dict[str, set[str]] = {}
    decl = re.compile(rf"\bpublic\s+(?:(?:static|sealed|abstract|partial|unsafe|new)\s+)*({_KINDS})\s+(\w+)\b")
    pattern = rf"public .*{_KINDS.replace('?:', '')} ({'|'.join(wanted)})\b"
    grep = _git(source, "grep", "-l", "-E", pattern, "HEAD", "--", "*.cs")
    for hit in grep.splitlines():
        path = hit.split(":", 1)[1]
        text = _strip(_show(source, path))
        namespaces = [(m.start(), m.group(1)) for m in re.finditer(r"\bnamespace\s+([\w.]+)", text)]
        for match in decl.finditer(text):
            kind, name = match.groups()
            space = [ns for pos, ns in namespaces if pos < match.start()]
            full = f"{space[-1]}.{name}" if space else name
            if wanted.get(name) != full:
                continue
            found.setdefault(full, set()).update(member_names(kind, _body(text, match.end()), name))
    return {full: sorted(found[full], key=str.lower) for full in sorted(found)}


def _dump(table: dict) -> str:
    """JSON with one line per cmdlet and per type: small diffs, a readable file."""
    lines = ["{"]
    for number, (section, entries) in enumerate(table.items()):
        lines.append(f"  {json.dumps(section)}: {{")
        rows = [f"    {json.dumps(key)}: {json.dumps(value)}" for key, value in entries.items()]
        lines.append(",\n".join(rows))
        lines.append("  }" + ("," if number < len(table) - 1 else ""))
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    for option, repo in (
        ("--powershell-docs", "MicrosoftDocs/PowerShell-Docs"),
        ("--windows-docs", "MicrosoftDocs/windows-powershell-docs"),
        ("--reference-source", "microsoft/referencesource"),
    ):
        parser.add_argument(option, type=Path, required=True, help=f"git checkout of {repo}")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    types = net_types(args.reference_source)
    missing = sorted(set(TYPES) - set(types))
    if missing:
        print(f"not found in the reference source: {', '.join(missing)}", file=sys.stderr)
        return 1
    names = accelerators(args.powershell_docs)
    ps_types = powershell_types(args.powershell_docs, names)
    missing = sorted(set(POWERSHELL_TYPES) - set(ps_types))
    if missing:
        print(f"not named in the 5.1 reference: {', '.join(missing)}", file=sys.stderr)
        return 1
    table = {
        "sources": {
            "cmdlets": f"https://github.com/MicrosoftDocs/PowerShell-Docs/tree/{_revision(args.powershell_docs)}/reference/5.1",
            "optional_modules": f"https://github.com/MicrosoftDocs/windows-powershell-docs/tree/{_revision(args.windows_docs)}/docset/winserver2016-ps",
            "accelerators": "reference/5.1/Microsoft.PowerShell.Core/About/about_Type_Accelerators.md (same revision)",
            "variables": "reference/5.1/Microsoft.PowerShell.Core/About/about_Automatic_Variables.md and "
            "about_Preference_Variables.md (same revision)",
            "types": f"https://github.com/microsoft/referencesource/tree/{_revision(args.reference_source)}",
            "types_caveat": NET_CAVEAT,
            "powershell_types": "reference/5.1 (same revision as cmdlets), and "
            + ", ".join(url for members in SDK_MEMBERS.values() for url in members.values()),
        },
        "cmdlets": {
            **cmdlets(args.powershell_docs, "reference/5.1", MODULES),
            **cmdlets(args.windows_docs, "docset/winserver2016-ps", OPTIONAL_MODULES),
        },
        "accelerators": names,
        "variables": {"automatic": variables(args.powershell_docs)},
        "types": {**types, **ps_types},
    }
    args.output.write_text(_dump(table), encoding="utf-8")
    print(f"{args.output}: {len(table['cmdlets'])} cmdlets, {len(types)} types")
    return 0


if __name__ == "__main__":
    sys.exit(main())
