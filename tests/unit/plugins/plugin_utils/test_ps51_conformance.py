"""Static conformance of the shipped PowerShell with Windows PowerShell 5.1 and .NET Framework 4.5.

The syntax tree (tree-sitter-powershell) of each ``.ps1`` under plugins/ is
walked, and every cmdlet with its parameters, every type named in a cast, a
type literal, a ``catch`` or ``New-Object``, and every static member called as
``[Type]::Member`` is looked up in ps51_net45.json: names only, made by
tools/ps_reference/make_table.py from Microsoft's published references (the
table names its sources). A variable the script never sets must be one that
Windows PowerShell 5.1 defines (``$IsWindows`` or ``$PSStyle`` are not: under
Set-StrictMode reading them throws). Anything not in the table fails, and so
does the syntax of PowerShell 6 and later.

The keys of a splatted hashtable (``Get-WinEvent @query``) count as
parameters: those of ``$query = @{...}``, ``$query['Key'] = ...`` and
``$query.Key = ...`` in the same file. Not checked: instance members
(``$x.Member``; the type of ``$x`` is not known without running the script).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from powershell_tree import PS7_ONLY_NODE_TYPES, parse, walk
from tree_sitter import Node

ROOT = Path(__file__).resolve().parents[4]
TABLE = json.loads((Path(__file__).with_name("ps51_net45.json")).read_text(encoding="utf-8"))
PS_FILES = sorted((ROOT / "plugins").rglob("*.ps1"))

CMDLETS = {name.lower(): {p.lower() for p in entry["parameters"]} for name, entry in TABLE["cmdlets"].items()}
ACCELERATORS = TABLE["accelerators"]
TYPES = {name.lower(): {m.lower() for m in members} for name, members in TABLE["types"].items()}
AUTOMATIC = {name.lower() for name in TABLE["variables"]["automatic"]}

# Syntax, not types: `[ordered]@{}` (about_Hash_Tables, "Creating ordered
# dictionaries", PowerShell 3.0 and later).
SYNTAX_TYPE_LITERALS = {"ordered"}


def _where(node: Node) -> str:
    return f"line {node.start_point[0] + 1}"


def resolve_type(name: str, known: dict[str, set[str]] = TYPES) -> str | None:
    """The table's full name for a type as PowerShell resolves it, or None."""
    name = name.strip().strip("'\"")
    name = re.sub(r"\[\]$", "", name)  # arrays of a known type
    name = re.sub(r"\[.*\]$", "", name)  # generic arguments, checked on their own
    name = re.sub(r"`\d+$", "", name)
    lower = name.lower()
    if lower in ACCELERATORS:
        return ACCELERATORS[lower]
    for candidate in (lower, "system." + lower):  # PowerShell tries System. too
        if candidate in known:
            return next((full for full in TABLE["types"] if full.lower() == candidate), candidate)
    return None


def _compiled_types(text: str) -> dict[str, set[str]]:
    """Public types and public static members of the C# the script compiles itself
    (Add-Type -TypeDefinition): they exist once Add-Type has run."""
    types = {}
    static_member = re.compile(r"public\s+static\s+[\w?<>\[\], ]+?\s+(\w+)\s*\(")
    for block in re.findall(r"@'\n(.*?)\n'@", text, flags=re.S):
        namespace = re.search(r"^\s*namespace\s+([\w.]+)", block, flags=re.M)
        for match in re.finditer(r"public\s+(?:static\s+|sealed\s+)*(?:class|struct|enum)\s+(\w+)", block):
            full = ((namespace.group(1) + ".") if namespace else "") + match.group(1)
            types[full.lower()] = {m.lower() for m in static_member.findall(block)}
    return types


def _generic_arguments(name: str) -> list[str]:
    match = re.search(r"\[(.*)\]$", name.strip("'\""))
    if not match or not match.group(1):
        return []
    return [part.strip().strip("[]") for part in match.group(1).split(",")]


def _type_problems(where: str, name: str, known: dict[str, set[str]]) -> list[str]:
    problems = []
    if resolve_type(name, known) is None:
        problems.append(f"{where}: type {name} is not in the 5.1 / .NET 4.5 table")
    for argument in _generic_arguments(name):
        problems.extend(_type_problems(where, argument, known))
    return problems


