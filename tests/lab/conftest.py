"""Fixtures for the lab tests: the lab package on sys.path, a private state
directory per test (never lab/state), and the minidump reader."""

from __future__ import annotations

import os
import sys

import pytest

LAB_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "lab")
for path in (LAB_DIR, os.path.dirname(os.path.abspath(__file__))):
    if path not in sys.path:
        sys.path.insert(0, path)


@pytest.fixture
def state_dir(tmp_path, monkeypatch):
    """A fresh lab state directory, also exported for code that reads the environment."""
    directory = str(tmp_path / "lab-state")
    monkeypatch.setenv("CRASHDUMP_LAB_STATE_DIR", directory)
    return directory
