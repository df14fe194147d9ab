"""What the Python reader leaves unresolved on real histories, by construct.

    .venv/bin/python bench/unresolved.py DIR [DIR ...] [--json OUT] [--compare BEFORE.json]

Reads every ``*.py`` below each DIR with ``read_migration`` (statically, as ``check``
does, no cache), and sorts each ``Unresolved`` operation of ``upgrade()``/``downgrade()``
and the module level into the construct its reason names (a helper call, a run-time
condition, a loop over run-time data, SQL built at run time, ...). Prints a Markdown table:
operations read, unresolved ones, the unresolved share, and the count per construct;
with ``--compare`` (a ``--json`` of another version, e.g. run with another checkout's
interpreter) both side by side. Only ``read_migration`` and ``Unresolved`` are used, so an
older version of b03lint runs it too.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

#: (construct, pattern on the reason), first match wins
CONSTRUCTS: list[tuple[str, str]] = [
    ("helper function of the file (not followed)", r"^call to helper function"),
    ("class of the file called", r"^call to class"),
    ("run-time condition (`if`, `match`)", r"depend on a run-time (condition|`match`)"),
    ("`try` / `while`", r"inside `try`|`while` loop"),
    ("loop or comprehension over run-time values",
     r"^loop over|^comprehension over|runs once per value"),
    ("call of something not known statically", r"^call to `.*`, which is not known"),
    ("method call on a value not known statically", r"on a value not known statically"),
    ("SQL built at run time", r"SQL is built at run time"),
    ("SQL template: a part filled in at run time", r"filled in at run time|SQL template"),
    ("SQLAlchemy statement object executed", r"SQLAlchemy `.*` (statement object|construct)"),
    ("operation b03lint does not know", r"is not an operation b03lint understands"),
    ("argument of an operation not known statically",
     r"not known statically|not SQL text known statically"),
    ("argument not understood", r"not understood"),
    ("PL/pgSQL control flow in a DO block", r"in DO block"),
    ("module level (revision ids, calls at import)", r"at module level|is not a literal|"
                                                      r"plain top-level `def`"),
]


def construct(reason: str) -> str:
    for name, pattern in CONSTRUCTS:
        if re.search(pattern, reason):
            return name
    return "other"


def measure(folders: list[Path]) -> dict[str, object]:
    from b03lint.operations import Unresolved
    from b03lint.readers.python import read_migration

    files = operations = 0
    counts: Counter[str] = Counter()
    for folder in folders:
        for path in sorted(folder.rglob("*.py")):
            if path.name == "__init__.py":
                continue
            mf = read_migration(str(path), path.read_bytes())
            files += 1
            for op in mf.operations:
                operations += 1
                if isinstance(op, Unresolved):
                    counts[construct(op.reason)] += 1
    return {"files": files, "operations": operations, "unresolved": sum(counts.values()),
            "by_construct": dict(counts)}


def table(after: dict[str, object], before: dict[str, object] | None) -> str:
    def share(m: dict[str, object]) -> str:
        ops, unres = int(m["operations"]), int(m["unresolved"])  # type: ignore[call-overload]
        return f"{unres:,} of {ops:,} ({100 * unres / max(ops, 1):.1f} %)"

    a = after["by_construct"]
    b = before["by_construct"] if before else {}
    assert isinstance(a, dict) and isinstance(b, dict)
    names = [n for n, _ in CONSTRUCTS] + ["other"]
    lines = []
    if before:
        lines += ["| construct | before | after |", "|---|---|---|",
                  f"| **unresolved operations (share of all read)** | {share(before)} | "
                  f"{share(after)} |"]
        lines += [f"| {n} | {b.get(n, 0)} | {a.get(n, 0)} |" for n in names
                  if a.get(n, 0) or b.get(n, 0)]
    else:
        lines += ["| construct | unresolved |", "|---|---|",
                  f"| **unresolved operations (share of all read)** | {share(after)} |"]
        lines += [f"| {n} | {a.get(n, 0)} |" for n in names if a.get(n, 0)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--compare", type=Path, help="the --json of the version before")
    args = parser.parse_args(argv)
    after = measure(args.folders)
    if args.json:
        args.json.write_text(json.dumps(after, indent=1) + "\n")
    before = json.loads(args.compare.read_text()) if args.compare else None
    print(table(after, before))
    return 0


if __name__ == "__main__":
    sys.exit(main())
