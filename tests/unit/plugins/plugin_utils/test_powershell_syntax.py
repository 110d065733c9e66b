"""Static checks of the PowerShell shipped under plugins/.

pwsh is not available where these tests run, so every ``.ps1`` is parsed with
a real PowerShell grammar (tree-sitter-powershell) instead: a syntax error is
reported with its file, line and column. The files must also be pure ASCII
(they travel base64/UTF-16LE encoded or through console code pages), avoid
syntax that Windows PowerShell 5.1 lacks, and the agent must implement every
operation that docs/docsite/rst/agent_protocol.rst lists, and no other.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
from powershell_tree import PS7_ONLY_NODE_TYPES, parse, walk
from tree_sitter import Node

ROOT = Path(__file__).resolve().parents[4]
PLUGINS = ROOT / "plugins"
AGENT = PLUGINS / "plugin_utils" / "agent.ps1"
BOOTSTRAP = PLUGINS / "plugin_utils" / "bootstrap.ps1"
PROTOCOL_DOC = ROOT / "docs" / "docsite" / "rst" / "agent_protocol.rst"

# PowerShell 7 only: pipeline chain operators, and cmdlet parameters that
# Windows PowerShell 5.1 does not have. (Ternary, ?? and ?. do not parse with
# this grammar at all, so the syntax check already rejects them.)
PS7_ONLY_PARAMETERS = {"-parallel", "-ashashtable"}

PS_FILES = sorted(PLUGINS.rglob("*.ps1"))


def _where(node: Node) -> str:
    row, column = node.start_point
    return f"line {row + 1}, column {column + 1}"


def syntax_problems(source: bytes) -> list[str]:
    """Every ERROR or missing node of ``source``, with 1-based positions."""
    tree = parse(source)
    problems = []
    for node in walk(tree.root_node):
        if node.is_missing:
            problems.append(f"{_where(node)}: missing {node.type!r}")
        elif node.is_error:
            snippet = source[node.start_byte : node.start_byte + 40].decode("utf-8", "replace")
            problems.append(f"{_where(node)}: syntax error near {snippet!r}")
    if tree.root_node.has_error and not problems:
        problems.append("the parser reports an error it does not locate")
    return problems


def compatibility_problems(source: bytes) -> list[str]:
    """Constructs Windows PowerShell 5.1 cannot run, or the grammar misreads."""
    tree = parse(source)
    problems = []
    for node in walk(tree.root_node):
        if node.type in PS7_ONLY_NODE_TYPES:
            problems.append(f"{_where(node)}: PowerShell 7 only: {PS7_ONLY_NODE_TYPES[node.type]}")
        elif node.type == "command_parameter" and node.text.decode().lower() in PS7_ONLY_PARAMETERS:
            problems.append(f"{_where(node)}: PowerShell 7 only parameter {node.text.decode()}")
        elif node.type == "label":
            # Both available grammars reject `continue <label>`: keep loops unlabelled.
            problems.append(f"{_where(node)}: loop label (not parsed reliably; restructure the loop)")
    return problems


def documented_ops() -> list[str]:
    """Operation names from the ``Operations`` section of the protocol doc."""
    text = PROTOCOL_DOC.read_text(encoding="utf-8")
    match = re.search(r"^Operations\n-{3,}\n(?P<body>.*?)(?=^\S[^\n]*\n[-=~^]{3,}\n|\Z)", text, re.M | re.S)
    assert match, f"{PROTOCOL_DOC}: no 'Operations' section"
    # Each entry starts at column 0: ``op_name`` ``{params}``
    return re.findall(r"^``([a-z][a-z0-9_]*)``", match.group("body"), re.M)


def dispatched_ops(source: bytes) -> list[str]:
    """String labels of the switch in the agent's Invoke-AgentOp function."""
    tree = parse(source)
    for node in walk(tree.root_node):
        if node.type != "function_statement":
            continue
        names = [child for child in node.children if child.type == "function_name"]
        if not names or names[0].text.decode().lower() != "invoke-agentop":
            continue
        labels = []
        for inner in walk(node):
            if inner.type == "switch_clause_condition":
                label = inner.text.decode()
                if label.startswith("'") and label.endswith("'"):
                    labels.append(label[1:-1])
        return labels
    return []


# --- self-checks: the checker must be able to fail -------------------------


@pytest.mark.parametrize(
    "snippet",
    [
        pytest.param("function f {\n    if ($x) { 1 }\n", id="unclosed-brace"),
        pytest.param("$a = (1 + \n", id="unclosed-paren"),
        pytest.param("$x = $true ? 1 : 2\n", id="ternary"),
        pytest.param("$x = $y ?? 3\n", id="null-coalescing"),
    ],
)
def test_checker_reports_broken_powershell(snippet):
    problems = syntax_problems(snippet.encode())
    assert problems, f"a broken snippet was not reported: {snippet!r}"
    assert all("line " in p and "column " in p for p in problems)


def test_checker_locates_the_error():
    problems = syntax_problems(b"$ok = 1\nfunction f {\n")
    assert problems
    assert any(p.startswith(("line 2", "line 3")) for p in problems), problems


