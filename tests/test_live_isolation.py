"""The migration code runs in a child process b03lint supervises (b03lint.live.child), and
every connection it opens is checked before anything is sent.

- ``sys.exit(n)``, ``os._exit(n)``, a segfault and a hang in a migration are each an M003
  at that revision, the verdict is ERROR (exit 2), and the scratch database is dropped (the
  local cluster stopped);
- an ``env.py`` that takes its URL from another variable, from ``sqlalchemy.url`` of
  ``alembic.ini`` or from its own text, and a migration that connects by itself, are
  refused before they send anything (exit 2, the origin named, no password shown): the
  other database has no new session, no version table, no table.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from ci_skip import skip_outside_ci
from live_support import HEAD, ROOT, Run, b03, copy_example, scratch_databases
from pgcluster import PostgresCluster

NEW = "202512010000"
ROLE = "b03_isolation"
PASSWORD = "Iso-S3cret:pw@x"


def add_revision(root: Path, upgrade: str, header: str = "") -> Path:
    """The example plus revision NEW after the head, whose upgrade() runs ``upgrade``."""
    path = root / "alembic" / "versions" / f"{NEW}_user_code.py"
    body = "\n".join("    " + line for line in upgrade.strip().splitlines())
    path.write_text(f'''"""User code."""
import os
import sys
import time
{header}
from alembic import op

revision = "{NEW}"
down_revision = "{HEAD}"


def upgrade() -> None:
    op.execute("CREATE TABLE before_the_end (id int)")
{body}


def downgrade() -> None:
    pass
''', encoding="utf-8")
    return path


def rebuild(cluster: PostgresCluster | None, config: Path, *args: str,
            env: dict[str, str] | None = None) -> Run:
    where = ("--database-url", cluster.url()) if cluster is not None else ()
    return b03("rebuild", *where, "--config", str(config), "--output-format", "json", *args,
               env=env)


def line_of(path: Path, text: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


def assert_m003_and_error(run: Run, path: Path, detail: str, line: int | None = None) -> None:
    assert run.code == 2, run.text
    report = run.json()
    assert report["verdict"] == "ERROR"
    (finding,) = [f for f in report["findings"] if f["code"] == "M003"]
    assert finding["data"] == {"revision": NEW, "phase": "upgrade"}
    assert finding["path"] == str(path)
    assert detail in finding["message"], finding
    if line is not None:
        assert finding["line"] == line
    assert any(f"cut short in {NEW}" in e["message"] or f"in {NEW}; the migration process"
               in e["message"] for e in report["errors"]), report["errors"]


def no_child_left(marker: str) -> None:
    running = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True,
                             check=False).stdout
    assert not [line for line in running.splitlines()
                if "b03lint.live.child" in line and marker in line], running


# --------------------------------------------------------------------------- user code


def test_sys_exit_in_a_migration(pg_cluster: PostgresCluster, tmp_path: Path) -> None:
    config = copy_example(tmp_path)
    path = add_revision(tmp_path, "sys.exit(0)")
    evidence, report = tmp_path / "evidence", tmp_path / "report.json"
    run = rebuild(pg_cluster, config, "--evidence", str(evidence), "-o", str(report))
    assert_m003_and_error(run, path, "sys.exit(0)", line_of(path, "sys.exit(0)"))
    assert scratch_databases(pg_cluster) == []
    for doc in (report, evidence / "phase2-validation.json"):
        assert json.loads(doc.read_text(encoding="utf-8"))["verdict"] == "ERROR"
    for artefact in evidence.iterdir():
        assert "PASS" not in artefact.read_text(encoding="utf-8")


def test_os_exit_in_a_migration(pg_cluster: PostgresCluster, tmp_path: Path) -> None:
    config = copy_example(tmp_path)
    path = add_revision(tmp_path, "print('about to leave', flush=True)\nos._exit(0)")
    evidence = tmp_path / "evidence"
    run = rebuild(pg_cluster, config, "--evidence", str(evidence))
    assert_m003_and_error(run, path, "exited with code 0 without finishing")
    assert scratch_databases(pg_cluster) == []
    log = (evidence / "phase3-baseline-rebuild.log").read_text(encoding="utf-8")
    assert "about to leave" in log  # what it printed is kept


def test_a_segfault_in_a_migration(pg_cluster: PostgresCluster, tmp_path: Path) -> None:
    config = copy_example(tmp_path)
    path = add_revision(tmp_path, "ctypes.string_at(0)", header="import ctypes")
    run = rebuild(pg_cluster, config)
    assert_m003_and_error(run, path, "killed by SIGSEGV")
    assert scratch_databases(pg_cluster) == []


@pytest.mark.parametrize("hang", ["time.sleep(3600)", "op.execute('SELECT pg_sleep(3600)')"],
                         ids=["python", "sql"])
def test_a_hanging_migration_is_killed(pg_cluster: PostgresCluster, tmp_path: Path,
                                       hang: str) -> None:
    config = copy_example(tmp_path)
    path = add_revision(tmp_path, hang)
    run = rebuild(pg_cluster, config, "--migration-timeout", "3s")
    assert_m003_and_error(run, path, "did not finish within 3 s (--migration-timeout)")
    assert scratch_databases(pg_cluster) == []
    no_child_left(str(tmp_path))


def test_os_exit_on_a_local_cluster_stops_it(pg_cluster: PostgresCluster,
                                             tmp_path: Path) -> None:
    """(pg_cluster only guarantees that the server binaries are installed.)"""
    config = copy_example(tmp_path)
    path = add_revision(tmp_path, "os._exit(3)")
    run = rebuild(None, config, "--verbose")
    assert_m003_and_error(run, path, "exited with code 3")
    (root,) = re.findall(r"# local cluster running in (\S+) \(socket only\)", run.err)
    assert not Path(root).exists()


def test_an_exception_is_still_a_finding_and_the_run_goes_on(pg_cluster: PostgresCluster,
                                                             tmp_path: Path) -> None:
    """A migration that raises is an M003 only (exit 1), as before the child process."""
    config = copy_example(tmp_path)
    path = add_revision(tmp_path, "raise ValueError('no such thing')")
    run = rebuild(pg_cluster, config)
    assert run.code == 1, run.text
    report = run.json()
    assert report["verdict"] == "BLOCKING" and report["errors"] == []
    (finding,) = [f for f in report["findings"] if f["code"] == "M003"]
    assert "ValueError: no such thing" in finding["message"]
    assert finding["line"] == line_of(path, "raise ValueError")


# --------------------------------------------------------------------------- the guard


@pytest.fixture()
def other_db(pg_cluster: PostgresCluster) -> Iterator[str]:
    """Another database on the same server (the "production" one), owned by a role with a
    password, with a table; its URL (with that password)."""
    name = "isolation_other"
    with pg_cluster.connect() as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"DROP ROLE IF EXISTS {ROLE}")
        conn.execute(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}'")
        conn.execute(f"CREATE DATABASE {name} OWNER {ROLE}")
    with pg_cluster.connect(name) as conn:
        conn.execute(f"CREATE TABLE customers (id int PRIMARY KEY); "
                     f"ALTER TABLE customers OWNER TO {ROLE}")
    yield f"postgresql://{ROLE}:{quote(PASSWORD, safe='')}@127.0.0.1:{pg_cluster.port}/{name}"
    with pg_cluster.connect() as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"DROP ROLE IF EXISTS {ROLE}")


def sessions(cluster: PostgresCluster, name: str = "isolation_other") -> int:
    with cluster.connect() as conn:
        row = conn.execute("SELECT sessions FROM pg_stat_database WHERE datname = %s",
                           (name,)).fetchone()
    assert row is not None
    return int(row[0])


def assert_untouched(cluster: PostgresCluster, before: int) -> None:
    """No session was ever opened on the other database, and it has what it had."""
    assert sessions(cluster) == before
    with cluster.connect("isolation_other") as conn:
        tables = conn.execute("SELECT relname FROM pg_class WHERE relkind = 'r' AND "
                              "relnamespace = 'public'::regnamespace").fetchall()
    assert tables == [("customers",)]


def assert_refused(run: Run, origin: str) -> None:
    assert run.code == 2, run.text
    report = run.json()
    assert report["verdict"] == "ERROR" and report["findings"] == []
    (error,) = report["errors"]
    assert error["message"].startswith("refused: env.py or a migration was about to connect")
    assert "/isolation_other, whose URL came from " + origin in error["message"], error
    assert "nothing was sent to it" in error["message"]
    for secret in (PASSWORD, quote(PASSWORD, safe=""), "S3cret"):
        assert secret not in run.text


def edit_env_py(root: Path, old: str, new: str) -> None:
    env_py = root / "alembic" / "env.py"
    source = env_py.read_text(encoding="utf-8")
    assert old in source
    env_py.write_text(source.replace(old, new), encoding="utf-8")


ENV_LOOKUP = ('    raw = os.environ.get("DATABASE_URL", "").strip()',
              '    raw = (os.environ.get("APP_DATABASE_URL") or os.environ.get("DATABASE_URL", "")'
              ').strip()')


def test_env_py_that_reads_another_variable(pg_cluster: PostgresCluster, other_db: str,
                                            tmp_path: Path) -> None:
    """The issue's case: `APP_DATABASE_URL or DATABASE_URL`, the first set to production."""
    config = copy_example(tmp_path)
    edit_env_py(tmp_path, *ENV_LOOKUP)
    before = sessions(pg_cluster)
    run = rebuild(pg_cluster, config, env={"APP_DATABASE_URL": other_db})
    assert_refused(run, "the environment variable APP_DATABASE_URL")
    assert_untouched(pg_cluster, before)
    assert scratch_databases(pg_cluster) == []
    # without the variable, the same env.py migrates the scratch database
    fine = rebuild(pg_cluster, config)
    assert fine.code == 0, fine.text


