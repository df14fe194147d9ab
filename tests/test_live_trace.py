"""The trace hooks (:func:`b03lint.live.trace.install`) on SQLAlchemy's cursor events, as
the migration process uses them: every statement of a migration, inside its transaction and
in autocommit (what ``autocommit_block()`` does), is measured on a real server; Alembic's
own statements are not."""

from __future__ import annotations

from typing import Any

import pytest

from b03lint.live.trace import Observed, install, is_migration_statement


@pytest.fixture
def engine(pg_database: str) -> Any:
    import sqlalchemy as sa

    eng = sa.create_engine(pg_database.replace("postgresql://", "postgresql+psycopg://", 1),
                           poolclass=sa.pool.NullPool)
    with eng.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE events (id int PRIMARY KEY, code text)")
        conn.exec_driver_sql("INSERT INTO events VALUES (1, 'a'), (2, 'b')")
    yield eng
    eng.dispose()


def test_statements_in_a_transaction_and_in_autocommit(engine: Any, pg_database: str) -> None:
    import psycopg

    events: list[tuple[str, dict[str, Any]]] = []
    remove = install(lambda kind, **data: events.append((kind, data)),
                     lambda: psycopg.connect(pg_database))
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE events ADD COLUMN note text DEFAULT random()")
            conn.exec_driver_sql("SELECT pg_catalog.version()")
        with engine.connect() as conn:
            auto = conn.execution_options(isolation_level="AUTOCOMMIT")
            auto.exec_driver_sql("CREATE INDEX CONCURRENTLY ix_events_code ON events (code)")
    finally:
        remove()
    kinds = [k for k, _ in events]
    assert kinds == ["server", "statement", "statement"]
    assert events[0][1]["version"] >= 10
    first, second = (Observed.from_json(d["observed"]) for _, d in events[1:])
    assert first.locks["events"] >= {"ACCESS EXCLUSIVE"} and first.rewritten == {"events"}
    assert events[1][1]["autocommit"] is False and first.complete
    assert events[2][1]["autocommit"] is True
    assert second.locks == {"events": {"SHARE UPDATE EXCLUSIVE"}} and second.waited is True
    assert not second.complete


def test_alembic_and_sqlalchemy_statements_are_not_the_migration() -> None:
    assert not is_migration_statement("UPDATE alembic_version SET version_num='a1'")
    assert not is_migration_statement("select pg_catalog.version()")
    assert not is_migration_statement("SELECT c.relname FROM pg_catalog.pg_class c")
    assert not is_migration_statement("show standard_conforming_strings")
    assert is_migration_statement("ALTER TABLE events ADD COLUMN note text")
    assert is_migration_statement("SELECT make_status_index()")
