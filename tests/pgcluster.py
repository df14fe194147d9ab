"""The test suite's throwaway PostgreSQL cluster is b03lint's own
(:mod:`b03lint.live.localpg`, also used by ``b03lint rebuild`` without a URL); this module
keeps the import path the tests use (``from pgcluster import PostgresCluster``)."""

from __future__ import annotations

from b03lint.live.localpg import (
    DEDICATED_OS_USER,
    SUPERUSER,
    PostgresCluster,
    PostgresClusterError,
    PostgresUnavailable,
    find_bindir,
    free_port,
)

__all__ = [
    "DEDICATED_OS_USER",
    "SUPERUSER",
    "PostgresCluster",
    "PostgresClusterError",
    "PostgresUnavailable",
    "find_bindir",
    "free_port",
]