def test_sqlalchemy_url_of_alembic_ini(pg_cluster: PostgresCluster, other_db: str,
                                       tmp_path: Path) -> None:
    """alembic.ini names production. Alembic's own template (`config.get_main_option`)
    gets the scratch database (b03lint sets sqlalchemy.url); an env.py that reads the file
    itself is refused."""
    config = copy_example(tmp_path)
    ini = tmp_path / "alembic.ini"
    ini.write_text(ini.read_text(encoding="utf-8").replace(
        "[alembic]\n", f"[alembic]\nsqlalchemy.url = {other_db.replace('%', '%%')}\n", 1),
        encoding="utf-8")
    edit_env_py(tmp_path, "def database_url() -> str | None:\n",
                "def database_url() -> str | None:\n"
                "    if os.environ.get('READ_INI_ITSELF'):\n"
                "        import configparser\n"
                "        parser = configparser.RawConfigParser()\n"
                "        parser.read(config.config_file_name)\n"
                "        return sqlalchemy_url(parser['alembic']['sqlalchemy.url']"
                ".replace('%%', '%'))\n"
                "    return sqlalchemy_url(config.get_main_option('sqlalchemy.url'))\n")
    before = sessions(pg_cluster)
    template = rebuild(pg_cluster, config)
    assert template.code == 0, template.text
    itself = rebuild(pg_cluster, config, env={"READ_INI_ITSELF": "1"})
    assert_refused(itself, "sqlalchemy.url in alembic.ini (section [alembic])")
    assert_untouched(pg_cluster, before)