def _splat_keys(tree) -> dict[str, set[str]]:
    """For each variable, the keys its hashtable gets anywhere in the file."""
    keys: dict[str, set[str]] = {}
    for node in walk(tree.root_node):
        if node.type != "assignment_expression":
            continue
        left = node.children[0].text.decode()
        target = re.fullmatch(r"\$(\w+)(?:\[\s*['\"](\w+)['\"]\s*\]|\.(\w+))?", left)
        if not target:
            continue
        found = keys.setdefault(target.group(1).lower(), set())
        if target.group(2) or target.group(3):
            found.add(target.group(2) or target.group(3))
            continue
        value = node.children[-1]
        literal = next((n for n in walk(value) if n.type == "hash_literal_expression"), None)
        if literal is not None and literal.text.decode() == value.text.decode().strip():
            for entry in literal.children[1].children if literal.child_count > 2 else []:
                if entry.type == "hash_entry":
                    found.add(entry.children[0].text.decode().strip("'\""))
    return keys


def _variable_name(node: Node) -> str | None:
    """The name of a plain ``$name`` / ``${name}`` reference; None for $env:X, $script:x and the like."""
    match = re.fullmatch(r"[$@]\{?(\w+|[$?^])\}?", node.text.decode())
    return match.group(1).lower() if match else None


def _variable_problems(tree) -> list[str]:
    defined, used = set(), []
    for node in walk(tree.root_node):
        if node.type == "assignment_expression":
            left = node.children[0].text.decode()
            target = re.fullmatch(r"(?:\[[^\]]+\]\s*)*\$(\w+)", left)
            if target:
                defined.add(target.group(1).lower())
        elif node.type in ("foreach_statement", "script_parameter"):
            for child in node.children:
                if child.type == "variable":
                    defined.add(_variable_name(child))
        elif node.type == "variable" and _variable_name(node):
            used.append(node)
    return [
        f"{_where(node)}: variable {node.text.decode()} is never set here and Windows PowerShell 5.1 does not define it"
        for node in used
        if _variable_name(node) not in defined | AUTOMATIC
    ]


def _command_problems(node: Node, functions: set[str], splats: dict[str, set[str]],
                      known: dict[str, set[str]]) -> list[str]:
    name_node = node.children[0]
    if name_node.type != "command_name":
        return []  # `& $scriptblock` and the like: nothing to look up
    name = name_node.text.decode()
    lower = name.lower()
    # `foreach ($i in 1..3)` reads as a command named 1..3 in this grammar.
    if lower in functions or re.fullmatch(r"\d+\.\.\d+", name):
        return []
    if lower not in CMDLETS:
        return [f"{_where(node)}: command {name} is not a Windows PowerShell 5.1 cmdlet"]
    problems = []
    elements = [c for c in node.children if c.type == "command_elements"]
    children = elements[0].children if elements else []
    splatted = [
        (inner, key)
        for child in children
        for inner in walk(child)
        if inner.type == "variable" and inner.text.decode().startswith("@")
        for key in sorted(splats.get(inner.text.decode()[1:].lower(), ()))
    ]
    named = [
        (child, child.text.decode().lstrip("-").rstrip(":")) for child in children if child.type == "command_parameter"
    ]
    for child, parameter in named + splatted:
        if parameter.lower() not in CMDLETS[lower]:
            problems.append(f"{_where(child)}: {name} has no parameter -{parameter} in 5.1 (unknown or abbreviated)")
    for index, child in enumerate(children):
        if child.type != "command_parameter":
            continue
        parameter = child.text.decode().lstrip("-").rstrip(":")
        if lower == "new-object" and parameter.lower() == "typename":
            following = [c for c in children[index + 1 :] if c.type != "command_argument_sep"]
            if following and following[0].type in ("generic_token", "array_literal_expression"):
                if "$" not in following[0].text.decode():
                    problems.extend(_type_problems(_where(child), following[0].text.decode(), known))
    if lower == "new-object":
        positional = [c for c in children if c.type not in ("command_argument_sep",)]
        if positional and positional[0].type == "generic_token":
            problems.extend(_type_problems(_where(node), positional[0].text.decode(), known))
    return problems


