"""The language server's incremental lint (b03lint/server/workspace.py, incremental.py):
after every edit it says exactly what `b03lint check` says of the same text, while it
re-checks only the files an edit can change and folds only from the edited revision on."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import pytest

from b03lint.config import load_config
from b03lint.engine import lint
from b03lint.server.workspace import Lint, Workspace

REPO = Path(__file__).resolve().parent.parent
HEAD = "alembic/versions/003_data_governance/202511171200_reconcile_b03_baseline.py"
CORE = "alembic/versions/001_core_schema/202511131000_create_core_tables.py"


def _check(root: Path) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    config = load_config(root)
    config.set("cache", False, "test")
    result = lint(config)
    return [f.to_json() for f in result.findings], [e.to_json() for e in result.errors]


def _same(ws: Workspace, got: Lint) -> None:
    """``got`` is what `check` says with every buffer written to disk."""
    for shown, text in ws.open_texts.items():
        (ws.root / shown).write_text(text, encoding="utf-8")
    expected = _check(ws.root)
    actual = ([f.to_json() for f in got.findings], [e.to_json() for e in got.errors])
    assert json.dumps(actual, indent=1) == json.dumps(expected, indent=1)


@pytest.fixture()
def ws(example_copy: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    monkeypatch.chdir(example_copy)  # restored after the test (the workspace moves there)
    workspace = Workspace(example_copy)
    _same(workspace, workspace.load())
    return workspace


def test_edits_of_the_head_recheck_the_head_only(ws: Workspace) -> None:
    head = ws.root / HEAD
    text = head.read_text(encoding="utf-8")
    got = ws.edit(head, text)  # opened as saved: nothing to re-check
    assert got.rechecked == set()
    marker = "def upgrade() -> None:\n"
    assert marker in text
    dropped = text.replace(marker, marker + '    op.drop_column("tenants", "name")\n', 1)
    got = ws.edit(head, dropped)
    _same(ws, got)
    assert any(f.code == "D002" and f.blocking for f in got.findings)
    assert got.rechecked == {HEAD}
    waived = dropped.replace('"name")\n', '"name")  # CI:DESTRUCTIVE_OK - See ADR-002\n', 1)
    got = ws.edit(head, waived)
    _same(ws, got)
    assert got.rechecked == {HEAD}
    assert not any(f.code == "D002" and f.blocking for f in got.findings)
    # both folds resumed from their checkpoint before the head revision
    position = ws.chains[0].project.graph.order.index("202511171200")  # type: ignore[union-attr]
    assert got.resumed_at == [(position, position)]
    # a new table at the head: what the chain can know of grows, and no earlier revision
    # asked about that name, so the checkpoint still serves
    created = waived.replace(marker, marker + '    op.create_table("audit_notes", '
                             'sa.Column("id", sa.Integer(), primary_key=True))\n', 1)
    got = ws.edit(head, created)
    _same(ws, got)
    assert got.resumed_at == [(position, position)]
    assert any(f.code == "C004" and f.object == "audit_notes" for f in got.findings)
    from b03lint.contract import knowable

    project = ws.chains[0].project
    assert project is not None and "audit_notes" in knowable(project.graph, None)


def test_an_earlier_edit_reaches_the_files_after_it(ws: Workspace) -> None:
    core = ws.root / CORE
    text = core.read_text(encoding="utf-8")
    ws.edit(core, text)
    renamed = text.replace('sa.Column("name", sa.String(255), nullable=False)',
                           'sa.Column("title", sa.String(255), nullable=False)', 1)
    assert renamed != text
    got = ws.edit(core, renamed)
    _same(ws, got)
    broken = renamed + "\ndef (:\n"
    got = ws.edit(core, broken)
    _same(ws, got)
    assert any(f.path == CORE and f.code.startswith("I") for f in got.findings)
    got = ws.edit(core, text)
    _same(ws, got)
    got = ws.close(core)
    _same(ws, got)


def test_a_new_unsaved_revision_and_its_removal(ws: Workspace) -> None:
    new = ws.root / "alembic/versions/003_data_governance/202511181000_more.py"
    text = ('"""more"""\nfrom alembic import op\nimport sqlalchemy as sa\n\n'
            'revision = "202511181000"\ndown_revision = "202511171200"\n\n\n'
            'def upgrade() -> None:\n'
            '    op.alter_column("tenants", "name", type_=sa.Text())\n\n\n'
            'def downgrade() -> None:\n    pass\n')
    got = ws.edit(new, text)
    assert new.name in " ".join(got.by_path())
    _same(ws, got)  # written to disk for `check`: the server saw only the buffer
    new.unlink()
    got = ws.close(new)
    _same(ws, got)
    assert not any(f.path.endswith(new.name) for f in got.findings)


def test_files_changed_on_disk(ws: Workspace) -> None:
    register = ws.root / "db/schema/drift_register.yaml"
    text = register.read_text(encoding="utf-8")
    register.write_text(text.replace("status: open", "status: resolved", 1), encoding="utf-8")
    _same(ws, ws.file_changed(register))
    adr = next((ws.root / "docs/architecture/adr").glob("ADR-003-*.md"))
    adr.unlink()  # the reconciliation's waivers now cite an ADR that does not exist
    got = ws.file_changed(adr, exists=False)
    _same(ws, got)
    assert any(f.code == "D021" for f in got.findings)
    pyproject = ws.root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text(encoding="utf-8").replace(
        "[tool.b03lint]\n", '[tool.b03lint]\nignore = ["D021"]\n', 1), encoding="utf-8")
    got = ws.file_changed(pyproject)
    _same(ws, got)
    assert not any(f.code == "D021" for f in got.findings)


def test_a_broken_configuration_is_an_error_then_recovers(ws: Workspace) -> None:
    pyproject = ws.root / "pyproject.toml"
    good = pyproject.read_text(encoding="utf-8")
    pyproject.write_text(good.replace("[tool.b03lint]\n", "[tool.b03lint]\nbogus = 1\n", 1),
                         encoding="utf-8")
    got = ws.file_changed(pyproject)
    assert got.findings == []
    assert [e.path for e in got.errors] == [str(pyproject)]
    assert "bogus" in got.errors[0].message
    pyproject.write_text(good, encoding="utf-8")
    _same(ws, ws.file_changed(pyproject))


# --------------------------------------------------------------------------- a larger chain


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated chain with branches and merges, whose canonical schema disagrees with
    it in places (findings all over the chain)."""
    sys.path.insert(0, str(REPO / "bench"))
    try:
        from generate import generate
    finally:
        sys.path.remove(str(REPO / "bench"))
    root = generate(tmp_path_factory.mktemp("incremental") / "chain", 120)
    canonical = root / "db" / "schema" / "canonical_schema.sql"
    text = canonical.read_text()
    canonical.write_text(text.replace("DEFAULT now()", "DEFAULT clock_timestamp()")
                         .replace("'abandoned'", "'ignored'"))
    return root


