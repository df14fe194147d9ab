"""The floor of a cold ``b03lint check``: what no reader of this chain can avoid.

    python bench/floor.py ROOT

Python's start-up, reading every revision file's bytes, ``ast.parse`` of each, and
PostgreSQL's own parser (pglast's C extension, ``parse_sql_json``: no Python node objects)
on every SQL string handed to ``op.execute(...)``/``sa.text(...)`` and on the canonical SQL
file. No evaluation, no replay, no rules, one process. ``bench/run.py`` times it beside
b03lint in the same interleaved rounds and prints the ratio.
"""

from __future__ import annotations

import ast
import os
import sys


def _sql_strings(tree: ast.AST) -> list[str]:
    out: list[str] = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("execute", "text") and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)):
            out.append(node.args[0].value)
    return out


def main(root: str) -> int:
    from pglast.parser import parse_sql_json

    statements: list[str] = []
    for dirpath, dirnames, filenames in os.walk(os.path.join(root, "alembic", "versions")):
        dirnames.sort()
        for name in sorted(filenames):
            if name.endswith(".py"):
                with open(os.path.join(dirpath, name), "rb") as fh:
                    statements += _sql_strings(ast.parse(fh.read()))
    with open(os.path.join(root, "db", "schema", "canonical_schema.sql"), encoding="utf-8") as fh:
        statements.append(fh.read())
    parsed = 0
    for sql in statements:
        try:
            parse_sql_json(sql)
            parsed += 1
        except Exception:  # a fragment PostgreSQL rejects: parsed as far as it goes
            pass
    return 0 if parsed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