def _static_member_problems(node: Node, known: dict[str, set[str]]) -> list[str]:
    children = node.children
    problems = []
    for index, child in enumerate(children[:-1]):
        if child.type != "::" or index == 0 or children[index - 1].type != "type_literal":
            continue
        type_text = children[index - 1].text.decode()[1:-1]
        member = children[index + 1].text.decode()
        full = resolve_type(type_text, known)
        if full is None:
            continue  # reported as an unknown type already
        if full.lower() not in known:
            problems.append(f"{_where(node)}: [{type_text}] ({full}) has no member list in the table for ::{member}")
        elif member.lower() not in known[full.lower()]:
            problems.append(f"{_where(node)}: [{type_text}]::{member} is not a member of {full} in the table")
    return problems


def conformance_problems(source: bytes) -> list[str]:
    tree = parse(source)
    functions = {
        child.text.decode().lower()
        for node in walk(tree.root_node)
        if node.type == "function_statement"
        for child in node.children
        if child.type == "function_name"
    }
    splats = _splat_keys(tree)
    known = {**TYPES, **_compiled_types(source.decode("utf-8", "replace"))}
    problems = _variable_problems(tree)
    for node in walk(tree.root_node):
        if node.is_error or node.is_missing:
            text = source[node.start_byte : node.end_byte].decode("utf-8", "replace")[:40]
            problems.append(f"{_where(node)}: not Windows PowerShell 5.1 syntax (??, ?:, ?. are 7 only): {text!r}")
        elif node.type in PS7_ONLY_NODE_TYPES:
            problems.append(f"{_where(node)}: PowerShell 7 only: {PS7_ONLY_NODE_TYPES[node.type]}")
        elif node.type == "command":
            problems.extend(_command_problems(node, functions, splats, known))
        elif node.type == "type_literal":
            name = node.text.decode()[1:-1]
            if name.lower() not in SYNTAX_TYPE_LITERALS:
                problems.extend(_type_problems(_where(node), name, known))
        elif any(child.type == "::" for child in node.children):
            problems.extend(_static_member_problems(node, known))
    return problems


# --- the checker can fail ----------------------------------------------------


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        pytest.param("$o = '{}' | ConvertFrom-Json -AsHashtable\n", "no parameter -AsHashtable", id="ps6-parameter"),
        pytest.param("1..3 | ForEach-Object -Parallel { $_ }\n", "no parameter -Parallel", id="ps7-parallel"),
        pytest.param("Get-Service -Nme x\n", "no parameter -Nme", id="misspelt-parameter"),
        pytest.param("$q = @{ AsHashtable = $true }\nConvertFrom-Json @q\n", "no parameter -AsHashtable", id="splat"),
        pytest.param("$q = @{}\n$q['Depth'] = 2\nConvertFrom-Json @q\n", "no parameter -Depth", id="splat-index"),
        pytest.param(
            "$q = @{}\n$q.NoEnumerate = 1\nConvertFrom-Json @q\n", "no parameter -NoEnumerate", id="splat-member"
        ),
        pytest.param("Get-Foo\n", "command Get-Foo", id="unknown-cmdlet"),
        pytest.param("Test-Json -Json '{}'\n", "command Test-Json", id="ps6-cmdlet"),
        pytest.param("a && b\n", "PowerShell 7 only", id="pipeline-chain"),
        pytest.param("$a = 1\n$x = $a ?? 3\n", "not Windows PowerShell 5.1 syntax", id="null-coalescing"),
        pytest.param("$a = 1\n$x = $a ? 1 : 2\n", "not Windows PowerShell 5.1 syntax", id="ternary"),
        pytest.param("$a = 1\n$a ??= 2\n", "not Windows PowerShell 5.1 syntax", id="null-assignment"),
        pytest.param("$a = 1\n$x = ${a}?.Length\n", "not Windows PowerShell 5.1 syntax", id="null-conditional"),
        pytest.param("if ($IsWindows) { 1 }\n", "variable $IsWindows", id="ps6-variable"),
        pytest.param("$x = 1\n$y = $z + $x\n", "variable $z", id="unset-variable"),
        pytest.param("function f { clean { 1 } }\n", "command clean", id="clean-block"),
        pytest.param("$x = [System.IO.Path]::Join('a', 'b')\n", "Join is not a member", id="core-only-member"),
        pytest.param("$x = [System.Text.Json.JsonSerializer]\n", "type System.Text.Json", id="core-only-type"),
        pytest.param("$s = New-Object System.Collections.Generic.List[Foo.Bar]\n", "type Foo.Bar", id="generic-arg"),
        pytest.param("$s = New-Object -TypeName 'Nope.Thing'\n", "type 'Nope.Thing'", id="new-object-typename"),
        pytest.param("try { } catch [Foo.Failure] { }\n", "type Foo.Failure", id="catch-type"),
    ],
)
def test_checker_rejects(snippet, expected):
    problems = conformance_problems(snippet.encode())
    assert any(expected in p for p in problems), problems


