"""Every changelog fragment is YAML that antsibull-changelog can take: a mapping of the
sections of changelogs/config.yaml to lists of strings (a stray ": " in a plain line breaks the YAML)."""

from pathlib import Path

import pytest
import yaml

CHANGELOGS = Path(__file__).resolve().parents[2] / "changelogs"
FRAGMENTS = sorted((CHANGELOGS / "fragments").glob("*.yml"))
CONFIG = yaml.safe_load((CHANGELOGS / "config.yaml").read_text(encoding="utf-8"))
SECTIONS = {name for name, _title in CONFIG["sections"]} | {"release_summary", CONFIG["trivial_section_name"]}


@pytest.mark.parametrize("path", FRAGMENTS, ids=lambda p: p.name)
def test_fragment_is_well_formed(path):
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict) and data and set(data) <= SECTIONS, data
    for entries in data.values():
        assert isinstance(entries, list) and all(isinstance(e, str) and e.strip() for e in entries), entries
