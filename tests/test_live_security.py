"""Live-mode hardening: passwords never leak (output, errors, --debug, artefacts), and a
failed connection, a server that goes away, a statement timeout, a missing privilege, Ctrl-C
and SIGTERM each end with a clear message, the right exit code and no scratch database or
local server left behind."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from live_support import (
    ROOT,
    Run,
    alembic_upgrade,
    b03,
    b03_process,
    scratch_databases,
    sleeping_example,
    wait_for_sleep,
)
from pgcluster import PostgresCluster

from b03lint.live.redact import remember, remember_url, scrub

CONFIG = str(ROOT / "pyproject.toml")
PASSWORD = "Pw-S3cret/with:odd@chars%"
ROLE = "b03_secret_role"


@pytest.fixture(scope="module")
def secret_role(pg_cluster: PostgresCluster) -> Iterator[str]:
    """A role with a password (the test cluster trusts local connections, so the password is
    never checked, but it is in every URL these tests use)."""
    with pg_cluster.connect() as conn:
        conn.execute(f"DROP ROLE IF EXISTS {ROLE}")
        conn.execute(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}'")
    yield ROLE
    with pg_cluster.connect() as conn:
        conn.execute(f"DROP OWNED BY {ROLE}; DROP ROLE IF EXISTS {ROLE}")


def secret_url(cluster: PostgresCluster, dbname: str = "postgres", *,
               port: int | None = None) -> str:
    return (f"postgresql://{ROLE}:{quote(PASSWORD, safe='')}@127.0.0.1:"
            f"{port or cluster.port}/{dbname}")


def assert_no_password(*texts: str) -> None:
    for text in texts:
        assert PASSWORD not in text
        assert quote(PASSWORD, safe="") not in text
        assert "S3cret" not in text


def assert_error(run: Run) -> None:
    """The verdict contract: a run with an error says ERROR, never PASS, in text and JSON."""
    if run.out.lstrip().startswith("{"):
        report = run.json()
        assert report["verdict"] == "ERROR" and report["errors"], run.text
    else:
        assert run.out.rstrip().splitlines()[-1].startswith("ERROR: "), run.text
    assert "PASS" not in run.out


# --------------------------------------------------------------------------- redaction


def test_scrub_masks_every_spelling() -> None:
    remember_url("postgresql://u:hunter2%2Fx@h/db")
    remember("another-secret")
    text = scrub("postgresql://u:hunter2%2Fx@h/db failed; password=hunter2/x "
                 "PGPASSWORD='another-secret' and 'hunter2/x' alone; host=h password = abc")
    assert "hunter2" not in text and "another-secret" not in text and "abc" not in text
    assert "postgresql://u:***@h/db" in text
    assert scrub("plain text, no secrets") == "plain text, no secrets"


# --------------------------------------------------------------------------- failures


def test_connection_failure_never_shows_the_password(pg_cluster: PostgresCluster,
                                                     secret_role: str, tmp_path: Path) -> None:
    url = secret_url(pg_cluster, "no_such_database")
    for args in (("reconcile", "--database-url", url), ("reconcile", "--debug"),
                 ("rebuild", "--database-url", secret_url(pg_cluster, port=1),
                  "--evidence", str(tmp_path / "ev")),
                 ("rebuild", "--debug", "--database-url", secret_url(pg_cluster, port=1))):
        run = b03(*args, "--config", CONFIG, env={"DATABASE_URL": url})
        assert run.code == 2, run.text
        assert "error:" in run.text
        assert_error(run)
        assert_no_password(run.out, run.err)
        if "reconcile" in args:
            assert 'database "no_such_database" does not exist' in run.text
        else:
            assert "cannot connect to postgresql://127.0.0.1:1/postgres" in run.text
        if "--debug" in args:
            assert "Traceback" in run.err
    for artefact in (tmp_path / "ev").iterdir():
        assert_no_password(artefact.read_text(encoding="utf-8"))


@pytest.mark.parametrize("command", ["reconcile", "rebuild"])
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_wrong_password_is_an_error(pg_cluster: PostgresCluster, secret_role: str,
                                      tmp_path: Path, command: str, fmt: str) -> None:
    """Password authentication on 127.0.0.1 refuses it: exit 2, ERROR in the output and in
    the report file, never PASS (it once said "PASS ... 1 error(s)")."""
    url = secret_url(pg_cluster).replace(quote(PASSWORD, safe=""), "Wrong-S3cret%40pw")
    report = tmp_path / "report.json"
    run = b03(command, "--database-url", url, "--config", CONFIG, "--output-format", fmt,
              "-o", str(report))
    assert run.code == 2, run.text
    assert "password authentication failed" in run.text
    assert_error(run)
    assert json.loads(report.read_text(encoding="utf-8"))["verdict"] == "ERROR"
    assert "Wrong-S3cret" not in run.text + report.read_text(encoding="utf-8")


def test_a_server_stopped_mid_run_is_an_error(tmp_path: Path) -> None:
    """A server of its own, stopped (pg_ctl stop -m fast) while a migration runs."""
    config = sleeping_example(tmp_path)
    cluster = PostgresCluster(password="stop-me-pw")
    with cluster:
        stopped: list[bool] = []

        def stop() -> None:
            wait_for_sleep(cluster)
            cluster._run([str(cluster.bindir / "pg_ctl"), "stop", "-D", str(cluster.datadir),
                          "-m", "fast", "-w"])
            stopped.append(True)

        watcher = threading.Thread(target=stop, daemon=True)
        watcher.start()
        run = b03("rebuild", "--database-url", cluster.url(), "--config", config,
                  "--evidence", str(tmp_path / "ev"))
        watcher.join(timeout=70)
    assert stopped, run.text
    assert run.code == 2, run.text
    assert "the server went away" in run.out
    assert_error(run)
    report = json.loads((tmp_path / "ev/phase2-validation.json").read_text(encoding="utf-8"))
    assert report["verdict"] == "ERROR"


def test_compliance_script_never_says_pass_beside_an_error(pg_cluster: PostgresCluster,
                                                           secret_role: str,
                                                           tmp_path: Path) -> None:
    url = secret_url(pg_cluster).replace(quote(PASSWORD, safe=""), "Wrong-S3cret%40pw")
    out = tmp_path / "phase2-validation.json"
    proc = subprocess.run([sys.executable, str(ROOT / "scripts/validate-schema-compliance.py"),
                           "--database-url", url, "--output", str(out), "--config", CONFIG],
                          capture_output=True, text=True, timeout=120, check=False,
                          env={k: v for k, v in os.environ.items() if k != "DATABASE_URL"})
    assert proc.returncode == 2, proc.stdout + proc.stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["severity"] == "ERROR" and report["verdict"] == "ERROR"
    assert proc.stdout.rstrip().splitlines()[-1].startswith("severity=ERROR")
    assert "Wrong-S3cret" not in proc.stdout + proc.stderr + out.read_text(encoding="utf-8")


def test_missing_createdb_privilege(pg_cluster: PostgresCluster, secret_role: str,
                                    tmp_path: Path) -> None:
    run = b03("rebuild", "--database-url", secret_url(pg_cluster), "--config", CONFIG,
              "--evidence", str(tmp_path))
    assert run.code == 2
    assert "missing privilege: permission denied to create database" in run.out
    assert_error(run)
    report = json.loads((tmp_path / "phase2-validation.json").read_text(encoding="utf-8"))
    assert report["verdict"] == "ERROR"
    assert_no_password(run.out, run.err,
                       *(p.read_text(encoding="utf-8") for p in tmp_path.iterdir()))
    assert scratch_databases(pg_cluster) == []


def test_a_successful_run_with_a_password_url(pg_cluster: PostgresCluster, secret_role: str,
                                              tmp_path: Path) -> None:
    # the owner of what it creates, no superuser: the example's chain runs so (ADR-005)
    with pg_cluster.connect() as conn:
        conn.execute(f"ALTER ROLE {ROLE} CREATEDB")
    try:
        run = b03("rebuild", "--database-url", secret_url(pg_cluster), "--config", CONFIG,
                  "--probes", "--roundtrip", "--steps", "1", "--evidence", str(tmp_path),
                  "--verbose")
    finally:
        with pg_cluster.connect() as conn:
            conn.execute(f"ALTER ROLE {ROLE} NOCREATEDB")
    assert run.code == 0, run.text
    assert len(list(tmp_path.iterdir())) == 4
    assert_no_password(run.out, run.err,
                       *(p.read_text(encoding="utf-8") for p in tmp_path.iterdir()))
    assert scratch_databases(pg_cluster) == []


def test_statement_timeout(pg_cluster: PostgresCluster) -> None:
    """A lock held on alembic_version makes the catalog read wait: the timeout ends it."""
    url = pg_cluster.create_database("timeout_db")
    try:
        alembic_upgrade(url, "head")
        with pg_cluster.connect("timeout_db", autocommit=False) as locker:
            locker.execute("LOCK TABLE alembic_version IN ACCESS EXCLUSIVE MODE")
            run = b03("reconcile", "--database-url", url, "--config", CONFIG,
                      "--statement-timeout", "300ms")
            locker.rollback()
    finally:
        pg_cluster.drop_database("timeout_db")
    assert run.code == 2, run.text
    assert "statement timeout exceeded" in run.out
    assert_error(run)
    assert "Traceback" not in run.text


def test_missing_privilege_on_the_version_table(pg_cluster: PostgresCluster,
                                                secret_role: str) -> None:
    url = pg_cluster.create_database("privilege_db")
    try:
        alembic_upgrade(url, "head")
        with pg_cluster.connect("privilege_db") as conn:
            conn.execute(f"REVOKE ALL ON alembic_version FROM PUBLIC, {ROLE}")
        run = b03("reconcile", "--database-url", secret_url(pg_cluster, "privilege_db"),
                  "--config", CONFIG)
    finally:
        pg_cluster.drop_database("privilege_db")
    assert run.code == 2, run.text
    assert "missing privilege: permission denied for table alembic_version" in run.out
    assert_error(run)
    assert_no_password(run.out, run.err)


def test_session_terminated_mid_run(pg_cluster: PostgresCluster, secret_role: str,
                                    tmp_path: Path) -> None:
    """The server side goes away under the migration: exit 2, clear message, no scratch."""
    config = sleeping_example(tmp_path)
    with pg_cluster.connect() as conn:
        conn.execute(f"ALTER ROLE {ROLE} CREATEDB")
    killed: list[int] = []

    def terminate() -> None:
        pid = wait_for_sleep(pg_cluster)
        with pg_cluster.connect() as conn:
            conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
        killed.append(pid)

    watcher = threading.Thread(target=terminate, daemon=True)
    watcher.start()
    try:
        run: Run = b03("rebuild", "--database-url", secret_url(pg_cluster), "--config", config)
    finally:
        watcher.join(timeout=70)
        with pg_cluster.connect() as conn:
            conn.execute(f"ALTER ROLE {ROLE} NOCREATEDB")
    assert killed, run.text
    assert run.code == 2, run.text
    assert "the server went away" in run.out
    assert_error(run)
    assert "alembic upgrade" in run.out
    assert_no_password(run.out, run.err)
    assert scratch_databases(pg_cluster) == []


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP],
                         ids=["SIGINT", "SIGTERM", "SIGHUP"])
def test_interrupted_rebuild_drops_the_scratch_database(pg_cluster: PostgresCluster,
                                                        tmp_path: Path, signum: int) -> None:
    """Ctrl-C, SIGTERM and a closed terminal (SIGHUP): cleanup, exit 130, and no PASS
    anywhere (the evidence once said PASS with no findings)."""
    config = sleeping_example(tmp_path)
    evidence, report = tmp_path / "evidence", tmp_path / "report.json"
    proc = b03_process("rebuild", "--database-url", pg_cluster.url(), "--config", config,
                       "--evidence", str(evidence), "-o", str(report))
    try:
        wait_for_sleep(pg_cluster)
        assert len(scratch_databases(pg_cluster)) == 1
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, (out, err)
    assert "interrupted" in err and "Traceback" not in err
    assert scratch_databases(pg_cluster) == []
    assert out.rstrip().splitlines()[-1].startswith("ERROR: "), out
    for doc in (report, evidence / "phase2-validation.json"):
        written = json.loads(doc.read_text(encoding="utf-8"))
        assert written["verdict"] == "ERROR" and written["interrupted"] is True
    for path in evidence.iterdir():
        assert "PASS" not in path.read_text(encoding="utf-8"), path


def test_interrupted_rebuild_stops_the_local_cluster(pg_cluster: PostgresCluster,
                                                     tmp_path: Path) -> None:
    """Without a URL: Ctrl-C during the migration stops and removes the local server."""
    config = sleeping_example(tmp_path)
    proc = b03_process("rebuild", "--config", config, "--verbose")
    assert proc.stderr is not None
    root = None
    try:
        for line in proc.stderr:
            found = re.search(r"# local cluster running in (\S+) \(socket only\)", line)
            root = found.group(1) if found else root
            if "alembic -c alembic.ini upgrade" in line:
                break
        assert root is not None and Path(root).exists()
        time.sleep(1.5)  # into the sleeping migration
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, (out, err)
    assert not Path(root).exists()
    running = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True,
                             check=False).stdout
    assert root not in running


def test_missing_live_extra_is_a_clear_error(tmp_path: Path) -> None:
    """Without psycopg (hidden from the child interpreter), live commands say what to
    install; `check` does not need it."""
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(
        "import sys\n"
        "class _Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('psycopg', 'alembic'):\n"
        "            raise ImportError('blocked for the test: ' + name)\n"
        "sys.meta_path.insert(0, _Block())\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(blocker)}
    env.pop("DATABASE_URL", None)
    for command in ("reconcile", "rebuild"):
        proc = b03_process(command, "--database-url", "postgresql://u:pw-secret-1@h/db",
                           "--config", CONFIG, env=env)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 2, (out, err)
        assert "install b03lint[live]" in out + err
        assert "pw-secret-1" not in out + err
    check = b03_process("check", "--config", CONFIG, env=env)
    out, err = check.communicate(timeout=120)
    assert "ModuleNotFoundError" not in err and "blocked for the test" not in err, err
