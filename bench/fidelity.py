#!/usr/bin/env python3
"""How faithful the static replay is on a real Alembic history, measured against PostgreSQL.

    python bench/fidelity.py DIR [DIR ...] [--json FILE] [--show N] [--base-schema external]

DIR is a folder of revision files. For each, it:

1. runs ``b03lint schema --at head --format sql`` of the chain and loads that SQL, one
   statement at a time, into an empty database of a throwaway local PostgreSQL cluster
   (:mod:`b03lint.live.localpg`); every statement PostgreSQL rejects is counted, classified
   as "the chain never defines it" (an extension's type or function, a function the chain
   creates in SQL that b03lint does not model) or as a replay error;
2. runs ``b03lint check --output-format json`` and reports the unresolved schema operations
   apart from the unresolved data statements, and the C013 (replay-conflict) findings with
   the last revision that still has one (where the check would go quiet, if it did).

Nothing of the histories is copied or committed: they are read where they lie.
``bench/ACCURACY.md`` (section "Replay fidelity") records the figures.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

#: SQLSTATEs of objects an extension or hand-written SQL defines (type, function, operator
#: class, schema, extension): the chain never defines them in a form b03lint models
_UNDEFINED_ELSEWHERE = {"42704", "42883", "3F000", "58P01", "0A000"}


def _b03lint() -> list[str]:
    exe = Path(sys.executable).with_name("b03lint")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "b03lint"]


def _run(args: list[str], extra_config: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory() as scratch:
        if extra_config:
            Path(scratch, "pyproject.toml").write_text(f"[tool.b03lint]\n{extra_config}\n")
        return subprocess.run([*_b03lint(), *args], cwd=scratch, capture_output=True,
                              text=True, check=False)


def schema_sql(target: Path, extra_config: str) -> str:
    proc = _run(["schema", "--at", "head", "--format", "sql", "--migrations", str(target)],
                extra_config)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"b03lint schema failed on {target}:\n{proc.stderr}")
    return proc.stdout


_EXTENSION_RE = re.compile(r"CREATE\s+EXTENSION\s+(?:IF\s+NOT\s+EXISTS\s+)?\"?([\w-]+)"
                           r"|PGExtension\([^)]*signature=[\"']([\w-]+)", re.IGNORECASE)


def extensions_of(target: Path) -> list[str]:
    """The extensions the chain's own SQL creates (``CREATE EXTENSION citext``)."""
    found: set[str] = set()
    for path in target.rglob("*.py"):
        found |= {m.group(1) or m.group(2)
                  for m in _EXTENSION_RE.finditer(path.read_text(errors="replace"))}
    return sorted(found)


def load_into(cluster: Any, sql: str, prelude: list[str]) -> list[tuple[str, str, str]]:
    """Every statement of ``sql`` PostgreSQL rejects: (sqlstate, message, statement).
    ``prelude`` runs first (its own failures are ignored: an extension the server lacks)."""
    import psycopg

    from b03lint.readers.sql import split_statements

    name = "fidelity"
    cluster.create_database(name)
    failed: list[tuple[str, str, str]] = []
    with cluster.connect(name) as conn:
        for statement in prelude:
            with contextlib.suppress(psycopg.Error):
                conn.execute(statement)  # type: ignore[arg-type]
        for start, end in split_statements(sql):
            statement = sql[start:end].strip()
            if not statement:
                continue
            try:
                conn.execute(statement)  # type: ignore[arg-type]
            except psycopg.Error as exc:
                state = exc.sqlstate or "?"
                first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                failed.append((state, first, " ".join(statement.split())[:160]))
    cluster.drop_database(name)
    return failed


def check_report(target: Path, extra_config: str) -> dict[str, Any]:
    proc = _run(["check", "--output-format", "json", "--no-cache", "--no-baseline",
                 "--migrations", str(target)], extra_config)
    try:
        report: dict[str, Any] = json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise SystemExit(f"b03lint check gave no JSON on {target}:\n{proc.stderr}") from None
    return report


