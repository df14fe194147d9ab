"""Cold-read time of the Python migration reader, per file, on a folder of revisions.

    .venv/bin/python bench/read_time.py DIR [--processes P] [--vs OTHER_PYTHON]

Each of ``P`` fresh processes (default 7) imports the reader, reads every ``*.py`` file of
``DIR`` once (bytes read before the clock starts, no cache), and reports the time the
reader took; a fresh process for each sample keeps the reader's one-time costs (lazy
imports of the SQL reader and pglast, the first SQL statements) in the figure, as in a
cold ``b03lint check --no-cache``. Printed: the median over the processes of the total, of
the time per file, and of the slowest file.

``--vs OTHER_PYTHON`` compares two versions of the reader on the same files: the other
interpreter (a virtual environment with the other version installed, not in editable
mode) runs in turn with this one, A B A B ..., and the ratio A/B is taken pair by pair,
so that a machine whose speed drifts (other jobs) moves both alike.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

_CHILD = r"""
import json, sys, time
from pathlib import Path
from b03lint.readers.python import read_migration
root = Path(sys.argv[1])
files = sorted(p for p in root.rglob("*.py") if p.name != "__init__.py")
data = [(str(p.relative_to(root)), p.read_bytes()) for p in files]
times = []
unresolved = 0
for shown, raw in data:
    t = time.perf_counter()
    mf = read_migration(shown, raw)
    times.append(time.perf_counter() - t)
    unresolved += sum(type(o).__name__ == "Unresolved" for o in mf.operations)
print(json.dumps({"files": len(times), "total": sum(times), "max": max(times, default=0.0),
                  "unresolved": unresolved}))
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--processes", type=int, default=7)
    parser.add_argument("--vs", metavar="OTHER_PYTHON",
                        help="another interpreter with another version of b03lint")
    args = parser.parse_args(argv)
    pythons = [sys.executable] + ([args.vs] if args.vs else [])
    runs: dict[str, list[dict[str, float]]] = {p: [] for p in pythons}
    for _ in range(args.processes):
        for python in pythons:
            out = subprocess.run([python, "-c", _CHILD, str(args.folder)], cwd="/",
                                 capture_output=True, text=True, check=True)
            runs[python].append(json.loads(out.stdout))
    for python in pythons:
        mine = runs[python]
        files = int(mine[0]["files"])
        total = statistics.median(r["total"] for r in mine) * 1000
        slowest = statistics.median(r["max"] for r in mine) * 1000
        print(f"{python}: {files} files, {args.processes} processes: total {total:.0f} ms "
              f"median, {total / max(files, 1):.2f} ms per file, slowest file "
              f"{slowest:.1f} ms; {int(mine[0]['unresolved'])} unresolved operations")
    if args.vs:
        ratios = [a["total"] / b["total"] for a, b in zip(runs[pythons[0]], runs[args.vs],
                                                           strict=True)]
        print(f"this / other, pair by pair: median {statistics.median(ratios):.3f} "
              f"(min {min(ratios):.3f}, max {max(ratios):.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
