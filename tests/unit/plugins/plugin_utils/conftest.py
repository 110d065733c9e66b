"""Puts the helpers beside this file on sys.path (``crash_records``: Application log records made here;
``powershell_tree``: the syntax tree the PowerShell tests walk)."""

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
