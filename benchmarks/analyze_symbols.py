#!/usr/bin/env python3
"""Analysis time with symbols (cold and warm cache) against the same dump without symbols.

    .venv/bin/python benchmarks/analyze_symbols.py [--runs 5]

Uses the Wine mini dump of tests/fixtures/symbols (a clang-built program
with a real PDB) and a symbol server on loopback serving its image and its
PDB (compressed, as name.pd_) in Microsoft's layout. "cold": a new, empty
cache, so the image and PDB are downloaded, unpacked and read; "warm": the
cache filled by the cold run, the server stopped (offline). Prints the
median time of each and its ratio to the analysis without symbols. Not part
of the test suite.
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / ".ansible" / "collections"))
sys.path.insert(0, str(REPO / "tests" / "fixtures" / "symbols"))

from symbol_store import SymbolServer, lay_out, unpacked  # noqa: E402

from ansible_collections.crashdump.windows.plugins.plugin_utils._minidump.analyze import analyze_file  # noqa: E402
from ansible_collections.crashdump.windows.plugins.plugin_utils._minidump.symbol_path import SymbolPath  # noqa: E402
from ansible_collections.crashdump.windows.plugins.plugin_utils._minidump.symbols import Symbolizer  # noqa: E402


def timed(dump, symbol_path=None):
    start = time.perf_counter()
    result = analyze_file(dump, symbolizer=Symbolizer(SymbolPath(symbol_path)) if symbol_path else None)
    return time.perf_counter() - start, result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        dump = tmp / "symbols_crash.mini.dmp"
        dump.write_bytes(unpacked("symbols_crash.mini.dmp"))
        server = SymbolServer(lay_out(tmp / "server"))
        url = server.url
        timed(dump)  # imports and first page-ins outside the measurement
        bare = [timed(dump)[0] for _ in range(args.runs)]
        cold = []
        for run in range(args.runs):
            seconds, result = timed(dump, "srv*%s*%s" % (tmp / ("cache%d" % run), url))
            cold.append(seconds)
        frame = result["crashing_thread"]["frames"][0]
        assert frame["function"] == "store_value", frame
        server.stop()
        warm = [timed(dump, "srv*%s*%s" % (tmp / "cache0", url))[0] for _ in range(args.runs)]
    base = statistics.median(bare)
    print("without symbols: %.1f ms" % (base * 1000))
    for name, values in (("cold cache", cold), ("warm cache, offline", warm)):
        median = statistics.median(values)
        print("with symbols, %s: %.1f ms (%.1fx)" % (name, median * 1000, median / base))


if __name__ == "__main__":
    main()
