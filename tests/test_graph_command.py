"""`b03lint graph`: Mermaid, DOT and SVG pictures of the revision graph, on the bundled
example and on generated chains with branches, merges, dependencies and drift."""

from __future__ import annotations

import itertools
import re
import textwrap
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from b03lint.cli import main
from b03lint.graph import RevisionGraph
from b03lint.operations import Location, MigrationFile
from b03lint.pictures import layout

REPO = Path(__file__).resolve().parent.parent
SVG = "{http://www.w3.org/2000/svg}"
EXAMPLE = ["202511131000", "202511131030", "202511141000", "202511151400", "202511151420",
           "202511151440", "202511161130", "202511171200"]


def graph_text(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
               cwd: Path, *args: str) -> str:
    monkeypatch.chdir(cwd)
    code = main(["graph", *args])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return captured.out


def svg_nodes(text: str) -> tuple[ET.Element, list[ET.Element], list[ET.Element]]:
    root = ET.fromstring(text)
    nodes = [g for g in root.iter(f"{SVG}g") if "node" in g.get("class", "").split()]
    edges = [p for p in root.iter(f"{SVG}path") if "edge" in p.get("class", "").split()]
    return root, nodes, edges


# --------------------------------------------------------------------------- the example


def test_mermaid_of_the_example(monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    out = graph_text(monkeypatch, capsys, REPO)
    assert out.startswith("flowchart TD\n")
    ids = {rev: f"r{i}" for i, rev in enumerate(EXAMPLE)}
    for rev in EXAMPLE:
        assert f'  {ids[rev]}["{rev}<br/>' in out
    edges = re.findall(r"^  (r\d+) --> (r\d+)$", out, re.M)
    assert edges == [(ids[a], ids[b]) for a, b in itertools.pairwise(EXAMPLE)]
    # drift introduced and still there at head (SCHEMA-DRIFT-003), drift introduced and
    # resolved by the reconciliation (SCHEMA-DRIFT-001, -002), the baseline (the head)
    assert f"  class {ids['202511131000']},{ids['202511141000']} drift" in out
    assert f"  class {ids['202511151420']},{ids['202511151440']} resolved" in out
    assert f"  class {ids['202511171200']} baseline" in out
    assert "(baseline, head)<br/>resolves SCHEMA-DRIFT-001, SCHEMA-DRIFT-002" in out
    assert "<br/>drift: SCHEMA-DRIFT-002\"]" in out


def test_dot_of_the_example(monkeypatch: pytest.MonkeyPatch,
                            capsys: pytest.CaptureFixture[str]) -> None:
    out = graph_text(monkeypatch, capsys, REPO, "--format", "dot")
    assert out.startswith("digraph revisions {\n") and out.endswith("}\n")
    for a, b in itertools.pairwise(EXAMPLE):
        assert f'  "{a}" -> "{b}";' in out
    baseline = next(line for line in out.splitlines() if line.startswith('  "202511171200" ['))
    assert "penwidth=4" in baseline
    drift = next(line for line in out.splitlines() if line.startswith('  "202511151440" ['))
    assert 'fillcolor="#fff3cd"' in drift and "drift: SCHEMA-DRIFT-002" in drift


def test_svg_of_the_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                            capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "graph.svg"
    assert graph_text(monkeypatch, capsys, REPO, "--format", "svg", "-o", str(target)) == ""
    text = target.read_text()
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<svg ')
    assert "http" not in text.replace("http://www.w3.org/2000/svg", "")  # nothing external
    _, nodes, edges = svg_nodes(text)
    assert [g.get("data-revision") for g in nodes] == EXAMPLE
    assert len(edges) == len(EXAMPLE) - 1
    classes = {g.get("data-revision"): set(g.get("class", "").split()) for g in nodes}
    assert {"drift"} <= classes["202511131000"]
    assert {"drift-resolved"} <= classes["202511151440"]
    assert {"baseline", "head"} <= classes["202511171200"]
    assert not classes["202511151400"] - {"node"}


def test_no_drift_marks(monkeypatch: pytest.MonkeyPatch,
                        capsys: pytest.CaptureFixture[str]) -> None:
    out = graph_text(monkeypatch, capsys, REPO, "--no-drift")
    assert "drift" not in out.split("classDef")[0]
    assert " drift\n" not in out


# --------------------------------------------------------------------------- generated chains

TEMPLATE = '''\
"""{message}"""
from alembic import op
import sqlalchemy as sa

revision = "{rev}"
down_revision = {down}
depends_on = {depends}


def upgrade():
{body}


def downgrade():
    pass
'''


def make_chain(root: Path, steps: Sequence[tuple[str, object, str, str]],
               config: str = "", canonical: str | None = None) -> Path:
    """``steps``: (revision, down_revision, depends_on (python literal), body)."""
    conf = ['[tool.b03lint]', 'migrations = "versions"']
    if canonical is not None:
        (root / "canonical.sql").write_text(canonical)
        conf.append('canonical_sql = "canonical.sql"')
    (root / "pyproject.toml").write_text("\n".join(conf) + "\n" + config)
    (root / "versions").mkdir()
    for rev, down, depends, body in steps:
        (root / "versions" / f"{rev}.py").write_text(TEMPLATE.format(
            message=f"step {rev}", rev=rev, down=repr(down), depends=depends,
            body=textwrap.indent(textwrap.dedent(body).strip("\n") or "pass", "    ")))
    return root


def table(name: str) -> str:
    return f'op.create_table("{name}", sa.Column("id", sa.Integer(), primary_key=True))'


BRANCHY = [
    ("a", None, "None", table("t_a")),
    ("b", "a", "None", table("t_b")),
    ("c1", "b", "None", table("t_c1")),
    ("c2", "b", "None", table("t_c2")),
    ("d1", "c1", "None", table("t_d1")),
    ("m", ("d1", "c2"), "None", ""),
    ("f", "b", "None", table("t_f")),
    ("e", "m", "None", table("t_e")),
    ("g", "e", '"f"', table("t_g")),
    ("h", "c2", "None", table("t_h")),
]


def test_branches_merges_and_dependencies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    make_chain(tmp_path, BRANCHY, config='baseline_revision = "m"\n')
    mermaid = graph_text(monkeypatch, capsys, tmp_path)
    labels = dict(re.findall(r'^  (r\d+)[\[{]+"(\w+)<br/>', mermaid, re.M))
    ids = {rev: rid for rid, rev in labels.items()}
    assert set(ids) == {s[0] for s in BRANCHY}
    assert f'  {ids["m"]}{{{{"m<br/>step m<br/>(baseline, merge)"}}}}' in mermaid
    assert f"  {ids['f']} -.-> {ids['g']}" in mermaid  # depends_on
    for parent, child in [("b", "c1"), ("b", "c2"), ("d1", "m"), ("c2", "m"), ("e", "g"),
                          ("c2", "h")]:
        assert f"  {ids[parent]} --> {ids[child]}" in mermaid
    assert "(branch point)" in mermaid
    assert f"  class {ids['m']} baseline" in mermaid

    dot = graph_text(monkeypatch, capsys, tmp_path, "--format", "dot")
    assert '"f" -> "g" [style=dashed, label="depends_on"];' in dot
    assert re.search(r'^  "m" \[.*shape=hexagon.*penwidth=4', dot, re.M)
    assert '"g" [' in dot and "(head)" in dot

    svg = graph_text(monkeypatch, capsys, tmp_path, "--format", "svg")
    root, nodes, edges = svg_nodes(svg)
    assert len(nodes) == len(BRANCHY)
    assert len(edges) == 11  # one per parent link, depends_on included
    assert sum("dep" in p.get("class", "").split() for p in edges) == 1
    by_rev = {g.get("data-revision"): g for g in nodes}
    assert by_rev["m"].find(f"{SVG}polygon") is not None  # a merge is a diamond
    assert by_rev["m"].find(f"{SVG}circle[@class='ring']") is not None  # the baseline
    assert {"head"} <= set(by_rev["g"].get("class", "").split())
    assert {"head"} <= set(by_rev["h"].get("class", "").split())
    x = {rev: float(g.find(f"{SVG}circle[@class='dot']").get("cx", "0"))  # type: ignore[union-attr]
         for rev, g in by_rev.items() if g.find(f"{SVG}circle[@class='dot']") is not None}
    assert x["c1"] != x["c2"]  # branches take their own column
    assert int(root.get("height", "0")) > 0 and root.get("viewBox")


def test_missing_parent_and_cycle_are_drawn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    make_chain(tmp_path, [
        ("a", None, "None", table("t_a")),
        ("b", "zzz", "None", table("t_b")),
        ("x", "y", "None", ""),
        ("y", "x", "None", ""),
    ])
    mermaid = graph_text(monkeypatch, capsys, tmp_path)
    assert '["zzz<br/>(missing)"]' in mermaid
    svg = graph_text(monkeypatch, capsys, tmp_path, "--format", "svg")
    _, nodes, edges = svg_nodes(svg)
    assert {g.get("data-revision") for g in nodes} == {"a", "b", "x", "y"}
    assert len(edges) == 2  # x <-> y
    assert "in a cycle" in svg and "missing parent: zzz" in svg


CANON = """CREATE TABLE orders (
    id serial PRIMARY KEY,
    status varchar(10) NOT NULL,
    CONSTRAINT ck_orders_status CHECK (status IN ('new', 'paid'))
);
"""


def test_drift_marks_on_a_generated_chain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    make_chain(tmp_path, [
        ("o1", None, "None", """
            op.create_table("orders", sa.Column("id", sa.Integer(), primary_key=True),
                            sa.Column("status", sa.String(10), nullable=False))
        """),
        ("o2", "o1", "None", """
            op.create_check_constraint("ck_orders_status", "orders",
                                       "status IN ('new', 'void')")
        """),
        ("o3", "o2", "None", 'op.add_column("orders", sa.Column("note", sa.Text()))'),
        ("o4", "o3", "None", """
            op.drop_constraint("ck_orders_status", "orders", type_="check")
            op.create_check_constraint("ck_orders_status", "orders",
                                       "status IN ('new', 'paid')")
        """),
    ], canonical=CANON)
    svg = graph_text(monkeypatch, capsys, tmp_path, "--format", "svg")
    _, nodes, _ = svg_nodes(svg)
    classes = {g.get("data-revision"): set(g.get("class", "").split()) for g in nodes}
    assert "drift-resolved" in classes["o2"]  # the wrong CHECK, fixed by o4
    assert "drift" in classes["o3"]  # the extra column, still at head
    assert classes["o1"] == {"node"}
    assert classes["o4"] == {"node", "baseline", "head"}
    assert "unregistered drift: orders.status" in svg
    assert "unregistered drift: orders.note" in svg


# --------------------------------------------------------------------------- layout


@st.composite
def dags(draw: st.DrawFn) -> list[tuple[str, tuple[str, ...]]]:
    n = draw(st.integers(1, 25))
    out: list[tuple[str, tuple[str, ...]]] = []
    for i in range(n):
        parents = draw(st.sets(st.integers(0, i - 1), max_size=min(i, 3))) if i else set()
        out.append((f"r{i:02d}", tuple(f"r{p:02d}" for p in sorted(parents))))
    return out


@settings(max_examples=150, deadline=None)
@given(dags())
def test_layout_never_runs_an_edge_through_a_node(dag: list[tuple[str, tuple[str, ...]]]) \
        -> None:
    files = [MigrationFile(path=f"{rev}.py", revision=rev, revision_loc=Location(rev, 1),
                           down_revisions=parents) for rev, parents in dag]
    graph = RevisionGraph.build(files)
    lay = layout(graph)
    assert sorted(lay.rows.values()) == list(range(len(dag)))
    for rev, parents in dag:
        for parent in parents:
            assert lay.rows[parent] < lay.rows[rev]
            lane = lay.edge_lanes[(parent, rev)]
            between = [r for r, row in lay.rows.items()
                       if lay.rows[parent] < row < lay.rows[rev]]
            assert all(lay.lanes[r] != lane for r in between)
            # the edge ends in its child's lane or converges into it at the child's row
            assert lane < lay.width
    # a lane is never used by two edges over the same rows
    spans: dict[int, list[tuple[int, int]]] = {}
    for (parent, child), lane in lay.edge_lanes.items():
        spans.setdefault(lane, []).append((lay.rows[parent], lay.rows[child]))
    for lane, items in spans.items():
        items.sort()
        for (_, end), (start, _) in itertools.pairwise(items):
            assert start >= end, (lane, items)
