"""`b03lint server` driven as an editor drives it: the real command in a subprocess, JSON-RPC
over its stdin/stdout (``tests/lsp_client.py``), on a copy of the bundled example.

The story: a developer writes a new revision after the reconciliation head. The new file is
on disk with an empty upgrade; the editor's buffer (never saved) drops ``tenants.name``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lsp_client import Client, apply_edits, file_uri

NEW = "alembic/versions/003_data_governance/202511181000_drop_tenant_name.py"
CORE = "alembic/versions/001_core_schema/202511131000_create_core_tables.py"

HEADER = '''"""drop tenants.name

Revision ID: 202511181000
Revises: 202511171200
"""
from alembic import op
import sqlalchemy as sa

revision = "202511181000"
down_revision = "202511171200"
branch_labels = None
depends_on = None


def upgrade() -> None:
'''
FOOTER = '''

def downgrade() -> None:
    pass
'''
DROP = '    op.drop_column("tenants", "name")'
WAIVER = "  # CI:DESTRUCTIVE_OK - See ADR-002"
DROP_CHANNEL = ('    op.drop_column("attribution_allocations", "channel_code")'
                "  # CI:DESTRUCTIVE_OK - See ADR-004")


def migration(*lines: str) -> str:
    return HEADER + ("\n".join(lines) if lines else "    pass") + "\n" + FOOTER


def codes(diagnostics: list[dict[str, Any]], severity: int | None = None) -> list[str]:
    return [d["code"] for d in diagnostics if severity is None or d["severity"] == severity]


ERROR, WARNING, INFO = 1, 2, 3


@pytest.fixture()
def project(example_copy: Path) -> Path:
    (example_copy / NEW).write_text(migration(), encoding="utf-8")
    return example_copy


@pytest.fixture()
def client(project: Path) -> Any:
    c = Client(project)
    try:
        result = c.initialize(project)
        assert result["serverInfo"]["name"] == "b03lint"
        yield c
    finally:
        if c.proc.poll() is None:
            c.proc.kill()
            c.proc.wait()


def test_the_editor_session(project: Path, client: Client) -> None:
    new, core = project / NEW, project / CORE
    new_uri, core_uri = file_uri(new), file_uri(core)

    # the core migration, as saved: the open drift SCHEMA-DRIFT-003 on channel_code
    client.open(core, core.read_text(encoding="utf-8"))
    _, diags = client.diagnostics(core_uri)
    assert "C004" in codes(diags, WARNING)
    assert "C003" not in codes(diags)
    channel = next(d for d in diags if d["code"] == "C004" and "channel_code" in d["message"])
    assert channel["range"]["start"]["line"] == 74  # line 75, 0-based
    related = channel.get("relatedInformation") or []
    assert not related or all(r["location"]["uri"].startswith("file://") for r in related)

    # the unsaved buffer drops tenants.name: D002 in it, and the contract (C003, at the
    # CREATE TABLE of tenants) in the other open file
    mark = client.count()
    client.open(new, migration(DROP))
    _, diags = client.diagnostics(new_uri, after=mark, where=lambda d: "D002" in codes(d))
    d002 = next(d for d in diags if d["code"] == "D002")
    assert d002["severity"] == ERROR
    assert d002["source"] == "b03lint"
    assert d002["range"]["start"] == {"line": 15, "character": 4}
    assert d002["codeDescription"]["href"].endswith("rules.md#d002-drop-column")
    _, diags = client.diagnostics(core_uri, after=mark, where=lambda d: "C003" in codes(d))
    c003 = next(d for d in diags if d["code"] == "C003")
    assert "tenants.name" in c003["message"] and c003["severity"] == ERROR
    canonical = [r for r in c003.get("relatedInformation", [])
                 if r["location"]["uri"].endswith("canonical_schema.sql")]
    assert canonical, c003

    # hover on the drop: its lock and the schema's word on tenants.name at this revision
    hover = client.request("textDocument/hover", {
        "textDocument": {"uri": new_uri}, "position": {"line": 15, "character": 10}})
    text = hover["contents"]["value"]
    assert "ACCESS EXCLUSIVE" in text and "tenants" in text
    assert "blocks reads and writes" in text
    assert "tenants.name" in text and "canonical" in text

    # the code actions on D002: the guide's waiver once per ADR of the example (destructive
    # DDL is waived with an ADR, never suppressed)
    actions = client.request("textDocument/codeAction", {
        "textDocument": {"uri": new_uri}, "range": d002["range"],
        "context": {"diagnostics": [d002]}})
    titles = [a["title"] for a in actions]
    assert not any("Suppress" in t for t in titles), titles
    waivers = {a["title"].split("See ")[1].split()[0]: a for a in actions
               if "CI:DESTRUCTIVE_OK - See ADR-" in a["title"]}
    adrs = sorted(p.name[:7] for p in (project / "docs/architecture/adr").glob("ADR-*.md"))
    assert sorted(waivers) == adrs
    chosen = waivers["ADR-002"]
    assert [d["code"] for d in chosen["diagnostics"]] == ["D002"]
    assert chosen["isPreferred"] is False  # unsafe: the user picks the ADR
    (change,) = chosen["edit"]["documentChanges"]
    waived = apply_edits(migration(DROP), change["edits"])

    # the waiver, in the guide's format with an ADR the example has: no blocking D002 left
    # (a waived finding stays visible as information, the audit trail)
    assert "# CI:DESTRUCTIVE_OK - See ADR-002" in waived
    mark = client.count()
    client.change(new, waived, version=2)
    _, diags = client.diagnostics(new_uri, after=mark,
                                  where=lambda d: "D002" not in codes(d, ERROR))
    assert "D002" not in codes(diags, ERROR)
    assert [d["severity"] for d in diags if d["code"] == "D002"] == [INFO]
    assert "ADR-002" in next(d["message"] for d in diags if d["code"] == "D002")

    # dropping channel_code too resolves the other file's C004 (SCHEMA-DRIFT-003)
    mark = client.count()
    client.change(new, migration(DROP + WAIVER, DROP_CHANNEL), version=3)
    _, diags = client.diagnostics(
        core_uri, after=mark,
        where=lambda d: not any(x["code"] == "C004" and "channel_code" in x["message"]
                                for x in d))
    assert "C003" in codes(diags)

    # and keeping tenants.name after all clears the other file's C003
    mark = client.count()
    client.change(new, migration(DROP_CHANNEL), version=4)
    _, diags = client.diagnostics(core_uri, after=mark, where=lambda d: "C003" not in codes(d))
    assert "C003" not in codes(diags)

    assert client.close() == 0


def test_a_syntax_error_is_a_diagnostic_not_a_crash(project: Path, client: Client) -> None:
    new = project / NEW
    uri = file_uri(new)
    client.open(new, migration(DROP))
    client.diagnostics(uri, where=lambda d: "D002" in codes(d))
    mark = client.count()
    client.change(new, migration('    op.drop_column("tenants", '), version=2)
    _, diags = client.diagnostics(uri, after=mark, where=lambda d: "D002" not in codes(d))
    assert any(d["severity"] == ERROR for d in diags), diags
    # the server still answers
    mark = client.count()
    client.change(new, migration(DROP), version=3)
    client.diagnostics(uri, after=mark, where=lambda d: "D002" in codes(d))
    assert client.close() == 0


def test_a_canonical_change_on_disk_reloads_the_contract(project: Path, client: Client) -> None:
    """workspace/didChangeWatchedFiles of the canonical SQL: the contract is read again."""
    core = project / CORE
    uri = file_uri(core)
    client.open(core, core.read_text(encoding="utf-8"))
    _, diags = client.diagnostics(uri)
    assert "C003" not in codes(diags)
    sql = project / "db/schema/canonical_schema.sql"
    text = sql.read_text(encoding="utf-8")
    # the canonical schema gains a column no migration creates
    line = "    name                VARCHAR(255) NOT NULL,\n"
    assert line in text
    sql.write_text(text.replace(line, line + "    motto TEXT,\n", 1), encoding="utf-8")
    mark = client.count()
    client.notify("workspace/didChangeWatchedFiles",
                  {"changes": [{"uri": file_uri(sql), "type": 2}]})
    _, diags = client.diagnostics(uri, after=mark, where=lambda d: any(
        x["code"] == "C003" and "motto" in x["message"] for x in d))
    assert client.close() == 0


def test_without_pygls_the_command_says_what_to_install(tmp_path: Path) -> None:
    """A clear message and exit code 2 when the `lsp` extra is missing (simulated by an
    import hook that refuses pygls in the real command's process)."""
    import subprocess
    import sys

    hook = tmp_path / "sitecustomize.py"
    hook.write_text(
        "import sys\n"
        "class _NoPygls:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('pygls', 'lsprotocol'):\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "        return None\n"
        "sys.meta_path.insert(0, _NoPygls())\n", encoding="utf-8")
    import os

    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "b03lint", "server"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 2, done
    assert "pip install 'b03lint[lsp]'" in done.stderr
    assert "Traceback" not in done.stderr


def test_code_actions_are_the_fix_engines_fixes(project: Path) -> None:
    """With the lock rules on, a plain CREATE INDEX on a table with rows is L001; the code
    action wraps it in an autocommit block with postgresql_concurrently=True (the fix of
    `check --fix`), and the edited buffer no longer has L001."""
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text(encoding="utf-8").replace(
        "[tool.b03lint]\n", '[tool.b03lint]\nextend_select = ["locks"]\n', 1),
        encoding="utf-8")
    c = Client(project)
    try:
        c.initialize(project)
        new = project / NEW
        uri = file_uri(new)
        text = migration('    op.create_index("ix_tenants_name", "tenants", ["name"])')
        c.open(new, text)
        _, diags = c.diagnostics(uri, where=lambda d: "L001" in codes(d))
        l001 = next(d for d in diags if d["code"] == "L001")
        actions = c.request("textDocument/codeAction", {
            "textDocument": {"uri": uri}, "range": l001["range"],
            "context": {"diagnostics": [l001]}})
        suppress = next(a for a in actions if a["title"].startswith("Suppress L001"))
        (edit,) = suppress["edit"]["documentChanges"][0]["edits"]
        assert "b03lint: ignore[L001] -- <reason>" in edit["newText"]
        fix = next(a for a in actions if "CONCURRENTLY" in a["title"])
        assert fix["isPreferred"] is True
        assert fix["kind"] == "quickfix"
        assert [d["code"] for d in fix.get("diagnostics", [])] == ["L001"]
        (change,) = fix["edit"]["documentChanges"]
        assert change["textDocument"] == {"uri": uri, "version": 1}
        fixed = apply_edits(text, change["edits"])
        assert "with op.get_context().autocommit_block():" in fixed
        assert "postgresql_concurrently=True" in fixed
        mark = c.count()
        c.change(new, fixed, version=2)
        _, diags = c.diagnostics(uri, after=mark)
        assert "L001" not in codes(diags), diags
        assert c.close() == 0
    finally:
        if c.proc.poll() is None:
            c.proc.kill()
            c.proc.wait()


