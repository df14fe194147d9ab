"""`b03lint canonical export|hash`, `schema --at`, `drift table|new` and `normalize`, run
in process through ``b03lint.cli.main`` on a private copy of the bundled example."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from ci_skip import skip_outside_ci

from b03lint.cli import main
from b03lint.readers.sql import read_sql
from b03lint.schema.canonical_yaml import load_canonical_yaml
from b03lint.schema.replay import fold

REPO = Path(__file__).resolve().parent.parent
SQL = "db/schema/canonical_schema.sql"
YAML = "db/schema/canonical_schema.yaml"
REGISTER = "db/schema/drift_register.yaml"


@pytest.fixture()
def example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the bundled example, as the working directory."""
    root = tmp_path / "example"
    root.mkdir()
    for name in ("pyproject.toml", "alembic.ini"):
        shutil.copy(REPO / name, root / name)
    for folder in ("alembic", "db", "docs/architecture/adr"):
        if (REPO / folder).exists():
            shutil.copytree(REPO / folder, root / folder,
                            ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.chdir(root)
    return root


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "internal error" not in err, err
    return code, out, err


# --------------------------------------------------------------------------- canonical


def test_canonical_hash_is_sha256(example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "canonical", "hash")
    assert code == 0
    expected = [f"{hashlib.sha256((example / p).read_bytes()).hexdigest()}  {p}"
                for p in (SQL, YAML)]
    assert out.splitlines() == expected


def test_canonical_hash_of_a_missing_file(example: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    (example / YAML).unlink()
    code, out, err = run(capsys, "canonical", "hash")
    assert code == 2
    assert out.startswith(hashlib.sha256((example / SQL).read_bytes()).hexdigest())
    assert err.startswith(f"{YAML}: error: cannot read canonical_yaml")


def test_export_reproduces_the_committed_yaml(example: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    committed = (example / YAML).read_text(encoding="utf-8")
    code, out, err = run(capsys, "canonical", "export", "-o", "-")
    assert (code, err) == (0, "")
    assert out == committed
    # by default, the configured canonical_yaml (unchanged here)
    code, out, err = run(capsys, "canonical", "export")
    assert (code, err) == (0, "")
    assert out == f"{YAML}: unchanged (canonical YAML of {SQL})\n"
    (example / YAML).write_text(committed.replace("version: 1\n", "version: 1\n\n"))
    code, out, err = run(capsys, "canonical", "export")
    assert (code, err, out) == (0, "", f"{YAML}: written (canonical YAML of {SQL})\n")
    assert (example / YAML).read_text(encoding="utf-8") == committed
    # to a new file: the invariants come from the configured YAML
    code, out, _ = run(capsys, "canonical", "export", "--output", "fresh.yaml")
    assert (code, out) == (0, f"fresh.yaml: written (canonical YAML of {SQL})\n")
    assert (example / "fresh.yaml").read_text(encoding="utf-8") == committed


def test_export_names_only_documentation_that_exists(
        example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The YAML a user's project gets names the format and the command, never a file of
    b03lint's own repository (such as docs/canonical-yaml.md)."""
    code, out, _ = run(capsys, "canonical", "export", "-o", "-")
    header = [line for line in out.splitlines() if line.startswith("#")][:3]
    assert code == 0 and header
    assert not any("docs/" in line or ".md" in line for line in header), header


def test_export_without_a_configured_yaml_asks_where(
        example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pyproject = example / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace(
        'canonical_yaml = "db/schema/canonical_schema.yaml"\n', ""))
    code, out, err = run(capsys, "canonical", "export")
    assert (code, out) == (2, "")
    assert "canonical_yaml is not configured" in err and "-o -" in err


def test_export_follows_the_sql_and_keeps_the_invariants(
        example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sql = example / SQL
    sql.write_text(sql.read_text(encoding="utf-8").replace(
        "    notification_email  VARCHAR(255),",
        "    notification_email  VARCHAR(255),\n    locale VARCHAR(10) NOT NULL DEFAULT 'en',"),
        encoding="utf-8")
    before = (example / YAML).read_text(encoding="utf-8")
    code, _, err = run(capsys, "canonical", "export", "--output", YAML)
    assert (code, err) == (0, "")
    after = (example / YAML).read_text(encoding="utf-8")
    assert "      locale: {type: varchar(10), nullable: false, default: \"'en'\"}" in after
    invariants = before[before.index("# The structural invariants"):]
    assert after.endswith(invariants)
    schema = load_canonical_yaml(after, YAML)
    assert "locale" in schema.tables["tenants"].columns
    assert len(schema.invariants) == 12


def test_export_refuses_invariants_that_would_dangle(
        example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sql = example / SQL
    text = sql.read_text(encoding="utf-8")
    sql.write_text(text.replace("    session_id          UUID         NOT NULL,\n", ""),
                   encoding="utf-8")
    before = (example / YAML).read_text(encoding="utf-8")
    code, out, err = run(capsys, "canonical", "export", "--output", YAML)
    assert code == 2 and out == ""
    # the error points at the invariant where it is written, in the existing YAML
    line = before.splitlines().index("    object: attribution_events.session_id") + 1
    assert err.startswith(f"{YAML}:{line}: error: the exported YAML would not be valid")
    assert "column 'session_id' is not a column of table attribution_events" in err
    assert "(at invariants[4].object)" in err
    assert (example / YAML).read_text(encoding="utf-8") == before


def test_export_reports_invalid_sql_at_its_line(example: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    sql = example / SQL
    lines = sql.read_text(encoding="utf-8").splitlines()
    at = lines.index("CREATE TABLE channel_taxonomy (")
    lines[at] = "CREATE TABEL channel_taxonomy ("
    sql.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out, err = run(capsys, "canonical", "export")
    assert code == 2 and out == ""
    assert err.startswith(f"{SQL}:{at + 1}: error: ")


def test_export_refuses_an_unparsable_existing_yaml(
        example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (example / YAML).write_text("version: 1\ntables: {\n", encoding="utf-8")
    code, _, err = run(capsys, "canonical", "export")
    assert code == 2
    assert err.startswith(f"{YAML}:") and "invalid YAML" in err


def test_export_without_canonical_sql(example: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    (example / SQL).unlink()
    code, _, err = run(capsys, "canonical", "export")
    assert code == 2
    assert err == f"{SQL}: error: canonical file not found\n"


# --------------------------------------------------------------------------- schema


def test_schema_at_the_pre_reconciliation_head(example: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "schema", "--at", "202511161130")
    assert (code, err) == (0, "")
    assert out.startswith("# the schema the migration chain builds at 202511161130")
    schema = load_canonical_yaml(out, "<stdout>")
    alloc = schema.tables["attribution_allocations"]
    assert "channel_code" in alloc.columns and "channel" not in alloc.columns
    check = schema.tables["dead_events"].constraints["ck_dead_events_remediation_status_valid"]
    assert check.enum_values is not None and "ignored" in check.enum_values
    assert [e.expression for e in schema.indexes[
        "idx_allocations_channel_performance"].elements] == [
        "tenant_id", "channel_code", "created_at"]


def test_schema_as_sql_rereads_to_the_same_schema(example: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    code, as_yaml, _ = run(capsys, "schema", "--at", "head")
    assert code == 0
    code, as_sql, _ = run(capsys, "schema", "--at", "head", "--format", "sql")
    assert code == 0 and as_sql.startswith("-- the schema the migration chain builds at head")
    result = read_sql(as_sql, path="head.sql")
    assert result.diagnostics == []
    replay = fold([(None, result.operations)], "re-read")
    assert replay.conflicts == []
    from b03lint.schema.emit import schema_to_yaml

    assert schema_to_yaml(replay.schema, header=None) == as_yaml.split("\n", 1)[1]
    # head is the reconciliation revision, by id or by a unique prefix
    assert run(capsys, "schema", "--at", "202511171200")[1].split("\n", 1)[1] == \
        as_yaml.split("\n", 1)[1]
    assert run(capsys, "schema", "--at", "2025111712")[1].split("\n", 1)[1] == \
        as_yaml.split("\n", 1)[1]


def test_schema_at_base_is_empty(example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "schema", "--at", "base")
    assert code == 0
    assert load_canonical_yaml(out, "<stdout>").tables == {}


@pytest.mark.parametrize(("ref", "words"), [
    ("nope", "error: --at: unknown revision 'nope'"),
    ("2025", "error: --at: revision prefix '2025' is ambiguous"),
])
def test_schema_at_a_bad_revision(example: Path, capsys: pytest.CaptureFixture[str],
                                  ref: str, words: str) -> None:
    code, out, err = run(capsys, "schema", "--at", ref)
    assert code == 2 and out == ""
    assert err.startswith(words)


def test_schema_writes_to_a_file(example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "schema", "--format", "sql", "-o", "head.sql")
    assert (code, out) == (0, "")
    assert "CREATE TABLE dead_events" in (example / "head.sql").read_text(encoding="utf-8")


# --------------------------------------------------------------------------- drift

#: the guide's section 3.2 rows: id, object (in backticks), status
GUIDE_ROWS = [
    ("SCHEMA-DRIFT-001", "idx_allocations_channel_performance",
     "✅ Resolved (migration authored, pending DBA validation)"),
    ("SCHEMA-DRIFT-002", "dead_events.remediation_status",
     "✅ Resolved (migration authored, pending DBA validation)"),
    ("SCHEMA-DRIFT-003", "attribution_allocations.channel",
     "⚠️ Open \u2013 decision tracked in `db/schema/schema_gap_catalogue.md`"),
]


def test_drift_table_reproduces_the_guide(example: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "drift", "table")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == ("| ID | Object | Drift Type | Canonical Truth | Migration State | "
                        "Resolution Decision | Status |")
    assert lines[1] == "| --- | --- | --- | --- | --- | --- | --- |"
    rows = []
    for line in lines[2:]:
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        assert len(cells) == 7, line
        rows.append((cells[0], cells[1].strip("`"), cells[6]))
    assert rows == GUIDE_ROWS
    assert "Missing / structural" in lines[2]


def test_drift_table_of_an_invalid_register(example: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    path = example / REGISTER
    path.write_text(path.read_text(encoding="utf-8").replace("status: open", "status: opn"),
                    encoding="utf-8")
    code, out, err = run(capsys, "drift", "table")
    assert code == 2 and out == ""
    assert re.match(rf"{REGISTER}:\d+: error: expected one of open, resolved", err)


def test_drift_new_on_the_example_has_nothing(example: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "drift", "new")
    assert (code, out) == (0, "")
    assert "every deviation is registered" in err


def _drop_entry(register: str, ident: str) -> str:
    head, _, rest = register.partition(f"  - id: {ident}\n")
    following = rest.find("\n  - id: ")
    return head + (rest[following + 1:] if following >= 0 else "")


def test_drift_new_prints_entries_for_unregistered_deviations(
        example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = example / REGISTER
    text = _drop_entry(path.read_text(encoding="utf-8"), "SCHEMA-DRIFT-003")
    path.write_text(text, encoding="utf-8")
    code, out, err = run(capsys, "drift", "new")
    assert (code, err) == (0, "")
    assert out.startswith("# ")
    entries: list[dict[str, Any]] = yaml.safe_load(out)
    assert [e["id"] for e in entries] == [f"SCHEMA-DRIFT-{n:03d}"
                                          for n in range(3, 3 + len(entries))]
    # at head the canonical channel column exists; channel_code and its foreign key to
    # channel_taxonomy remain: one entry, since the register matches by any name
    [entry] = entries
    assert entry["object"] == "attribution_allocations.channel_code"
    assert "fk_attribution_allocations_channel_code" in entry["also"]
    assert entry["status"] == "open" and entry["drift_type"] == "Extra / structural"
    assert entry["revisions"] == ["202511131000", "202511141000"]
    # pasted under `entries:`, they make the register complete again
    path.write_text(text.rstrip("\n") + "\n\n" + out, encoding="utf-8")
    code, out, err = run(capsys, "drift", "new")
    assert (code, out) == (0, "")
    assert "every deviation is registered" in err
    assert run(capsys, "drift", "table")[0] == 0


# --------------------------------------------------------------------------- normalize

CANONICAL_LIKE = """\
-- The canonical schema
CREATE TABLE tenants (
    id          UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    -- the display name
    name        VARCHAR(255) NOT NULL
);

CREATE TABLE dead_events (
    id                 UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id          UUID NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    retry_count        INTEGER NOT NULL DEFAULT 0 CHECK (retry_count >= 0),
    remediation_status VARCHAR(20) NOT NULL DEFAULT 'pending',
    currency           CHAR(3) NOT NULL DEFAULT 'USD',
    CONSTRAINT ck_dead_events_remediation_status_valid
        CHECK (remediation_status IN ('pending', 'resolved'))
);
CREATE INDEX idx_dead_events_queue ON dead_events (tenant_id, id DESC)
    WHERE remediation_status IN ('pending');
ALTER TABLE dead_events ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation_policy ON dead_events
    USING (tenant_id = current_setting('app.current_tenant_id')::uuid);
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RETURN NEW;
END;
$$;
CREATE TRIGGER trg_touch BEFORE UPDATE ON tenants FOR EACH ROW EXECUTE FUNCTION touch();
"""

PG_DUMP_LIKE = """\
--
-- PostgreSQL database dump
--

\\restrict abc123

SET statement_timeout = 0;
SET client_encoding = 'UTF8';
SELECT pg_catalog.set_config('search_path', '', false);
SET default_table_access_method = heap;

CREATE FUNCTION public.touch() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    RETURN NEW;
END;
$$;

ALTER FUNCTION public.touch() OWNER TO app;

--
-- Name: dead_events; Type: TABLE; Schema: public; Owner: app
--

CREATE TABLE public.dead_events (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    tenant_id uuid NOT NULL,
    retry_count integer DEFAULT 0 NOT NULL,
    remediation_status character varying(20) DEFAULT 'pending'::character varying NOT NULL,
    currency character(3) DEFAULT 'USD'::bpchar NOT NULL,
    CONSTRAINT ck_dead_events_remediation_status_valid CHECK (((remediation_status)::text = ANY ((ARRAY['pending'::character varying, 'resolved'::character varying])::text[]))),
    CONSTRAINT dead_events_retry_count_check CHECK ((retry_count >= 0))
);

ALTER TABLE public.dead_events OWNER TO app;
COMMENT ON TABLE public.dead_events IS 'failed events';

CREATE TABLE public.tenants (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    name character varying(255) NOT NULL
);

ALTER TABLE ONLY public.dead_events
    ADD CONSTRAINT dead_events_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.tenants
    ADD CONSTRAINT tenants_pkey PRIMARY KEY (id);

CREATE INDEX idx_dead_events_queue ON public.dead_events USING btree (tenant_id, id DESC) WHERE ((remediation_status)::text = ANY ((ARRAY['pending'::character varying])::text[]));

CREATE TRIGGER trg_touch BEFORE UPDATE ON public.tenants FOR EACH ROW EXECUTE FUNCTION public.touch();

ALTER TABLE ONLY public.dead_events
    ADD CONSTRAINT dead_events_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id) ON DELETE CASCADE;

CREATE POLICY tenant_isolation_policy ON public.dead_events USING ((tenant_id = (current_setting('app.current_tenant_id'::text))::uuid));

ALTER TABLE public.dead_events ENABLE ROW LEVEL SECURITY;

\\unrestrict abc123
"""


def test_normalize_makes_canonical_sql_and_a_pg_dump_diff_cleanly(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "canonical.sql").write_text(CANONICAL_LIKE, encoding="utf-8")
    (tmp_path / "dump.sql").write_text(PG_DUMP_LIKE, encoding="utf-8")
    code, canonical, err = run(capsys, "normalize", "canonical.sql")
    assert (code, err) == (0, "")
    code, dumped, err = run(capsys, "normalize", "dump.sql")
    assert (code, err) == (0, "")
    assert canonical == dumped
    for noise in ("--", "SET ", "set_config", "OWNER", "COMMENT", "\\restrict", "public.",
                  "ONLY", "\n\n"):
        assert noise not in canonical, noise
    lines = canonical.splitlines()
    # ordered by table, then object name; every constraint named
    assert lines.index("CREATE TABLE dead_events (") < lines.index("CREATE TABLE tenants (")
    assert "ALTER TABLE dead_events ADD CONSTRAINT dead_events_pkey PRIMARY KEY (id);" in lines
    assert ("ALTER TABLE dead_events ADD CONSTRAINT dead_events_retry_count_check "
            "CHECK (retry_count >= 0);") in lines
    assert canonical.endswith("EXECUTE PROCEDURE touch();\n")
    # --output writes the same text
    assert run(capsys, "normalize", "dump.sql", "--output", "n.sql")[:2] == (0, "")
    assert (tmp_path / "n.sql").read_text(encoding="utf-8") == dumped


def test_normalize_a_real_pg_dump_of_the_canonical_schema(
        pg_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    import psycopg

    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        skip_outside_ci("pg_dump is not installed (the PostgreSQL client; .ci/run installs it)")
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute((REPO / SQL).read_text(encoding="utf-8"))  # type: ignore[arg-type]
    dump = subprocess.run([pg_dump, "--schema-only", "--no-owner", pg_database],
                          capture_output=True, text=True, timeout=120, check=True).stdout
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dump.sql").write_text(dump, encoding="utf-8")
    code, from_dump, err = run(capsys, "normalize", "dump.sql")
    assert (code, err) == (0, "")
    code, from_canonical, err = run(capsys, "normalize", str(REPO / SQL))
    assert (code, err) == (0, "")
    assert from_dump == from_canonical


def test_normalize_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "normalize", "missing.sql")
    assert (code, out) == (2, "")
    assert err == "missing.sql: error: no such file\n"
    (tmp_path / "bad.sql").write_text(textwrap.dedent("""\
        CREATE TABLE t (a int);
        CREATE TABEL u (b int);
        """), encoding="utf-8")
    code, out, err = run(capsys, "normalize", "bad.sql")
    assert (code, out) == (2, "")
    assert err.startswith("bad.sql:2:")
    assert "error:" in err