#: stand-ins for what the chain never defines in a form b03lint models: a column whose
#: type is an application's own TypeDecorator is printed as ``unknown`` (a pseudo-type
#: PostgreSQL refuses); a domain of that name, found first on the search path, lets the
#: table load, so that what fails after it is the replay's own error
_STAND_INS = ['CREATE DOMAIN public."unknown" AS text', "SET search_path = public, pg_catalog"]


_CREATE_TABLE_RE = re.compile(r'^CREATE TABLE (?:\S+\.)?"?([^"\s(]+)"? \(', re.MULTILINE)
_MISSING_RE = re.compile(r'relation "([^"]+)" does not exist')
_FK_RE = re.compile(r'FOREIGN KEY \(([^)]*)\) REFERENCES (\S+) \(([^)]*)\)')


def _column_types(sql: str) -> dict[tuple[str, str], str]:
    """(table, column) -> printed type, from the emitted CREATE TABLE statements."""
    out: dict[tuple[str, str], str] = {}
    for m in re.finditer(r'^CREATE TABLE (?:\S+\.)?"?([^"\s(]+)"? \(\n(.*?)\n\);', sql,
                         re.MULTILINE | re.DOTALL):
        for line in m.group(2).splitlines():
            parts = line.strip().split()
            if len(parts) >= 2:
                out[(m.group(1), parts[0].strip('"'))] = parts[1].rstrip(",")
    return out


_CHAIN_CREATES_RE = re.compile(
    r"""create_table\(\s*["']([\w$]+)["']|CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?"""
    r"""(?:\w+\.)?"?([\w$]+)|rename_table\(\s*["'][\w$]+["']\s*,\s*["']([\w$]+)["']"""
    r"""|RENAME\s+TO\s+"?([\w$]+)""", re.IGNORECASE)


def chain_creates(target: Path) -> set[str]:
    """Every table name a revision file creates or renames to, read with a regular
    expression (independent of b03lint, for judging its output)."""
    names: set[str] = set()
    for path in target.rglob("*.py"):
        for m in _CHAIN_CREATES_RE.finditer(path.read_text(errors="replace")):
            names.add(next(g for g in m.groups() if g).lower())
    return names


def classify(sql: str, failed: list[tuple[str, str, str]],
             chain_tables: set[str]) -> dict[str, list[Any]]:
    """Each rejected statement as: ``undefined`` (an object the chain never defines in a
    form b03lint models: an extension's type or function, a table it never creates, a type
    of the application's), ``cascade`` (it needs a table whose own CREATE failed) or
    ``replay`` (b03lint's replay is wrong: a table the chain creates is missing, ...)."""
    created = set(_CREATE_TABLE_RE.findall(sql))
    types = _column_types(sql)
    out: dict[str, list[Any]] = {"undefined": [], "cascade": [], "replay": []}
    for item in failed:
        state, message, statement = item
        missing = _MISSING_RE.search(message)
        fk = _FK_RE.search(statement)
        if missing and missing.group(1) in created:
            out["cascade"].append(item)  # its own CREATE TABLE failed
        elif state in _UNDEFINED_ELSEWHERE or (missing and missing.group(1) not in chain_tables):
            out["undefined"].append(item)
        elif state == "42804" and fk and "unknown" in {
                types.get((statement.split()[2].strip('"'), fk.group(1).strip('"'))),
                types.get((fk.group(2).strip('"').split(".")[-1], fk.group(3).strip('"')))}:
            out["undefined"].append(item)  # a key of the application's own type
        else:
            out["replay"].append(item)
    return out


