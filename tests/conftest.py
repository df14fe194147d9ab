"""Shared pytest fixtures.

``pg_cluster`` is one real, throwaway PostgreSQL server for the whole test session (see
``tests/pgcluster.py``), run by an unprivileged OS user, with password authentication
(scram-sha-256) on 127.0.0.1: every URL of a test carries its role's password, and a wrong
one is refused as on a real server. Without PostgreSQL installed the tests that need it are skipped,
except in CI (the ``CI`` environment variable is set), where they fail: a CI job that
silently skips its database tests proves nothing.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest
from ci_skip import skip_outside_ci
from pgcluster import PostgresCluster, PostgresUnavailable


def _unavailable(reason: str) -> NoReturn:
    skip_outside_ci(f"PostgreSQL: {reason}")


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster]:
    """A running PostgreSQL cluster (superuser ``postgres`` with a random password,
    127.0.0.1)."""
    try:
        import psycopg  # noqa: F401  (the cluster helpers talk to the server with it)
    except ImportError:
        _unavailable("psycopg 3 is not installed (pip install 'b03lint[live]')")
    try:
        cluster = PostgresCluster(password=f"su-{secrets.token_hex(8)}")
    except PostgresUnavailable as exc:
        _unavailable(str(exc))
    with cluster:
        yield cluster


@pytest.fixture()
def pg_database(pg_cluster: PostgresCluster) -> Iterator[str]:
    """The URL of a fresh, empty database, dropped after the test."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    url = pg_cluster.create_database(name)
    try:
        yield url
    finally:
        pg_cluster.drop_database(name)


@pytest.fixture()
def example_copy(tmp_path: Path) -> Path:
    """A private copy of the bundled example project (chain, canonical files, drift
    register, ADRs, rules, scripts, configuration) for a test to edit; returns its root."""
    from live_support import copy_example

    root = tmp_path / "example"
    root.mkdir()
    copy_example(root)
    return root
