"""Shared by the minidump tests: puts the helpers beside this file on sys.path
(``fixture_dumps`` for the real dumps of tests/fixtures/dumps,
``minidump_synth`` for small synthetic dumps), and ``symbol_store`` of
tests/fixtures/symbols; unpacks real dumps once."""

import os
import sys

import pytest

_HERE = os.path.dirname(os.path.abspath(__file__))
_SYMBOLS = os.path.join(_HERE, "..", "..", "..", "..", "fixtures", "symbols")
for _path in (_HERE, os.path.normpath(_SYMBOLS)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

import fixture_dumps  # noqa: E402


@pytest.fixture(scope="session")
def fixture_dump(tmp_path_factory):
    """name (``null_read.mini.dmp.gz``) -> path of the unpacked dump, unpacked once per session."""
    folder = tmp_path_factory.mktemp("dumps")
    return lambda name: fixture_dumps.unpack(name, folder)