def quiet_point(target: Path) -> tuple[int, int, str] | None:
    """(position, revisions, file) of the first unresolved operation that may touch
    anything: C013 suppresses every conflict after it."""
    from b03lint import contract
    from b03lint.config import load_config
    from b03lint.engine import load_project

    with tempfile.TemporaryDirectory() as scratch:
        pyproject = Path(scratch, "pyproject.toml")
        pyproject.write_text(f'[tool.b03lint]\nmigrations = "{target}"\n')
        project = load_project(load_config(pyproject))
        if hasattr(contract, "project_replay"):
            replay = contract.project_replay(project, None)
        else:  # an older b03lint, measured for the "before" figures
            replay = contract.replay_chain(project.graph, None)
        if not replay.unknown_anywhere:
            return None
        path = replay.unknown_anywhere[0].loc.path
        order = project.graph.order
        for i, rev in enumerate(order):
            if project.graph.nodes[rev].path == path:
                return i + 1, len(order), Path(path).name
        return None


def measure(cluster: Any, target: Path, extra_config: str) -> dict[str, Any]:
    sql = schema_sql(target, extra_config)
    unknown_types = len(re.findall(r"^\s+\S+ unknown\b", sql, re.MULTILINE))
    plain = load_into(cluster, sql, [])
    prelude = [f'CREATE EXTENSION IF NOT EXISTS "{e}"' for e in extensions_of(target)]
    failed = load_into(cluster, sql, [*prelude, *_STAND_INS])
    kinds = classify(sql, failed, chain_creates(target))
    elsewhere, errors = kinds["undefined"], kinds["replay"]
    report = check_report(target, extra_config)
    summary = report.get("summary", {})
    c013 = [f for f in report["findings"] if f["code"] == "C013"]
    revisions = [str((f.get("data") or {}).get("revision")) for f in c013]
    return {
        "target": str(target),
        "rejected_as_printed": len(plain),
        "columns_of_unknown_type": unknown_types,
        "extensions": prelude,
        "statements_rejected": len(failed),
        "undefined_elsewhere": len(elsewhere),
        "cascade": len(kinds["cascade"]),
        "replay_errors": len(errors),
        "errors": errors,
        "elsewhere": elsewhere,
        "operations": summary.get("operations"),
        "unresolved": summary.get("unresolved_operations"),
        "unresolved_schema": summary.get("unresolved_schema_operations"),
        "unresolved_data": summary.get("unresolved_data_statements"),
        "c013": len(c013),
        "c013_messages": Counter(" ".join(f["message"].split()[:4]) for f in c013),
        "c013_last_revision": revisions[-1] if revisions else None,
        "c013_quiet_after": quiet_point(target),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dirs", nargs="+", type=Path)
    parser.add_argument("--json", type=Path, help="write the figures as JSON to FILE")
    parser.add_argument("--show", type=int, default=10,
                        help="print up to N rejected statements per history")
    parser.add_argument("--config", default="",
                        help="extra [tool.b03lint] lines, e.g. 'base_schema = \"external\"'")
    args = parser.parse_args(argv)
    from b03lint.live.localpg import PostgresCluster

    results = []
    with PostgresCluster() as cluster:
        for target in args.dirs:
            res = measure(cluster, target.resolve(), args.config)
            results.append(res)
            print(f"== {target}")
            for key in ("rejected_as_printed", "columns_of_unknown_type", "extensions",
                        "statements_rejected", "undefined_elsewhere", "cascade",
                        "replay_errors",
                        "operations", "unresolved", "unresolved_schema", "unresolved_data",
                        "c013", "c013_last_revision", "c013_quiet_after"):
                print(f"  {key}: {res[key]}")
            for state, message, statement in res["errors"][: args.show]:
                print(f"  ! {state} {message}\n      {statement}")
            for state, message, _statement in res["elsewhere"][: min(3, args.show)]:
                print(f"  ~ {state} {message}")
            for message, n in res["c013_messages"].most_common(5):
                print(f"  C013 x{n}: {message} ...")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    os.environ.pop("DATABASE_URL", None)
    raise SystemExit(main())
