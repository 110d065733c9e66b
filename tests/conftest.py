"""Shared pytest setup: make the collection and the lab importable with plain pytest.

* ``import ansible_collections.crashdump.windows...`` resolves through
  ``.ansible/collections/ansible_collections/crashdump/windows``, the symlink to
  this checkout that tools/setup.sh makes; ``ansible_collections`` is a
  namespace package, so no ``__init__.py`` is needed.
* ``import crashdump_lab`` comes from ``lab/``.
* ``ANSIBLE_COLLECTIONS_PATH`` names the same folder, so that ansible-core's
  own collection finder, once something installs it (the plugin loader, or an
  ``ansible-*`` subprocess), finds the collection at the same place.
"""

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
COLLECTIONS = REPO / ".ansible" / "collections"
LINK = COLLECTIONS / "ansible_collections" / "crashdump" / "windows"

if not (LINK / "galaxy.yml").is_file():
    pytest.exit(f"{LINK} is missing: run tools/setup.sh first", returncode=4)

for path in (REPO / "lab", REPO, COLLECTIONS):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

_paths = os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(os.pathsep)
if str(COLLECTIONS) not in _paths:
    os.environ["ANSIBLE_COLLECTIONS_PATH"] = os.pathsep.join([str(COLLECTIONS), *filter(None, _paths)])