def test_checker_accepts_51_code():
    source = (
        b"function Get-Thing {\n    param([string]$Name, $Count = 2)\n    [System.IO.Path]::GetTempPath() + $Name\n}\n"
        b"foreach ($item in $args) { [int]$n = $item; $n++ }\n"
        b"$ErrorActionPreference = 'Stop'; $env:TEMP; $PSVersionTable; $_; $null = $true\n"
        b"$list = New-Object System.Collections.Generic.List[string]\n"
        b"$bytes = New-Object -TypeName 'byte[]' -ArgumentList 4\n"
        b"$h = [ordered]@{ a = [int]1 }\n"
        b"Get-Thing -Name x | Sort-Object -Property Length\n"
        b"if (Get-Command -Name 'Get-MpPreference' -ErrorAction SilentlyContinue) { Get-MpPreference }\n"
        b"foreach ($i in 1..3) { }\n"
        b"$query = @{ FilterHashtable = @{ LogName = 'Application' }; ErrorAction = 'Stop' }\n"
        b"$query['MaxEvents'] = 3\n"
        b"Get-WinEvent @query\n"
        b"try { Stop-Service -Name x -Force -ErrorAction Stop }\n"
        b"catch [System.Management.Automation.MethodInvocationException] { }\n"
        b"$k = [Microsoft.Win32.RegistryKey]::OpenBaseKey([Microsoft.Win32.RegistryHive]::LocalMachine, 'Registry64')\n"
    )
    assert conformance_problems(source) == []


@pytest.mark.parametrize(
    "planted",
    [
        b"$BatchJson = $BatchJson ?? '{}'\n",
        b"$plain = $BatchJson | ConvertFrom-Json -AsHashtable\n",
        b"$null = Get-Service -Name WerSvc && Stop-Service -Name WerSvc\n",
    ],
    ids=["null-coalescing", "ashashtable", "pipeline-chain"],
)
def test_checker_fails_on_the_agent_with_a_planted_ps7_line(planted):
    agent = ROOT / "plugins" / "plugin_utils" / "agent.ps1"
    lines = agent.read_bytes().splitlines(keepends=True)
    body = next(i for i, line in enumerate(lines) if line.startswith(b"param("))  # after the param block
    source = b"".join(lines[: body + 1] + [planted] + lines[body + 1 :])
    problems = conformance_problems(source)
    assert problems and all(p.startswith(f"line {body + 2}:") for p in problems), problems


def test_table_names_its_sources():
    sources = TABLE["sources"]
    assert "MicrosoftDocs/PowerShell-Docs" in sources["cmdlets"] and "reference/5.1" in sources["cmdlets"]
    assert "referencesource" in sources["types"]
    assert "convertfrom-json" in CMDLETS and "ashashtable" not in CMDLETS["convertfrom-json"]


# --- the shipped files -------------------------------------------------------


@pytest.mark.parametrize("path", PS_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_powershell_conforms_to_51(path):
    problems = conformance_problems(path.read_bytes())
    rel = path.relative_to(ROOT)
    assert not problems, "\n".join(f"{rel}: {p}" for p in problems)


def test_types_the_script_compiles_are_known_with_their_static_members_only():
    source = ("$s = @'\nnamespace N\n{\n    public static class T\n    {\n"
              "        public static bool? Set(string name) { return null; }\n    }\n}\n'@\n"
              "Add-Type -TypeDefinition $s\n$a = [N.T]::Set('x')\n$b = [N.T]::Missing('x')\n$c = [N.U]::Set('x')\n")
    problems = conformance_problems(source.encode())
    assert [p for p in problems if "Set" in p and "N.T" in p] == []
    assert any("Missing" in p for p in problems)
    assert any("N.U" in p for p in problems)
