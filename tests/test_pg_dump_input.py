"""``pg_dump --schema-only`` as input, the guide's own route (section 3.1): a database built
by the chain, dumped, is read exactly as PostgreSQL has it. Against the suite's real server:

- the dump of ``alembic upgrade head`` of the example, used as ``canonical_sql``, makes
  ``b03lint check`` pass (psql's ``\\restrict`` lines, ``SET``, ``set_config``, ``OWNER TO``,
  ``COMMENT ON``, the ``alembic_version`` table and pg_dump's spelling of every expression
  change nothing);
- a database compared with its own dump has no difference, fact by fact, both ways;
- the dump of a database at ``202511161130`` (before the reconciliation), compared with the
  real canonical schema by ``b03lint reconcile --snapshot``, gives exactly the blocking
  SCHEMA-DRIFT-001 and -002 that ``b03lint check --rev 202511161130`` gives.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from live_support import PRE_RECONCILIATION, alembic_upgrade, b03
from pgcluster import PostgresCluster

from b03lint.live.compare import two_way
from b03lint.live.introspect import introspect
from b03lint.schema.canonical import read_schema_sql


def _dump(cluster: PostgresCluster, url: str) -> str:
    result = subprocess.run([str(cluster.bindir / "pg_dump"), "--schema-only", "-d", url],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _built(cluster: PostgresCluster, root: Path, name: str, rev: str) -> tuple[str, str]:
    url = cluster.create_database(name)
    alembic_upgrade(url, rev, root)
    return url, _dump(cluster, url)


def test_the_dump_of_the_chain_at_head_is_a_canonical_schema_it_meets(
        pg_cluster: PostgresCluster, example_copy: Path) -> None:
    _url, dump = _built(pg_cluster, example_copy, "dump_head", "head")
    try:
        (example_copy / "db" / "dump.sql").write_text(dump)
        pyproject = example_copy / "pyproject.toml"
        text = pyproject.read_text()
        text = text.replace('canonical_sql = "db/schema/canonical_schema.sql"',
                            'canonical_sql = "db/dump.sql"')
        text = text.replace('canonical_yaml = "db/schema/canonical_schema.yaml"\n', "")
        pyproject.write_text(text)
        run = b03("check", "--config", str(pyproject), "--no-baseline")
        assert run.code == 0, run.text
        # and the database equals its own dump, both ways
        schema, diagnostics, conflicts = read_schema_sql(dump, "dump.sql")
        assert [d for d in diagnostics if d.severity != "info"] == [] and conflicts == []
        with pg_cluster.connect("dump_head") as conn:
            live = introspect(conn, "dump_head").schema
        assert [d.message for d, _ in two_way(live, schema)] == []
        assert "alembic_version" not in schema.tables
    finally:
        pg_cluster.drop_database("dump_head")


def test_the_dump_before_the_reconciliation_shows_exactly_drift_001_and_002(
        pg_cluster: PostgresCluster, example_copy: Path) -> None:
    _url, dump = _built(pg_cluster, example_copy, "dump_pre", PRE_RECONCILIATION)
    try:
        snapshot = example_copy / "db" / "schema" / "live_schema_snapshot.sql"
        snapshot.write_text(dump)
        pyproject = str(example_copy / "pyproject.toml")
        run = b03("reconcile", "--snapshot", str(snapshot), "--config", pyproject,
                  "--output-format", "json")
        assert run.code == 1, run.text
        report = run.json()
        blocking = [f for f in report["findings"] if f["severity"] == "blocking"]
        assert blocking and {(f["data"] or {}).get("drift_id") for f in blocking} == {
            "SCHEMA-DRIFT-001", "SCHEMA-DRIFT-002"}
        static = b03("check", "--rev", PRE_RECONCILIATION, "--config", pyproject,
                     "--no-baseline", "--output-format", "json").json()

        def facts(findings: list[dict[str, object]]) -> set[tuple[object, ...]]:
            # the schema contract's findings (C012/C013 judge the register and the chain)
            return {(f["code"], f["severity"], f["object"]) for f in findings
                    if str(f["code"]).startswith("C") and f["code"] not in ("C012", "C013")}

        assert facts(report["findings"]) == facts(static["findings"])
    finally:
        pg_cluster.drop_database("dump_pre")


def test_psql_meta_commands_and_dump_noise_change_nothing() -> None:
    dump = """\\restrict abc123
SET statement_timeout = 0;
SELECT pg_catalog.set_config('search_path', '', false);
CREATE TABLE public.t (id integer NOT NULL, email character varying(80));
ALTER TABLE public.t OWNER TO someone;
COMMENT ON TABLE public.t IS 'x';
CREATE SEQUENCE public.t_id_seq AS integer START WITH 1 INCREMENT BY 1 NO MINVALUE CACHE 1;
ALTER SEQUENCE public.t_id_seq OWNED BY public.t.id;
ALTER TABLE ONLY public.t ALTER COLUMN id SET DEFAULT nextval('public.t_id_seq'::regclass);
CREATE TABLE public.alembic_version (version_num character varying(32) NOT NULL);
ALTER TABLE ONLY public.alembic_version
    ADD CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num);
CREATE INDEX t_lower ON public.t USING btree (lower((email)::text));
GRANT SELECT ON TABLE public.t TO PUBLIC;
\\unrestrict abc123
"""
    schema, diagnostics, conflicts = read_schema_sql(dump, "dump.sql")
    assert [d for d in diagnostics if d.severity == "blocking"] == [] and conflicts == []
    assert set(schema.tables) == {"t"}
    assert schema.sequences["t_id_seq"].owned_by == ("t", "id")
    written, _, _ = read_schema_sql(
        "CREATE TABLE t (id serial, email varchar(80));"
        "CREATE INDEX t_lower ON t (lower(email));", "canonical.sql")
    from b03lint.schema.diff import diff

    assert diff(written, schema) == [] and diff(schema, written) == []
