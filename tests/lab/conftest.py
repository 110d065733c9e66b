"""Fixtures for the lab's own tests: a private state directory per test
(never lab/state) and the minidump reader beside this file on sys.path.
tests/conftest.py puts lab/ on sys.path."""

from __future__ import annotations

import os
import sys

import pytest

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)


@pytest.fixture
def state_dir(tmp_path, monkeypatch):
    """A fresh lab state directory, also exported for code that reads the environment."""
    directory = str(tmp_path / "lab-state")
    monkeypatch.setenv("CRASHDUMP_LAB_STATE_DIR", directory)
    return directory
