"""The smaller defects of issue #13 (point 6), each on the suite's real server:

- a configuration error in `reconcile`/`rebuild` is reported at its file and line (exit 2),
  never as "internal error: ConfigError";
- `--schema` naming a schema the database does not have is an error (exit 2), not a report
  of every canonical table missing;
- a finding on a database object (which has no line) never prints line 0;
- (the example rebuilt by a non-superuser owner: tests/test_live_owner.py; a cache pack
  that is a FIFO or a device: tests/test_cache_special_files.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from live_support import ROOT, alembic_upgrade, b03, copy_example, scratch_databases
from pgcluster import PostgresCluster

CONFIG = str(ROOT / "pyproject.toml")

BAD_SETTINGS = {
    "unknown key": ("bogus_setting = 3", "unknown key 'bogus_setting' in [tool.b03lint]"),
    "bad severity": ('severity = {C001 = "sometimes"}', "severity of C001 must be one of"),
    "wrong type": ("tenant_column = 5", "tenant_column must be a str, not int"),
    "unknown rule": ('select = ["ZZZ9"]', "unknown rule 'ZZZ9'"),
}


@pytest.fixture(scope="module")
def head_db(pg_cluster: PostgresCluster) -> Iterator[str]:
    url = pg_cluster.create_database("small_head")
    alembic_upgrade(url, "head")
    yield url
    pg_cluster.drop_database("small_head")


def bad_config(root: Path, setting: str) -> tuple[Path, int]:
    """The example with ``setting`` added to [tool.b03lint]; the file and its line."""
    config = copy_example(root)
    lines = config.read_text(encoding="utf-8").splitlines()
    at = lines.index("[tool.b03lint]") + 1
    lines.insert(at, setting)
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config, at + 1


@pytest.mark.parametrize("command", ["reconcile", "rebuild"])
@pytest.mark.parametrize("case", sorted(BAD_SETTINGS))
def test_a_configuration_error_names_its_file_and_line(head_db: str, tmp_path: Path,
                                                       command: str, case: str) -> None:
    setting, message = BAD_SETTINGS[case]
    config, line = bad_config(tmp_path, setting)
    for fmt in ("text", "json"):
        run = b03(command, "--config", str(config), "--output-format", fmt,
                  env={"DATABASE_URL": head_db})
        assert run.code == 2, run.text
        assert "internal error" not in run.text and "Traceback" not in run.text
        if fmt == "json":
            (error,) = run.json()["errors"]
            assert (error["path"], error["line"]) == (str(config), line), error
            assert message in error["message"]
            assert run.json()["verdict"] == "ERROR"
        else:
            assert f"{config}:{line}: error: " in run.out and message in run.out, run.out
            assert run.out.rstrip().splitlines()[-1].startswith("ERROR: ")


def test_reconcile_of_a_schema_the_database_does_not_have(head_db: str) -> None:
    for fmt in ("text", "json"):
        run = b03("reconcile", "--database-url", head_db, "--config", CONFIG, "--schema",
                  "nosuch", "--output-format", fmt)
        assert run.code == 2, run.text
        assert ("--schema nosuch: postgresql://127.0.0.1:" in run.out
                and "/small_head has no schema named 'nosuch' (its schemas: public)" in run.out)
        assert "missing" not in run.out.lower()
        if fmt == "json":
            assert run.json()["findings"] == [] and run.json()["verdict"] == "ERROR"


def test_rebuild_with_a_schema_the_chain_does_not_create(pg_cluster: PostgresCluster) -> None:
    run = b03("rebuild", "--database-url", pg_cluster.url(), "--config", CONFIG, "--schema",
              "nosuch")
    assert run.code == 2, run.text
    assert "has no schema named 'nosuch' (its schemas: public)" in run.out
    assert scratch_databases(pg_cluster) == []


def test_live_findings_never_print_line_0(pg_cluster: PostgresCluster, tmp_path: Path) -> None:
    """A table the canonical schema does not have, and a column changed by hand: the
    findings sit on the database objects, with no line (text) and a null line (JSON)."""
    url = pg_cluster.create_database("small_altered")
    try:
        alembic_upgrade(url, "head")
        with pg_cluster.connect("small_altered") as conn:
            conn.execute("CREATE TABLE hand_made (id int PRIMARY KEY)")
            conn.execute("ALTER TABLE dead_events ADD COLUMN note text")
        text = b03("reconcile", "--database-url", url, "--config", CONFIG)
        report = tmp_path / "report.json"
        as_json = b03("reconcile", "--database-url", url, "--config", CONFIG, "--output-format",
                      "json", "-o", str(report))
    finally:
        pg_cluster.drop_database("small_altered")
    assert text.code == 1, text.text
    findings = as_json.json()["findings"]
    on_objects = [f for f in findings if f["path"].startswith("postgresql://")]
    assert {f["object"] for f in on_objects} >= {"hand_made", "dead_events.note"}
    assert all(f["line"] is None and f["column"] is None for f in on_objects)
    assert '"line": 0' not in report.read_text(encoding="utf-8")
    shown = [line for line in text.out.splitlines() if line.startswith("postgresql://")]
    assert len(shown) == len(on_objects)
    for f in on_objects:  # `path: CODE severity message`, no `:line:column`
        assert f"{f['path']}: {f['code']} {f['severity']} " in text.out, text.out
    assert not [line for line in shown if ":0:" in line]