def test_a_helper_is_a_related_place(project: Path, client: Client) -> None:
    """A drop written in a helper function: D002 at the call, the helper's line related
    (the text output's "via")."""
    new = project / NEW
    uri = file_uri(new)
    text = HEADER.replace("def upgrade() -> None:\n", (
        "def _drop(table, column):\n"
        "    op.drop_column(table, column)\n\n\n"
        "def upgrade() -> None:\n")) + '    _drop("tenants", "name")\n' + FOOTER
    client.open(new, text)
    _, diags = client.diagnostics(uri, where=lambda d: "D002" in codes(d))
    d002 = next(d for d in diags if d["code"] == "D002")
    lines = text.splitlines()
    assert lines[d002["range"]["start"]["line"]].strip() == '_drop("tenants", "name")'
    (via,) = d002["relatedInformation"]
    assert via["location"]["uri"] == uri
    assert lines[via["location"]["range"]["start"]["line"]].strip() == \
        "op.drop_column(table, column)"
    assert "_drop" in via["message"]
    assert client.close() == 0


def test_a_fix_that_writes_a_new_migration(project: Path) -> None:
    """L003 (a CHECK added without NOT VALID to a table with rows): the code action adds
    NOT VALID and creates the follow-up migration that validates it, as one
    WorkspaceEdit (CreateFile, then its text); applied, L003 is gone."""
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text(encoding="utf-8").replace(
        "[tool.b03lint]\n", '[tool.b03lint]\nextend_select = ["locks"]\n', 1),
        encoding="utf-8")
    c = Client(project)
    try:
        c.initialize(project)
        new = project / NEW
        uri = file_uri(new)
        text = migration('    op.create_check_constraint("ck_tenants_name_set", "tenants", '
                         '"length(name) > 0")')
        new.write_text(text, encoding="utf-8")
        c.open(new, text)
        _, diags = c.diagnostics(uri, where=lambda d: "L003" in codes(d))
        l003 = next(d for d in diags if d["code"] == "L003")
        actions = c.request("textDocument/codeAction", {
            "textDocument": {"uri": uri}, "range": l003["range"],
            "context": {"diagnostics": [l003]}})
        fix = next(a for a in actions if "NOT VALID" in a["title"])
        changes = fix["edit"]["documentChanges"]
        assert changes[0]["textDocument"]["uri"] == uri
        created = [x for x in changes if x.get("kind") == "create"]
        assert len(created) == 1
        follow_uri = created[0]["uri"]
        follow = next(x for x in changes if x.get("textDocument", {}).get("uri") == follow_uri)
        assert follow["textDocument"]["version"] is None
        (body,) = follow["edits"]
        assert "VALIDATE CONSTRAINT ck_tenants_name_set" in body["newText"]
        assert follow_uri.startswith(file_uri(project / "alembic" / "versions"))
        # the editor applies it: the edited buffer, the new file written and announced
        fixed = apply_edits(text, changes[0]["edits"])
        assert "postgresql_not_valid=True" in fixed
        from urllib.parse import unquote, urlparse

        follow_path = Path(unquote(urlparse(follow_uri).path))
        follow_path.write_text(body["newText"], encoding="utf-8")
        mark = c.count()
        c.notify("workspace/didChangeWatchedFiles",
                 {"changes": [{"uri": follow_uri, "type": 1}]})
        c.change(new, fixed, version=2)
        _, diags = c.diagnostics(uri, after=mark, where=lambda d: "L003" not in codes(d))
        assert "L003" not in codes(diags)
        assert c.close() == 0
    finally:
        if c.proc.poll() is None:
            c.proc.kill()
            c.proc.wait()
