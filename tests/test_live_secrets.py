"""One masking routine for every password live mode sees, in every form it may be printed.

A real role has a password with ``@ : / # % " '`` and spaces; the suite's server checks it
(scram-sha-256 on 127.0.0.1). It reaches b03lint as a percent-encoded URL (in
``DATABASE_URL``, through ``--database-url-env``), a libpq conninfo string, ``PGPASSWORD``,
a ``.pgpass`` file and, as users type it, an unencoded URL; migrations print it and raise
it in every spelling. No output, log, artefact or ``--debug`` traceback may show any of it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from live_support import HEAD, ROOT, Run, b03_fresh, copy_example, scratch_databases
from pgcluster import PostgresCluster

from b03lint.live.redact import MASK, remember_pgpass, remember_url, scrub, scrub_data

ROLE = "b03_odd_password"
PASSWORD = "Secr3t@Pa:ss/wo#rd%25\"quo'te sp ace"
#: pieces a partial leak would show (each is at least 5 characters of the password)
FRAGMENTS = ("Secr3t", "Pa:ss", "ss/wo", "wo#rd", "rd%25", "quo'te", "sp ace", "te sp")
CONFIG = str(ROOT / "pyproject.toml")


def forms(secret: str) -> list[str]:
    """The spellings a leak could take, written out independently of the code under test."""
    return [secret, quote(secret, safe=""), quote(secret), quote_plus(secret),
            json.dumps(secret)[1:-1], repr(secret)[1:-1],
            re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), quote(secret, safe="")),
            quote(secret, safe="").replace("%", "%%")]


def assert_clean(*texts: str) -> None:
    for text in texts:
        for form in forms(PASSWORD):
            assert form not in text, (form, text[-3000:])
        for fragment in FRAGMENTS:
            assert fragment not in text, (fragment, text[-3000:])
        encoded = quote(PASSWORD, safe="")
        for i in range(0, len(encoded) - 8, 4):
            assert encoded[i:i + 9] not in text, (encoded[i:i + 9], text[-3000:])


def everything(run: Run, *folders: Path) -> list[str]:
    texts = [run.out, run.err]
    for folder in folders:
        if folder.is_dir():
            texts += [p.read_text(encoding="utf-8") for p in sorted(folder.rglob("*"))
                      if p.is_file()]
        elif folder.is_file():
            texts.append(folder.read_text(encoding="utf-8"))
    return texts


@pytest.fixture(scope="module")
def odd_role(pg_cluster: PostgresCluster) -> Iterator[str]:
    """A role that owns what it creates and may create databases; not a superuser."""
    literal = PASSWORD.replace("'", "''")
    with pg_cluster.connect() as conn:
        conn.execute(f"DROP ROLE IF EXISTS {ROLE}")
        conn.execute(f"CREATE ROLE {ROLE} LOGIN CREATEDB PASSWORD '{literal}'")
    yield ROLE
    with pg_cluster.connect() as conn:
        conn.execute(f"DROP OWNED BY {ROLE}; DROP ROLE IF EXISTS {ROLE}")


def url(cluster: PostgresCluster, dbname: str = "postgres", *, password: str = PASSWORD,
        encode: bool = True) -> str:
    secret = quote(password, safe="") if encode else password
    return f"postgresql://{ROLE}:{secret}@127.0.0.1:{cluster.port}/{dbname}"


def conninfo(cluster: PostgresCluster, dbname: str = "postgres") -> str:
    quoted = PASSWORD.replace("\\", "\\\\").replace("'", "\\'")
    return (f"host=127.0.0.1 port={cluster.port} user={ROLE} password='{quoted}' "
            f"dbname={dbname}")


TATTLER = '''"""A migration that shows the password in every way it can."""
import json
import os
import sys
from urllib.parse import unquote, urlsplit

from alembic import op

revision = "202512010000"
down_revision = "{head}"


def _secret():
    return unquote(urlsplit(os.environ["DATABASE_URL"]).password or "")


def upgrade() -> None:
    url = os.environ["DATABASE_URL"]
    secret = _secret()
    print("DATABASE_URL is", url)
    print("the password is", secret, repr(secret), json.dumps(secret))
    print("PGPASSWORD is", os.environ.get("PGPASSWORD"), file=sys.stderr)
    op.execute("SELECT 1")
    if os.environ.get("TATTLER_RAISES"):
        raise RuntimeError(f"cannot go on with {{url}} (password {{secret!r}})")


def downgrade() -> None:
    pass
'''


@pytest.fixture()
def tattler(tmp_path: Path) -> str:
    root = tmp_path / "project"
    root.mkdir()
    config = copy_example(root)
    (root / "alembic/versions/202512010000_tattler.py").write_text(
        TATTLER.format(head=HEAD), encoding="utf-8")
    return str(config)


# --------------------------------------------------------------------------- the routine


def test_scrub_knows_every_spelling_of_a_seen_password() -> None:
    remember_url(f"postgresql://u:{quote(PASSWORD, safe='')}@h/db")
    for form in forms(PASSWORD):
        assert scrub(f"before {form} after") == f"before {MASK} after", form
    report = scrub(json.dumps(scrub_data({"message": f"x {PASSWORD} y"})))
    assert_clean(report)
    assert json.loads(report)["message"] == f"x {MASK} y"


def test_scrub_masks_an_unencoded_url_up_to_its_host() -> None:
    """``P@ss`` typed into a URL: everything up to the last ``@`` of the authority is the
    password (it once printed ``postgresql://ssw0rd2024!@...``)."""
    text = scrub("cannot connect to postgresql://pat:Pq@ssw0rd/20#24!@db.example:5432/app now")
    assert text == f"cannot connect to postgresql://pat:{MASK}@db.example:5432/app now"


def test_pgpass_passwords_are_remembered(tmp_path: Path) -> None:
    passfile = tmp_path / "pgpass"
    passfile.write_text("# comment\nh:5432:*:u:Pgpass\\:Secret\\\\1\n*:*:*:*:Other-pw-2\n",
                        encoding="utf-8")
    remember_pgpass(passfile)
    assert scrub("Pgpass:Secret\\1 and Other-pw-2") == f"{MASK} and {MASK}"


# --------------------------------------------------------------------------- end to end


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_rebuild_whose_migration_prints_the_password(pg_cluster: PostgresCluster,
                                                       odd_role: str, tattler: str,
                                                       tmp_path: Path, fmt: str) -> None:
    """A successful run through --database-url-env, with the evidence, the report file and
    the verbose log: the migration prints the URL, the password, its repr and its JSON."""
    evidence, report = tmp_path / "evidence", tmp_path / "report.json"
    run = b03_fresh("rebuild", "--database-url-env", "APP_URL", "--config", tattler, "--probes",
              "--roundtrip", "--steps", "1", "--evidence", str(evidence), "--verbose",
              "-o", str(report), "--output-format", fmt,
              env={"APP_URL": url(pg_cluster), "PGPASSWORD": PASSWORD})
    assert run.code == 0, run.text
    assert "DATABASE_URL is postgresql://" in (evidence / "phase3-baseline-rebuild.log"
                                               ).read_text(encoding="utf-8")
    assert "the password is ***" in run.err
    assert_clean(*everything(run, evidence, report))
    assert scratch_databases(pg_cluster) == []


def test_a_migration_that_raises_the_password(pg_cluster: PostgresCluster, odd_role: str,
                                              tattler: str, tmp_path: Path) -> None:
    evidence, report = tmp_path / "evidence", tmp_path / "report.json"
    for fmt in ("text", "json"):
        run = b03_fresh("rebuild", "--config", tattler, "--evidence", str(evidence), "-o",
                  str(report), "--output-format", fmt, "--debug",
                  env={"DATABASE_URL": url(pg_cluster), "TATTLER_RAISES": "1"})
        assert run.code == 1, run.text
        assert "M003" in run.out and "RuntimeError: cannot go on with postgresql://" in run.out
        assert_clean(*everything(run, evidence, report))


def test_a_conninfo_string_and_a_debug_traceback(pg_cluster: PostgresCluster,
                                                 odd_role: str, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    for command in ("reconcile", "rebuild"):
        run = b03_fresh(command, "--database-url-env", "CONNINFO", "--config", CONFIG, "--debug",
                  "-o", str(report),
                  env={"CONNINFO": conninfo(pg_cluster, "no_such_db" if command == "reconcile"
                                            else "postgres") + (" port=1" if command ==
                                                                "rebuild" else "")})
        assert run.code == 2, run.text
        assert "Traceback" in run.err
        assert_clean(*everything(run, report))


def test_pgpassword_and_pgpass_are_masked(pg_cluster: PostgresCluster, odd_role: str,
                                          tattler: str, tmp_path: Path) -> None:
    passfile = tmp_path / "pgpass"
    escaped = PASSWORD.replace("\\", "\\\\").replace(":", "\\:")
    passfile.write_text(f"127.0.0.1:{pg_cluster.port}:*:{ROLE}:{escaped}\n", encoding="utf-8")
    passfile.chmod(0o600)
    bare = f"postgresql://{ROLE}@127.0.0.1:{pg_cluster.port}/postgres"
    for env in ({"PGPASSWORD": PASSWORD}, {"PGPASSFILE": str(passfile)}):
        evidence = tmp_path / f"ev-{len(env['PGPASSWORD' if 'PGPASSWORD' in env else 'PGPASSFILE'])}"
        run = b03_fresh("rebuild", "--config", tattler, "--evidence", str(evidence), "--verbose",
                  env={"DATABASE_URL": bare, **env})
        assert run.code == 0, run.text
        assert_clean(*everything(run, evidence))
    wrong = b03_fresh("reconcile", "--config", CONFIG, "--debug",
                env={"DATABASE_URL": bare.replace("/postgres", "/no_such_db"),
                     "PGPASSFILE": str(passfile)})
    assert wrong.code == 2 and 'database "no_such_db" does not exist' in wrong.text
    assert_clean(wrong.out, wrong.err)


@pytest.mark.parametrize("command", ["reconcile", "rebuild"])
def test_an_unencoded_url_is_refused_and_never_echoed(pg_cluster: PostgresCluster,
                                                      odd_role: str, tmp_path: Path,
                                                      command: str) -> None:
    report = tmp_path / "report.json"
    for given in (url(pg_cluster, encode=False),
                  f"postgresql://{ROLE}:Secr3t-pw@127.0.0.1:notaport/db",
                  f"postgresql://{ROLE}:Secr3t-pw@127.0.0.1:{pg_cluster.port}/db?bogus=1"):
        for args in (("--database-url", given), ("--database-url-env", "U")):
            run = b03_fresh(command, *args, "--config", CONFIG, "--debug", "--output-format", "json",
                      "-o", str(report), env={"U": given})
            assert run.code == 2, run.text
            if "notaport" not in given:  # that one parses; the connection then fails
                assert "the URL is not shown" in run.text
            assert run.json()["verdict"] == "ERROR"
            assert_clean(*everything(run, report))
            assert "Secr3t" not in run.text + report.read_text(encoding="utf-8")


def test_a_password_on_the_command_line_is_warned_about(pg_cluster: PostgresCluster,
                                                        odd_role: str) -> None:
    run = b03_fresh("reconcile", "--database-url", url(pg_cluster, "no_such_db"), "--config", CONFIG)
    assert "visible to every local user in the process list" in run.err
    assert "--database-url-env" in run.err
    assert_clean(run.out, run.err)
    quiet = b03_fresh("reconcile", "--config", CONFIG,
                env={"DATABASE_URL": url(pg_cluster, "no_such_db")})
    assert "process list" not in quiet.err


def test_the_environment_of_the_migration_is_masked(pg_cluster: PostgresCluster,
                                                    odd_role: str, tmp_path: Path) -> None:
    """A password b03lint was never given (another variable of the environment, printed by
    a migration) is masked too."""
    root = tmp_path / "project"
    root.mkdir()
    config = copy_example(root)
    (root / "alembic/versions/202512010000_other.py").write_text(f'''"""Print another URL."""
import os

revision = "202512010000"
down_revision = "{HEAD}"


def upgrade() -> None:
    print("the reporting database is", os.environ["REPORTING_URL"])


def downgrade() -> None:
    pass
''', encoding="utf-8")
    evidence = tmp_path / "evidence"
    other = f"postgresql://reporter:{quote(PASSWORD, safe='')}@reports.example/r"
    run = b03_fresh("rebuild", "--config", str(config), "--evidence", str(evidence), "--verbose",
              env={"DATABASE_URL": url(pg_cluster), "REPORTING_URL": other})
    assert run.code == 0, run.text
    assert "the reporting database is postgresql://reporter:***@reports.example/r" in run.err
    assert_clean(*everything(run, evidence))