def test_a_url_hard_coded_in_env_py(pg_cluster: PostgresCluster, other_db: str,
                                    tmp_path: Path) -> None:
    config = copy_example(tmp_path)
    edit_env_py(tmp_path, "    url = database_url()\n    if url is None:",
                f"    url = sqlalchemy_url({other_db!r})\n    if url is None:")
    before = sessions(pg_cluster)
    run = rebuild(pg_cluster, config)
    assert_refused(run, "env.py or the migration code")
    assert_untouched(pg_cluster, before)
    assert scratch_databases(pg_cluster) == []


def test_a_migration_that_connects_with_psycopg(pg_cluster: PostgresCluster, other_db: str,
                                                tmp_path: Path) -> None:
    """Not through SQLAlchemy: psycopg.connect() of a hard-coded conninfo, caught although
    the migration catches every exception."""
    config = copy_example(tmp_path)
    target = other_db.rsplit("/", 1)[0] + "/isolation_other"
    add_revision(tmp_path, f"try:\n    psycopg.connect({target!r}).execute('CREATE TABLE "
                           "leak (id int)')\nexcept BaseException:\n    pass",
                 header="import psycopg")
    before = sessions(pg_cluster)
    run = rebuild(pg_cluster, config)
    assert_refused(run, "env.py or the migration code")
    assert "(with psycopg)" in run.out
    assert_untouched(pg_cluster, before)
    assert scratch_databases(pg_cluster) == []