def test_edits_across_a_branching_chain(generated: Path, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    root = tmp_path / "chain"
    shutil.copytree(generated, root)
    monkeypatch.chdir(root)
    ws = Workspace(root)
    first = ws.load()
    assert first.findings, "the canonical schema was made to disagree"
    _same(ws, first)
    project = ws.chains[0].project
    assert project is not None and project.graph.merges(), "a chain with merges"
    order = project.graph.order
    nodes = project.graph.nodes
    # an early revision that creates a table, a middle one, a branch tip, the head
    creators = [r for r in order if any(op.kind == "create_table"
                                        for op in nodes[r].upgrade_ops)]
    tips = [r for r in order if len(project.graph.children.get(r, ())) == 0
            or any(len(project.graph.parents[c]) > 1 for c in project.graph.children[r])]
    chosen = [creators[1], order[len(order) // 2], tips[0], order[-1]]
    for rev in dict.fromkeys(chosen):
        mf = nodes[rev]
        target = root / mf.path
        text = target.read_text(encoding="utf-8")
        table = next((op.table_name for op in mf.upgrade_ops if op.table_name), None)
        assert table is not None
        ws.edit(target, text)
        marker = "def upgrade() -> None:\n"
        for line in (f'    op.drop_column("{table}", "tenant_id")',
                     f'    op.drop_table("{table}")',
                     f'    op.add_column("{table}", sa.Column("x_{rev}", sa.Text()))'):
            edited = text.replace(marker, marker + line + "\n", 1)
            assert edited != text
            got = ws.edit(target, edited)
            _same(ws, got)
        got = ws.edit(target, text)
        _same(ws, got)
        target.write_text(text, encoding="utf-8")
        _same(ws, ws.close(target))


def test_an_edit_reaches_later_files_through_their_schema_before(
        generated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A column added where a table is created: a later revision's judged operation on
    that table (a drop, a type change) now sees another table, so that later file is
    re-checked; the files that never touch the table are kept."""
    import shutil

    root = tmp_path / "chain"
    shutil.copytree(generated, root)
    monkeypatch.chdir(root)
    ws = Workspace(root)
    ws.load()
    project = ws.chains[0].project
    assert project is not None
    graph = project.graph
    (head,) = graph.heads
    mf = next(graph.nodes[r] for r in graph.order[5:]
              if any(op.kind == "create_table" for op in graph.nodes[r].upgrade_ops))
    table = next(op.table_name for op in mf.upgrade_ops if op.kind == "create_table")
    # a new head revision that drops a column of that table (a schema-before rule judges
    # it by the column's current definition)
    later_file = root / "alembic" / "versions" / "zz_later.py"
    later_file.write_text(
        f'"""later"""\nfrom alembic import op\n\nrevision = "zzlater"\n'
        f'down_revision = "{head}"\n\n\ndef upgrade() -> None:\n'
        f'    op.drop_column("{table}", "extra_col")\n\n\ndef downgrade() -> None:\n'
        f'    pass\n', encoding="utf-8")
    _same(ws, ws.file_changed(later_file))
    later = {"alembic/versions/zz_later.py"}
    target = root / mf.path
    text = target.read_text(encoding="utf-8")
    ws.edit(target, text)
    assert text.startswith('"""')
    # the docstring reworded on its own line: every place in the file stays where it was
    got = ws.edit(target, '"""Reworded: ' + text[3:])
    assert got.rechecked == {mf.path}  # nothing any later file sees changed
    _same(ws, got)
    lines = text.splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.startswith("def downgrade"))
    lines.insert(at - 2, f'    op.add_column("{table}", sa.Column("extra_col", sa.Text()))\n')
    got = ws.edit(target, "".join(lines))
    _same(ws, got)
    assert later <= got.rechecked
    assert len(got.rechecked) < len(graph.order) // 2


# --------------------------------------------------------------------------- copies


def test_the_fold_copy_is_a_deep_copy(generated: Path) -> None:
    from b03lint.engine import chain_files
    from b03lint.graph import RevisionGraph
    from b03lint.loader import load_files
    from b03lint.schema.replay import Folder
    from b03lint.server.snapshot import copy_folder

    config = load_config(generated).chain()
    items = sorted(chain_files(config, []).items())
    graph = RevisionGraph.build(load_files(items, config))
    half = len(graph.order) // 2
    folder = Folder("x")
    for rev in graph.order[:half]:
        folder.revision = rev
        for op in graph.nodes[rev].upgrade_ops:
            folder.apply(op)
    before = copy.deepcopy(folder.schema)
    copied = copy_folder(folder)
    assert copied.schema == before
    assert copied.schema is not folder.schema
    for rev in graph.order[half:]:  # fold the rest on the copy: the original stays
        copied.revision = rev
        for op in graph.nodes[rev].upgrade_ops:
            copied.apply(op)
    assert folder.schema == before
    assert copied.schema != before


def test_the_hover_from_a_checkpoint_is_the_hover_from_the_base(ws: Workspace) -> None:
    """The hover's lock judgement starts from the chain's checkpoint before an edited file;
    it says what a fold from the base says."""
    from b03lint.server.hover import hover

    head = ws.root / HEAD
    text = head.read_text(encoding="utf-8")
    marker = "def upgrade() -> None:\n"
    edited = text.replace(marker, marker + '    op.drop_column("tenants", "name")\n', 1)
    ws.edit(head, text)
    ws.edit(head, edited)
    chain, mf = ws.migration(head) or (None, None)
    assert chain is not None and mf is not None
    assert any(c.path == HEAD for c in chain.timeline_memo.checkpoints.items)
    op = next(o for o in mf.upgrade_ops if o.kind == "drop_column")
    from_checkpoint = hover(chain, mf, op.loc.line, op.loc.column)
    chain.forget()
    chain.project = None
    from_base = hover(chain, mf, op.loc.line, op.loc.column)
    assert from_checkpoint is not None and from_base is not None
    assert from_checkpoint.markdown == from_base.markdown
    assert "ACCESS EXCLUSIVE" in from_base.markdown


def test_a_head_without_judged_operations_keeps_its_checkpoints(ws: Workspace) -> None:
    """The timeline folds on to an edited file past the last operation a rule asks the
    schema-before of (for that file's checkpoint), and then starts there."""
    new = ws.root / "alembic/versions/003_data_governance/202511181000_more.py"
    text = ('"""more"""\nfrom alembic import op\nimport sqlalchemy as sa\n\n'
            'revision = "202511181000"\ndown_revision = "202511171200"\n\n\n'
            'def upgrade() -> None:\n'
            '    op.add_column("tenants", sa.Column("motto", sa.Text()))\n\n\n'
            'def downgrade() -> None:\n    pass\n')
    new.write_text(text, encoding="utf-8")
    _same(ws, ws.file_changed(new))
    ws.edit(new, text)
    position = len(ws.chains[0].files()) - 1
    for column in ("slogan", "motto"):
        got = ws.edit(new, text.replace("motto", column))
        _same(ws, got)
        assert got.resumed_at == [(position, position)]
        assert got.rechecked == {"alembic/versions/003_data_governance/202511181000_more.py"}
