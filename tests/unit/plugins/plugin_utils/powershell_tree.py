"""The PowerShell syntax tree both PowerShell tests walk (tree-sitter-powershell, PowerShell 5.1's grammar)."""

from __future__ import annotations

import tree_sitter_powershell
from tree_sitter import Language, Node, Parser

# Node types of PowerShell 7 syntax that the grammar parses; ternary, ??, ??=
# and ?. do not parse at all.
PS7_ONLY_NODE_TYPES = {"pipeline_chain_tail": "'&&' / '||' pipeline chain"}


def parse(source: bytes):
    return Parser(Language(tree_sitter_powershell.language())).parse(source)


def walk(node: Node):
    """Every node under ``node``, in source order."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))
