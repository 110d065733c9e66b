"""Shared by the minidump tests: puts the helpers beside this file on sys.path
(``fixture_dumps`` for the real dumps of tests/fixtures/dumps,
``minidump_synth`` for small synthetic dumps) and unpacks real dumps once."""

import os
import sys

import pytest

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

import fixture_dumps  # noqa: E402


@pytest.fixture(scope="session")
def fixture_dump(tmp_path_factory):
    """name (``null_read.mini.dmp.gz``) -> path of the unpacked dump, unpacked once per session."""
    folder = tmp_path_factory.mktemp("dumps")
    return lambda name: fixture_dumps.unpack(name, folder)
