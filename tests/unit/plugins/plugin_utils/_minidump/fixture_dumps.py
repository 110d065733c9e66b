"""The real crash dumps of tests/fixtures/dumps and the facts each must yield (facts.json)."""

import gzip
import json
from pathlib import Path

FOLDER = Path(__file__).resolve().parents[4] / "fixtures" / "dumps"
FACTS = json.loads((FOLDER / "facts.json").read_text())
NAMES = sorted(FACTS["dumps"])


def unpack(name, folder):
    """Unpack the committed ``name`` (gzip) into ``folder`` once; its path."""
    target = Path(folder) / name[:-len(".gz")]
    if not target.exists():
        target.write_bytes(gzip.decompress((FOLDER / name).read_bytes()))
    return target


def program(name):
    """The facts of the program whose dump ``name`` is."""
    return FACTS["programs"][FACTS["dumps"][name]["program"]]
