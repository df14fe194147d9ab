"""Helpers of the live-mode tests (``tests/test_live_*.py``): run the real command line
in-process or as a subprocess, copy the bundled example to edit it, list scratch databases.
Everything talks to the real server of the ``pg_cluster`` fixture; nothing is mocked."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from pgcluster import PostgresCluster

ROOT = Path(__file__).resolve().parents[1]
HEAD = "202511171200"
PRE_RECONCILIATION = "202511161130"


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)

    @property
    def text(self) -> str:
        return self.out + self.err


def b03(*args: str, env: dict[str, str] | None = None) -> Run:
    """``b03lint ARGS`` in this process (``DATABASE_URL`` unset unless ``env`` sets it;
    the variables of ``env`` only for this run)."""
    from b03lint.cli import main

    out, err = io.StringIO(), io.StringIO()
    names = {"DATABASE_URL", *(env or {})}
    saved = {name: os.environ.get(name) for name in names}
    os.environ.pop("DATABASE_URL", None)
    os.environ.update(env or {})
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
    finally:
        for name, value in saved.items():  # the environment as it was
            os.environ.pop(name, None)
            if value is not None:
                os.environ[name] = value
    return Run(code, out.getvalue(), err.getvalue())


def b03_process(*args: str, cwd: Path = ROOT,
                env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """``b03lint ARGS`` as a child process (for signals), output piped; ``DATABASE_URL``
    unset unless ``env`` (the whole environment) sets it."""
    if env is None:
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return subprocess.Popen([sys.executable, "-m", "b03lint", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_default_signals)


def _default_signals() -> None:
    """In the child, before exec: the signals the tests send get their default action, as
    in a terminal's foreground job. A suite started in the background (``cmd &`` in a
    script, ``nohup``) ignores SIGINT and SIGHUP, an ignored signal stays ignored across
    exec, and b03lint rightly leaves an inherited SIG_IGN alone, so the interrupt tests
    would otherwise wait out their timeout."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)


def b03_fresh(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None,
              timeout: float = 300) -> Run:
    """``b03lint ARGS`` in a fresh interpreter (nothing remembered from other tests, e.g.
    the passwords the masking routine has seen); ``env`` is added to this environment,
    without ``DATABASE_URL`` unless ``env`` sets it."""
    full = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    full.update(env or {})
    proc = subprocess.run([sys.executable, "-m", "b03lint", *args], cwd=cwd, env=full,
                          capture_output=True, text=True, timeout=timeout, check=False)
    return Run(proc.returncode, proc.stdout, proc.stderr)


def copy_example(dest: Path) -> Path:
    """The bundled example project (chain, canonical files, register, ADRs, config) in
    ``dest``, to be edited by a test; returns its pyproject.toml."""
    for name in ("alembic", "db", "docs", "rules", "scripts"):
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, dest / name,
                            ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("alembic.ini", "pyproject.toml"):
        shutil.copy2(ROOT / name, dest / name)
    return dest / "pyproject.toml"


def role_url(url: str, role: str, password: str) -> str:
    """``url`` (the superuser's, with its password) as ``role`` with ``password``."""
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{quote(role, safe='')}:{quote(password, safe='')}@{rest.split('@', 1)[1]}"


def scratch_databases(cluster: PostgresCluster) -> list[str]:
    with cluster.connect() as conn:
        rows = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE "
                            "'b03lint\\_scratch\\_%' ORDER BY 1").fetchall()
    return [str(r[0]) for r in rows]


def alembic_upgrade(url: str, rev: str = "head", root: Path = ROOT) -> None:
    """The real ``alembic upgrade`` command, as the guide runs it."""
    script = Path(sys.executable).with_name("alembic")
    argv = [str(script)] if script.exists() else [sys.executable, "-m", "alembic"]
    env = {**os.environ, "DATABASE_URL": url}
    result = subprocess.run([*argv, "-c", str(root / "alembic.ini"), "upgrade", rev], cwd=root,
                            env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr


def sleeping_example(tmp_path: Path) -> str:
    """The example plus a revision after the head that sleeps for a minute."""
    config = copy_example(tmp_path)
    (tmp_path / "alembic" / "versions" / "202512010000_sleep.py").write_text(f'''"""Sleep."""
from alembic import op

revision = "202512010000"
down_revision = "{HEAD}"


def upgrade() -> None:
    op.execute("SELECT pg_sleep(60)")


def downgrade() -> None:
    pass
''', encoding="utf-8")
    return str(config)


def wait_for_sleep(cluster: PostgresCluster, timeout: float = 60) -> int:
    """The pid of the backend running the sleeping migration in a scratch database."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with cluster.connect() as conn:
            row = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname LIKE "
                               "'b03lint\\_scratch\\_%' AND query LIKE '%pg_sleep(60)%' "
                               "AND state = 'active'").fetchone()
        if row:
            return int(row[0])
        time.sleep(0.1)
    raise AssertionError("the sleeping migration never started")