def test_checker_accepts_valid_powershell():
    source = (
        b"param([string]$BatchJson)\n"
        b"try { $k = [Microsoft.Win32.RegistryKey]::OpenBaseKey('LocalMachine', 'Registry64') }\n"
        b"catch [System.Security.SecurityException] { throw }\n"
        b"finally { if ($null -ne $k) { $k.Dispose() } }\n"
        b"$h = [ordered]@{ a = , @(1) }\n"
        b'[void]$sb.Append("`n")\n'
    )
    assert syntax_problems(source) == []
    assert compatibility_problems(source) == []


def test_compatibility_checker_flags_ps7_and_labels():
    assert compatibility_problems(b"a && b\n")
    assert compatibility_problems(b"1..3 | ForEach-Object -Parallel { $_ }\n")
    assert compatibility_problems(b"$o = '{}' | ConvertFrom-Json -AsHashtable\n")
    assert compatibility_problems(b":outer foreach ($a in $b) { break }\n")


def test_doc_parser_finds_operations():
    ops = documented_ops()
    assert len(ops) >= 10, ops
    assert "reg_read" in ops and "event_query" in ops
    assert len(ops) == len(set(ops)), ops


# --- the shipped files -------------------------------------------------------


def test_powershell_files_exist():
    assert AGENT in PS_FILES
    assert BOOTSTRAP in PS_FILES


@pytest.mark.parametrize("path", PS_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_powershell_parses(path):
    problems = syntax_problems(path.read_bytes())
    rel = path.relative_to(ROOT)
    assert not problems, "\n".join(f"{rel}: {p}" for p in problems)


@pytest.mark.parametrize("path", PS_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_powershell_is_ps51_compatible(path):
    problems = compatibility_problems(path.read_bytes())
    rel = path.relative_to(ROOT)
    assert not problems, "\n".join(f"{rel}: {p}" for p in problems)


@pytest.mark.parametrize("path", PS_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_powershell_is_ascii(path):
    rel = path.relative_to(ROOT)
    bad = []
    for number, line in enumerate(path.read_bytes().split(b"\n"), start=1):
        for column, byte in enumerate(line, start=1):
            if byte > 0x7E or (byte < 0x20 and byte not in (0x09, 0x0D)):
                bad.append(f"{rel}: line {number}, column {column}: byte 0x{byte:02x}")
    assert not bad, "\n".join(bad)


def test_agent_mentions_every_documented_op():
    text = AGENT.read_text(encoding="ascii")
    missing = [op for op in documented_ops() if f"'{op}'" not in text]
    assert not missing, f"{AGENT.relative_to(ROOT)} does not handle: {missing}"


def test_agent_dispatches_exactly_the_documented_ops():
    dispatched = dispatched_ops(AGENT.read_bytes())
    assert dispatched, "Invoke-AgentOp switch not found in agent.ps1"
    documented = documented_ops()
    assert sorted(dispatched) == sorted(documented), {
        "undocumented": sorted(set(dispatched) - set(documented)),
        "not dispatched": sorted(set(documented) - set(dispatched)),
    }


def test_bootstrap_uses_the_documented_separator():
    doc = PROTOCOL_DOC.read_text(encoding="utf-8")
    match = re.search(r"separator ``([^`]+)``", doc)
    assert match, "separator not found in the protocol doc"
    assert f"'{match.group(1)}'" in BOOTSTRAP.read_text(encoding="ascii")


def test_bootstrap_fits_a_command_line():
    # It travels as -EncodedCommand (base64 of UTF-16LE); cmd.exe, which runs
    # winrm commands, stops at 8191 characters.
    encoded = base64.b64encode(BOOTSTRAP.read_text(encoding="ascii").encode("utf-16-le"))
    assert len(encoded) + 100 < 8191, len(encoded)


def test_agent_never_contains_the_separator_line():
    # The bootstrap splits its input at the first separator line.
    lines = AGENT.read_text(encoding="ascii").splitlines()
    assert "#crashdump.windows:batch#" not in [line.strip() for line in lines]


# Commands the agent must not use: stdout carries only the result line, the
# registry drives cannot choose a WOW64 view, Get-FileHash is missing in some
# restricted setups.
FORBIDDEN_AGENT_COMMANDS = {
    "write-host",
    "write-output",
    "out-host",
    "out-default",
    "get-filehash",
    "get-itemproperty",
    "set-itemproperty",
    "remove-itemproperty",
    "new-itemproperty",
}


def test_agent_avoids_forbidden_commands():
    source = AGENT.read_bytes()
    tree = parse(source)
    used = [
        f"{_where(node)}: {node.text.decode()}"
        for node in walk(tree.root_node)
        if node.type == "command_name" and node.text.decode().lower() in FORBIDDEN_AGENT_COMMANDS
    ]
    assert not used, used
    drives = re.findall(r"\b(?:HKLM|HKCU|HKU|HKCR):\\|\bRegistry::", source.decode("ascii"), re.I)
    assert not drives, drives


def test_agent_takes_the_batch_as_its_only_parameter():
    source = AGENT.read_bytes()
    tree = parse(source)
    blocks = [n for n in tree.root_node.children if n.type == "param_block"]
    assert blocks, "agent.ps1 has no top-level param block"
    params = [n.text.decode() for n in walk(blocks[0]) if n.type == "script_parameter"]
    assert params == ["[string]$BatchJson"], params


def test_results_leave_as_pipeline_output():
    # Over psrp the scripts run in the remote runspace, where [Console]::Out reaches no one.
    for script in (AGENT, BOOTSTRAP):
        assert "[console]::out" not in script.read_text(encoding="ascii").lower(), script.name
