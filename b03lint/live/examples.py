"""Run the examples of a live rule (``M001``...) against a real PostgreSQL server.

:func:`b03lint.testing.check_example` hands live rules' examples here: the example becomes
a small Alembic project (the example migration, its extra files, a minimal ``env.py`` and
``alembic.ini``), ``b03lint rebuild`` runs on it with the flags the rule needs (``--probes``,
``--roundtrip``), and the rule must (invalid) or must not (valid) report, at the example's
line when it gives one. The server is a throwaway local cluster started once per process
(stopped at exit).
"""

from __future__ import annotations

import atexit
import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from b03lint.live import LiveError

if TYPE_CHECKING:
    from b03lint.live.localpg import PostgresCluster
    from b03lint.rules.base import Example, Rule

EXAMPLE_PATH = "alembic/versions/example.py"

_ENV_PY = '''\
import os

from sqlalchemy import create_engine, pool

from alembic import context

url = os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1)
engine = create_engine(url, poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
'''

_INI = """\
[alembic]
script_location = alembic
version_locations = %(here)s/alembic/versions
recursive_version_locations = true
path_separator = os
"""

_cluster: PostgresCluster | None = None


def _server_url() -> str:
    global _cluster
    if _cluster is None or not _cluster.running:
        from b03lint.live.localpg import PostgresCluster, PostgresUnavailable

        try:
            cluster = PostgresCluster(tcp=False, create_os_user=False)
        except PostgresUnavailable as exc:
            raise LiveError(str(exc)) from None
        cluster.start()
        atexit.register(cluster.stop)
        _cluster = cluster
    return _cluster.url("postgres")


def _write_project(root: Path, example: Example) -> None:
    settings = {"migrations": "alembic/versions", **example.config}
    lines = ["[tool.b03lint]"] + [f"{k} = {json.dumps(v)}" for k, v in settings.items()]
    files = {EXAMPLE_PATH: example.source, "alembic/env.py": _ENV_PY, "alembic.ini": _INI,
             "pyproject.toml": "\n".join(lines) + "\n", **example.files}
    for rel, text in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def check_live_example(rule: type[Rule], example: Example, *, invalid: bool) -> list[str]:
    """Problems with one example of a live rule (empty when it behaves as documented)."""
    from b03lint.config import load_config
    from b03lint.live.rebuild import Options, rebuild

    flags = set(getattr(rule, "rebuild_flags", ()))
    with tempfile.TemporaryDirectory(prefix="b03lint-live-example-") as tmp:
        root = Path(tmp)
        _write_project(root, example)
        cwd = os.getcwd()
        os.chdir(root)
        try:
            url = _server_url()
            config = load_config(explicit=root / "pyproject.toml")
            outcome = rebuild(config, Options(url=url, rev=example.rev or "head",
                                              probes="probes" in flags,
                                              roundtrip="roundtrip" in flags,
                                              trace="trace" in flags,
                                              alembic_ini=root / "alembic.ini"))
        except LiveError as exc:
            return [f"cannot run the example against PostgreSQL: {exc}"]
        finally:
            os.chdir(cwd)
    result = outcome.result
    hits = [f for f in result.findings
            if f.code == rule.code and f.severity == rule.default_severity]
    shown = [(f.code, f.path, f.line, f.severity, f.message) for f in result.findings]
    if result.errors:
        return [f"errors: {[str(e) for e in result.errors]}; findings: {shown}"]
    if not invalid:
        return [f"expected no {rule.code}, got: {shown}"] if hits else []
    if not hits:
        return [f"expected {rule.code} to trigger, got: {shown}"]
    if example.line is not None and not any(
            f.path == EXAMPLE_PATH and f.line == example.line for f in hits):
        return [f"expected {rule.code} at {EXAMPLE_PATH}:{example.line}, got "
                f"{[(f.path, f.line) for f in hits]}"]
    return []
