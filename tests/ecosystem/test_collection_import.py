"""Plain pytest imports the collection as ansible_collections.crashdump.windows (see tests/conftest.py)."""

import importlib
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_collection_package_is_this_checkout():
    import ansible_collections.crashdump.windows as collection

    assert [Path(p).resolve() for p in collection.__path__] == [REPO]


def test_plugin_utils_import():
    plugin_utils = importlib.import_module("ansible_collections.crashdump.windows.plugins.plugin_utils")
    assert Path(next(iter(plugin_utils.__path__))).resolve() == REPO / "plugins" / "plugin_utils"


def test_import_under_ansible_collection_loader():
    """Once ansible-core installs its own collection finder (as every ansible-* command does), the
    collection still imports from the same place: ANSIBLE_COLLECTIONS_PATH set by conftest."""
    code = (
        "from ansible.plugins.loader import init_plugin_loader; init_plugin_loader();"
        "import ansible_collections.crashdump.windows.plugins.plugin_utils as p; print(list(p.__path__)[0])"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()).resolve() == REPO / "plugins" / "plugin_utils"
