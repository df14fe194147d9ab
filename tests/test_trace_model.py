"""The lock model against the trace, for every operation kind of the vocabulary.

The fidelity chain (``tests/fidelity_chain.py``) uses every operation kind, in the Python
form (``op.*``, ``batch_alter_table``) and the SQL form. Here it is upgraded on the suite's
real PostgreSQL the way ``b03lint rebuild --trace`` does it (:mod:`b03lint.live.tracerun`):
one revision at a time, with the trace hooks on SQLAlchemy's cursor events
(:func:`b03lint.live.trace.install`) measuring every statement Alembic sends, and a few
generated rows in every table before the next revision. At each statement the lock model
(at the server's major) must agree with what the server did: the test fails on any
disagreement, which is what ``M005`` reports in a real run.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from fidelity_chain import database_url, write_project
from pgcluster import PostgresCluster

from b03lint.config import load_config
from b03lint.live import MigrationFailure
from b03lint.live.compare import load_context
from b03lint.live.evidence import Evidence
from b03lint.live.introspect import introspect
from b03lint.live.trace import install
from b03lint.live.tracerun import TraceOutcome, TraceRun
from b03lint.operations import OPERATION_TYPES
from b03lint.readers.sql import read_sql


@pytest.fixture(scope="module")
def traced(pg_cluster: PostgresCluster, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[TraceOutcome, list[str]]]:
    import psycopg
    from alembic.config import Config

    from alembic import command

    root = tmp_path_factory.mktemp("trace-fidelity")
    revisions = write_project(root)
    name = "trace_model"
    url = pg_cluster.create_database(name)
    cfg = Config(str(root / "alembic.ini"))
    ctx = load_context(load_config(explicit=root / "pyproject.toml"))

    def connect() -> psycopg.Connection[Any]:
        return psycopg.connect(url)

    def snapshot() -> Any:
        with connect() as conn:
            return introspect(conn, name).schema

    def migrate(rev: str) -> Sequence[tuple[str, dict[str, Any]]]:
        events: list[tuple[str, dict[str, Any]]] = []
        remove = install(lambda kind, **data: events.append((kind, data)), connect)
        try:
            with database_url(url):
                command.upgrade(cfg, rev)
        except Exception as exc:  # what rebuild's runner makes of it
            raise MigrationFailure("upgrade", rev, rev, " ".join(str(exc).split())) from None
        finally:
            remove()
        return events

    try:
        ev = Evidence()
        run = TraceRun(ctx, ev, connect, snapshot)
        try:
            yield run.upgrade(revisions, migrate), revisions
        finally:
            print("\n".join(ev.rebuild))
    finally:
        pg_cluster.drop_database(name)


def test_the_trace_agrees_with_the_model_at_every_statement(
        traced: tuple[TraceOutcome, list[str]]) -> None:
    outcome, revisions = traced
    report = outcome.report
    assert report.version is not None and report.version >= 10
    assert {r.revision for r in report.rows} == set(revisions)
    wrong = [f"{r.revision} {r.sql.strip()[:90]}: "
             + "; ".join(d.message() for d in r.verdict.disagreements)
             for r in report.rows if not r.verdict.agrees]
    assert wrong == [], "\n".join(wrong)
    assert report.counts()["verified"] > len(revisions)


def test_every_operation_kind_ran_under_the_trace(
        traced: tuple[TraceOutcome, list[str]]) -> None:
    outcome, _ = traced
    kinds = {op.kind for r in outcome.report.rows
             for op in read_sql(r.sql, path="traced.sql").operations}
    # ``unresolved`` (the DO block) is what the model never claims to know
    assert sorted(set(OPERATION_TYPES) - kinds) == []
    unmodelled = {r.sql.strip().split()[0].upper() for r in outcome.report.rows
                  if not r.prediction.modelled}
    assert unmodelled <= {"DO", "CREATE"}, unmodelled


def test_the_tables_held_rows(traced: tuple[TraceOutcome, list[str]]) -> None:
    outcome, revisions = traced
    first = outcome.seeded[revisions[0]]
    assert first.rows == {"children": 3, "parents": 3}
    # a partitioned table without partitions (readings_low was detached) takes no row
    skipped = {t: why for s in outcome.seeded.values() for t, why in s.skipped.items()}
    assert skipped == {"readings": 'no partition of relation "readings" found for row'}


def test_a_revision_that_fails_on_rows_runs_again_on_empty_tables(
        traced: tuple[TraceOutcome, list[str]]) -> None:
    """f04 gives every row of ``single`` the default 'w'; f07 builds a unique index on it:
    fine on an empty table, a failure on a table with rows (M006)."""
    outcome, _ = traced
    assert list(outcome.failed_with_rows) == ["f07"]
    assert "could not create unique index" in outcome.failed_with_rows["f07"]
    assert any(r.revision == "f07" for r in outcome.report.rows)