@pytest.mark.parametrize("call", [
    "psycopg2.connect({url!r})",
    "psycopg2.connect(host='127.0.0.1', port={port}, database='isolation_other',\n"
    "                 user='{role}', password='{password}')",
], ids=["dsn", "keywords"])
def test_a_migration_that_connects_with_psycopg2(pg_cluster: PostgresCluster, other_db: str,
                                                 tmp_path: Path, call: str) -> None:
    """psycopg2, SQLAlchemy's default driver, called directly (older migrations do): caught
    the same way, with a DSN and with keywords (``database=`` is psycopg2's ``dbname``)."""
    try:
        import psycopg2  # noqa: F401  (the dev extra installs it)
    except ImportError:
        skip_outside_ci("psycopg2 is not installed (pip install psycopg2-binary)")
    config = copy_example(tmp_path)
    target = other_db.rsplit("/", 1)[0] + "/isolation_other"
    code = call.format(url=target, port=pg_cluster.port, role=ROLE, password=PASSWORD)
    add_revision(tmp_path, f"try:\n    conn = {code}\n    conn.cursor().execute('CREATE "
                           "TABLE leak (id int)')\n    conn.commit()\nexcept BaseException:\n"
                           "    pass", header="import psycopg2")
    before = sessions(pg_cluster)
    run = rebuild(pg_cluster, config)
    assert_refused(run, "env.py or the migration code")
    assert "(with psycopg2)" in run.out
    assert_untouched(pg_cluster, before)
    assert scratch_databases(pg_cluster) == []


def test_the_guard_compares_what_libpq_would_use() -> None:
    from b03lint.live.child import endpoint

    env = {"PGHOST": "db.internal", "PGPORT": "6432", "PGUSER": "app"}
    assert endpoint({"dbname": "x"}, env) == endpoint(
        {"host": "DB.internal", "port": "6432", "dbname": "x"}, {})
    assert endpoint({}, env).dbname == "app"
    assert endpoint({"host": "/tmp/../tmp/s"}, {}).host == endpoint({"host": "/tmp/s"}, {}).host
    for other in ({"hostaddr": "10.0.0.9"}, {"service": "prod"}, {"port": "5432"},
                  {"dbname": "y"}, {"host": "db.internal,replica"}):
        assert endpoint({"dbname": "x", **other}, env) != endpoint({"dbname": "x"}, env)



# --------------------------------------------------------------------------- trace flag


def test_trace_events_stream_from_the_child(pg_database: str) -> None:
    """The hook of `rebuild --trace`: with on_trace, the child installs the lock trace and
    each of its events reaches the parent with the revision that was running."""
    from b03lint.config import load_config
    from b03lint.live.compare import load_context
    from b03lint.live.connect import Target
    from b03lint.live.evidence import Evidence
    from b03lint.live.supervise import MigrationProcess

    events: list[tuple[str, dict[str, object], str | None]] = []
    ctx = load_context(load_config(ROOT))
    process = MigrationProcess(ROOT / "alembic.ini", Target.parse(pg_database), Evidence(), ctx,
                               on_trace=lambda kind, data, rev: events.append((kind, data, rev)))
    try:
        process.start()
        first = sorted(r for r, parents in process.revisions.items() if not parents)[0]
        process.migrate("upgrade", first)
    finally:
        process.close()
    assert events[0][0] == "server" and events[0][2] == first
    statements = [data for kind, data, rev in events if kind == "statement" and rev == first]
    assert any(str(s["sql"]).lstrip().upper().startswith("CREATE TABLE") for s in statements)
    assert all("observed" in s for s in statements)
