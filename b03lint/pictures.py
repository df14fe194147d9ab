"""Pictures of the revision graph: Mermaid, Graphviz DOT text, and an SVG drawn here
(no Graphviz needed). Merges, branch points and heads are shown; revisions that introduced
a deviation from the canonical schema are marked (red when the deviation is still there at
head, amber when a later revision resolved it), revisions that resolve drift-register
entries say so, and the baseline revision is highlighted.

The SVG layout is a small layered one: revisions in topological order as rows (base at the
top), branches as columns (lanes). A lane is reserved from a parent's row down to its
child's row, so an edge never runs through another revision's node.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from b03lint.findings import ToolError

if TYPE_CHECKING:
    from b03lint.graph import RevisionGraph
    from b03lint.project import Project

FORMATS = ("mermaid", "dot", "svg")

#: deviation kinds that mean a revision built something that contradicts the canonical
#: schema (the rest, "missing ...", are normal while the chain is still being built, so
#: they count only at head)
CONTRADICTIONS = frozenset({
    "extra-table", "extra-column", "extra-constraint", "extra-index", "extra-policy",
    "column-renamed", "column-type", "column-nullability", "column-default",
    "constraint-name", "constraint-differs", "enum-values", "index-name", "index-shape",
    "policy-differs",
})
#: operations that only add to the schema: a revision made of these alone cannot remove
#: a contradiction, so the scan need not look just before it
ADDITIVE = frozenset({
    "create_table", "add_column", "create_index", "add_constraint", "create_policy",
    "enable_rls", "force_rls", "create_enum_type", "alter_enum_add_value", "create_schema",
    "data_change", "other_statement", "validate_constraint",
})
#: most revisions the scan diffs at (beyond, marks come from the analysis at head and the
#: drift register's ``revisions`` only)
SCAN_LIMIT = 400


@dataclass(frozen=True)
class Mark:
    """A deviation a revision introduced."""

    revision: str
    object: str
    kind: str
    drift_id: str | None
    #: still present at head (else a later revision resolved it)
    at_head: bool

    @property
    def label(self) -> str:
        return self.object + (f" ({self.drift_id})" if self.drift_id else "")


@dataclass
class GraphView:
    graph: RevisionGraph
    baseline: str | None = None
    marks: dict[str, list[Mark]] = field(default_factory=dict)
    #: revision -> drift-register ids it resolves
    resolves: dict[str, list[str]] = field(default_factory=dict)
    errors: list[ToolError] = field(default_factory=list)

    def drift_class(self, rev: str) -> str | None:
        marks = self.marks.get(rev)
        if not marks:
            return None
        return "drift" if any(m.at_head for m in marks) else "drift-resolved"


# --------------------------------------------------------------------------- analysis


def graph_view(project: Project, *, deviations: bool = True,
               scan_limit: int = SCAN_LIMIT) -> GraphView:
    """The graph of ``project`` with its baseline and deviation marks (the project must
    be loaded at head: ``project.rev`` None)."""
    graph = project.graph
    view = GraphView(graph)
    configured = project.config.get("baseline_revision")
    if configured:
        try:
            view.baseline = graph.resolve(str(configured))
        except KeyError as exc:
            view.errors.append(ToolError(f"baseline_revision: {exc.args[0]}"))
    elif len(graph.heads) == 1:
        view.baseline = graph.heads[0]
    if deviations:
        _mark(project, view, scan_limit)
    return view


def _mark(project: Project, view: GraphView, scan_limit: int) -> None:
    from b03lint.contract import analyze, classify, project_replay
    from b03lint.schema.diff import diff

    graph = view.graph
    state = analyze(project)
    found: dict[tuple[str, str, str], Mark] = {}

    def add(rev: str | None, kind: str, obj: str, drift: str | None, at_head: bool) -> None:
        if rev is None or rev not in graph.nodes:
            return
        key = (rev, kind, obj)
        if key not in found:
            found[key] = Mark(rev, obj, kind, drift, at_head)

    for c in state.classified:
        dev = c.deviation
        if dev.kind != "unknown-object" and dev.actual is not None:
            add(dev.actual.revision, dev.kind, dev.object, c.entry.id if c.entry else None,
                True)
    canonical = state.canonical.schema
    checkpoints = scan_points(graph)
    if canonical is not None and len(checkpoints) <= scan_limit:
        tenant = str(project.config.get("tenant_column"))
        for rev in checkpoints:
            replay = project_replay(project, rev)
            for dev in diff(replay.schema, canonical, tenant_column=tenant,
                            unknown_tables=replay.unknown_tables):
                if dev.kind in CONTRADICTIONS and dev.actual is not None:
                    entry = classify(dev, state.register, graph, rev).entry
                    add(dev.actual.revision, dev.kind, dev.object,
                        entry.id if entry else None, False)
    if state.register is not None:
        for entry in state.register.entries:
            resolving = entry.resolving_revision
            if resolving is not None and resolving in graph.nodes:
                view.resolves.setdefault(resolving, []).append(entry.id)
            intro = entry.revisions[:-1] if resolving is not None else entry.revisions
            for rev in intro:
                if not any(m.revision == rev and m.drift_id == entry.id
                           for m in found.values()):
                    add(rev, "registered", entry.object, entry.id, entry.status == "open")
    for mark in found.values():
        view.marks.setdefault(mark.revision, []).append(mark)


def scan_points(graph: RevisionGraph) -> list[str]:
    """The revisions to diff at to find every contradiction the chain ever had: the
    parents of each revision that may remove or change something (a contradiction present
    anywhere survives until such a revision), in graph order. The heads are covered by
    the analysis at head."""
    points: set[str] = set()
    for rev in graph.order:
        ops = graph.nodes[rev].upgrade_ops
        if any(op.kind not in ADDITIVE for op in ops) or not graph.nodes[rev].readable:
            points.update(graph.parents.get(rev, ()))
    return [rev for rev in graph.order if rev in points]


# --------------------------------------------------------------------------- text


def _message(graph: RevisionGraph, rev: str, width: int = 60) -> str:
    text = " ".join((graph.nodes[rev].message or "").split())
    return text if len(text) <= width else text[: width - 1] + "\u2026"


def _flags(view: GraphView, rev: str) -> list[str]:
    graph = view.graph
    out: list[str] = []
    if rev == view.baseline:
        out.append("baseline")
    if rev in graph.heads:
        out.append("head")
    if is_merge(graph, rev):
        out.append("merge")
    if len(graph.children.get(rev, ())) > 1:
        out.append("branch point")
    labels = graph.nodes[rev].branch_labels
    if labels:
        out.append("labels: " + ", ".join(labels))
    return out


def _note_parts(view: GraphView, rev: str) -> list[tuple[str, str]]:
    """(css class, text): ``drift: SCHEMA-DRIFT-001``, ``unregistered drift: t.c``,
    ``resolves SCHEMA-DRIFT-002``."""
    parts: list[tuple[str, str]] = []
    marks = view.marks.get(rev, [])
    ids = list(dict.fromkeys(m.drift_id for m in marks if m.drift_id))
    loose = list(dict.fromkeys(m.object for m in marks if not m.drift_id))
    if ids:
        parts.append(("notes", "drift: " + ", ".join(ids)))
    if loose:
        parts.append(("notes", "unregistered drift: " + ", ".join(loose)))
    if rev in view.resolves:
        parts.append(("resolves", "resolves " + ", ".join(view.resolves[rev])))
    return parts


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "\u2026"


def _notes(view: GraphView, rev: str, width: int = 110) -> str:
    return _clip("; ".join(text for _, text in _note_parts(view, rev)), width)


def is_merge(graph: RevisionGraph, rev: str) -> bool:
    """Two or more ``down_revision`` parents (``depends_on`` links do not merge)."""
    return len(graph.nodes[rev].down_revisions or ()) > 1


def _edges(graph: RevisionGraph) -> list[tuple[str, str, bool]]:
    """(parent, child, is a depends_on link), children in graph order."""
    out: list[tuple[str, str, bool]] = []
    for rev in _all_revisions(graph):
        mf = graph.nodes[rev]
        downs = set(mf.down_revisions or ())
        for parent in graph.parents.get(rev, ()):
            dep = parent not in downs and any(
                parent == d or graph.labels.get(d) == parent for d in mf.depends_on)
            out.append((parent, rev, dep))
    return out


def _all_revisions(graph: RevisionGraph) -> list[str]:
    placed = set(graph.order)
    return [*graph.order, *sorted(r for r in graph.nodes if r not in placed)]


def _missing(graph: RevisionGraph) -> list[tuple[str, str]]:
    """(child revision, missing parent) pairs."""
    return [(mf.revision, parent) for mf, parent in graph.unknown_parents
            if mf.revision is not None]


_MERMAID_ENTITIES = {"#": "#35;", "&": "#amp;", "<": "#lt;", ">": "#gt;", '"': "#quot;",
                     "[": "#91;", "]": "#93;", "{": "#123;", "}": "#125;", "|": "#124;"}


def _mermaid_label(text: str) -> str:
    """Text inside a quoted Mermaid label, special characters as Mermaid entity codes."""
    return "".join(_MERMAID_ENTITIES.get(ch, ch) for ch in text)


def to_mermaid(view: GraphView) -> str:
    graph = view.graph
    revs = _all_revisions(graph)
    ids = {rev: f"r{i}" for i, rev in enumerate(revs)}
    out = ["flowchart TD"]
    for rev in revs:
        lines = [rev]
        message = _message(graph, rev)
        if message:
            lines.append(message)
        flags = _flags(view, rev)
        if flags:
            lines.append("(" + ", ".join(flags) + ")")
        notes = _notes(view, rev)
        if notes:
            lines.append(notes)
        label = "<br/>".join(_mermaid_label(x) for x in lines)
        shape = ('{{"', '"}}') if is_merge(graph, rev) else ('["', '"]')
        out.append(f"  {ids[rev]}{shape[0]}{label}{shape[1]}")
    for i, (child, parent) in enumerate(_missing(graph)):
        out.append(f'  m{i}["{_mermaid_label(parent)}<br/>(missing)"]')
        out.append(f"  m{i} -.-> {ids[child]}")
    for parent, child, dep in _edges(graph):
        out.append(f"  {ids[parent]} {'-.->' if dep else '-->'} {ids[child]}")
    out += ["  classDef drift fill:#f8d7da,stroke:#b00020,color:#000",
            "  classDef resolved fill:#fff3cd,stroke:#b26a00,color:#000",
            "  classDef baseline stroke:#1a7f37,stroke-width:4px",
            "  classDef missing fill:#eee,stroke:#888,stroke-dasharray:4 3"]
    for cls, members in (("drift", [r for r in revs if view.drift_class(r) == "drift"]),
                         ("resolved", [r for r in revs
                                       if view.drift_class(r) == "drift-resolved"]),
                         ("baseline", [view.baseline] if view.baseline else [])):
        if members:
            out.append(f"  class {','.join(ids[r] for r in members)} {cls}")
    if _missing(graph):
        out.append(f"  class {','.join(f'm{i}' for i in range(len(_missing(graph))))} "
                   "missing")
    return "\n".join(out) + "\n"


def _dot_str(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(view: GraphView) -> str:
    graph = view.graph
    out = ["digraph revisions {",
           '  graph [rankdir=TB, fontname="Helvetica", label="revision graph", '
           "labelloc=t];",
           '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", '
           'fontname="Helvetica", fontsize=10];',
           '  edge [color="#555555"];']
    for rev in _all_revisions(graph):
        lines = [rev]
        message = _message(graph, rev)
        if message:
            lines.append(message)
        flags = _flags(view, rev)
        if flags:
            lines.append("(" + ", ".join(flags) + ")")
        notes = _notes(view, rev)
        if notes:
            lines.append(notes)
        attrs = [f"label={_dot_str(chr(10).join(lines))}"]
        cls = view.drift_class(rev)
        if cls == "drift":
            attrs += ['fillcolor="#f8d7da"', 'color="#b00020"']
        elif cls == "drift-resolved":
            attrs += ['fillcolor="#fff3cd"', 'color="#b26a00"']
        if is_merge(graph, rev):
            attrs.append("shape=hexagon")
        if rev == view.baseline:
            attrs += ["penwidth=4", 'color="#1a7f37"']
        out.append(f"  {_dot_str(rev)} [{', '.join(attrs)}];")
    for child, parent in _missing(graph):
        node = _dot_str(f"missing:{parent}")
        out.append(f'  {node} [label={_dot_str(parent + chr(10) + "(missing)")}, '
                   'style="dashed"];')
        out.append(f"  {node} -> {_dot_str(child)} [style=dashed];")
    for parent, child, dep in _edges(graph):
        extra = ' [style=dashed, label="depends_on"]' if dep else ""
        out.append(f"  {_dot_str(parent)} -> {_dot_str(child)}{extra};")
    out.append("}")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- layout


@dataclass
class Layout:
    """Row (0 = top) and lane (0 = left) of every revision, and the lane each edge runs
    down."""

    rows: dict[str, int]
    lanes: dict[str, int]
    edge_lanes: dict[tuple[str, str], int]
    width: int


def layout(graph: RevisionGraph) -> Layout:
    revs = _all_revisions(graph)
    rows = {rev: i for i, rev in enumerate(revs)}
    expecting: list[str | None] = []
    lanes: dict[str, int] = {}
    edge_lanes: dict[tuple[str, str], int] = {}

    def free() -> int:
        for i, e in enumerate(expecting):
            if e is None:
                return i
        expecting.append(None)
        return len(expecting) - 1

    for rev in revs:
        waiting = [i for i, e in enumerate(expecting) if e == rev]
        lane = waiting[0] if waiting else free()
        for i in waiting:
            expecting[i] = None
        lanes[rev] = lane
        kids = sorted((k for k in graph.children.get(rev, ()) if rows.get(k, -1) > rows[rev]),
                      key=rows.__getitem__)
        for n, kid in enumerate(kids):
            use = lane if n == 0 else free()
            expecting[use] = kid
            edge_lanes[(rev, kid)] = use
    return Layout(rows, lanes, edge_lanes, max(len(expecting), 1))


# --------------------------------------------------------------------------- SVG

ROW = 44
LANE = 22
TOP = 64
LEFT = 24
CHAR = 7.0

SVG_STYLE = """
.title{font:bold 15px sans-serif;fill:#222}
.legend{font:11px sans-serif;fill:#333}
.edge{fill:none;stroke:#6a737d;stroke-width:2}
.edge.dep{stroke-dasharray:5 4}
.node circle.dot,.node polygon.dot{fill:#fff;stroke:#24292f;stroke-width:2}
.node.drift .dot{fill:#f8d7da;stroke:#b00020}
.node.drift-resolved .dot{fill:#fff3cd;stroke:#b26a00}
.node .ring{fill:none;stroke:#1a7f37;stroke-width:3}
.rev{font:bold 12px monospace;fill:#24292f}
.msg{font:12px sans-serif;fill:#444}
.flags{font:11px sans-serif;fill:#0550ae}
.notes{font:11px sans-serif;fill:#b00020}
.node.drift-resolved .notes{fill:#8a5300}
.resolves{font:11px sans-serif;fill:#1a7f37}
"""


def _safe_id(rev: str) -> str:
    return "rev-" + re.sub(r"[^A-Za-z0-9_.-]", "_", rev)


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def to_svg(view: GraphView, *, standalone: bool = True, title: str = "revision graph") -> str:
    """The graph as SVG: one ``<g class="node">`` per revision and one
    ``<path class="edge">`` per parent link. ``standalone`` adds the XML declaration."""
    graph = view.graph
    lay = layout(graph)
    revs = _all_revisions(graph)
    text_x = LEFT + lay.width * LANE + 12
    longest = 0
    body: list[str] = []

    def x_of(lane: int) -> float:
        return LEFT + lane * LANE + LANE / 2

    def y_of(row: int) -> float:
        return TOP + row * ROW + ROW / 2

    for parent, child, dep in _edges(graph):
        if parent not in lay.rows or child not in lay.rows:
            continue
        px, py = x_of(lay.lanes[parent]), y_of(lay.rows[parent])
        cx, cy = x_of(lay.lanes[child]), y_of(lay.rows[child])
        lane = lay.edge_lanes.get((parent, child))
        if lane is None or cy <= py:  # a link inside a cycle: drawn straight
            d = f"M{px:.0f},{py:.0f} L{cx:.0f},{cy:.0f}"
        else:
            xl = x_of(lane)
            if cy - py <= ROW:
                d = (f"M{px:.0f},{py:.0f} C{px:.0f},{py + ROW / 2:.0f} "
                     f"{cx:.0f},{cy - ROW / 2:.0f} {cx:.0f},{cy:.0f}")
            else:
                y1, y2 = py + ROW, cy - ROW
                d = f"M{px:.0f},{py:.0f} "
                d += (f"L{xl:.0f},{y1:.0f} " if xl == px else
                      f"C{px:.0f},{py + ROW / 2:.0f} {xl:.0f},{py + ROW / 2:.0f} "
                      f"{xl:.0f},{y1:.0f} ")
                d += f"L{xl:.0f},{y2:.0f} "
                d += (f"L{cx:.0f},{cy:.0f}" if xl == cx else
                      f"C{xl:.0f},{cy - ROW / 2:.0f} {cx:.0f},{cy - ROW / 2:.0f} "
                      f"{cx:.0f},{cy:.0f}")
        cls = "edge dep" if dep else "edge"
        body.append(f'<path class="{cls}" data-from="{_e(parent)}" data-to="{_e(child)}" '
                    f'd="{d}"/>')

    missing: dict[str, list[str]] = {}
    for child, parent in _missing(graph):
        missing.setdefault(child, []).append(parent)
    for rev in revs:
        x, y = x_of(lay.lanes[rev]), y_of(lay.rows[rev])
        classes = ["node"]
        drift = view.drift_class(rev)
        if drift:
            classes.append(drift)
        if rev == view.baseline:
            classes.append("baseline")
        if rev in graph.heads:
            classes.append("head")
        merge = is_merge(graph, rev)
        if merge:
            classes.append("merge")
        message = _message(graph, rev, 70)
        flags = _flags(view, rev)
        if rev not in graph.order:
            flags.append("in a cycle")
        if rev in missing:
            flags.append("missing parent: " + ", ".join(missing[rev]))
        notes = _notes(view, rev)
        details = "\n".join(f"drift: {m.label} ({m.kind})" for m in view.marks.get(rev, []))
        tip = "\n".join(x for x in (rev, graph.nodes[rev].path, message, ", ".join(flags),
                                    notes, details) if x)
        parts = [f'<g class="{" ".join(classes)}" id="{_safe_id(rev)}" '
                 f'data-revision="{_e(rev)}">', f"<title>{_e(tip)}</title>"]
        if rev == view.baseline:
            parts.append(f'<circle class="ring" cx="{x:.0f}" cy="{y:.0f}" r="10"/>')
        if merge:
            parts.append(f'<polygon class="dot" points="{x:.0f},{y - 8:.0f} '
                         f'{x + 8:.0f},{y:.0f} {x:.0f},{y + 8:.0f} {x - 8:.0f},{y:.0f}"/>')
        else:
            parts.append(f'<circle class="dot" cx="{x:.0f}" cy="{y:.0f}" r="6"/>')
        line1 = f'<text x="{text_x}" y="{y - 3:.0f}"><tspan class="rev">{_e(rev)}</tspan>'
        if message:
            line1 += f'<tspan class="msg" dx="8">{_e(message)}</tspan>'
        line1 += "</text>"
        parts.append(line1)
        sub = []
        if flags:
            sub.append(f'<tspan class="flags">[{_e(", ".join(flags))}]</tspan>')
        budget = 110
        for cls, text in _note_parts(view, rev):
            if budget <= 1:
                break
            text = _clip(text, budget)
            budget -= len(text) + 2
            sub.append(f'<tspan class="{cls}" dx="{6 if sub else 0}">{_e(text)}</tspan>')
        if sub:
            parts.append(f'<text x="{text_x}" y="{y + 12:.0f}">{"".join(sub)}</text>')
        parts.append("</g>")
        body.append("".join(parts))
        chars = max(len(rev) + 2 + len(message),
                    (len(", ".join(flags)) + 3 if flags else 0) + len(notes))
        longest = max(longest, chars)

    width = int(text_x + longest * CHAR + 24)
    width = max(width, 420)
    height = TOP + len(revs) * ROW + 16
    legend = ('<g class="legend-items">'
              f'<circle class="legend-dot" cx="{LEFT + 6}" cy="40" r="6" fill="#fff" '
              'stroke="#24292f" stroke-width="2"/>'
              f'<text class="legend" x="{LEFT + 16}" y="44">revision</text>'
              f'<circle cx="{LEFT + 86}" cy="40" r="6" fill="#f8d7da" stroke="#b00020" '
              'stroke-width="2"/>'
              f'<text class="legend" x="{LEFT + 96}" y="44">introduced drift still at head'
              '</text>'
              f'<circle cx="{LEFT + 290}" cy="40" r="6" fill="#fff3cd" stroke="#b26a00" '
              'stroke-width="2"/>'
              f'<text class="legend" x="{LEFT + 300}" y="44">introduced drift resolved later'
              '</text>'
              f'<circle cx="{LEFT + 500}" cy="40" r="9" fill="none" stroke="#1a7f37" '
              'stroke-width="3"/>'
              f'<text class="legend" x="{LEFT + 514}" y="44">baseline</text>'
              f'<polygon points="{LEFT + 586},32 {LEFT + 594},40 {LEFT + 586},48 '
              f'{LEFT + 578},40" fill="#fff" stroke="#24292f" stroke-width="2"/>'
              f'<text class="legend" x="{LEFT + 600}" y="44">merge</text></g>')
    width = max(width, LEFT + 660)
    head = '<?xml version="1.0" encoding="UTF-8"?>\n' if standalone else ""
    summary = (f"{len(revs)} revision(s), {len(graph.heads)} head(s), "
               f"{sum(is_merge(graph, r) for r in revs)} merge(s)")
    return (f'{head}<svg xmlns="http://www.w3.org/2000/svg" class="revision-graph" '
            f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
            f'role="img" aria-label="{_e(title)}: {_e(summary)}">'
            f"<title>{_e(title)}: {_e(summary)}</title>"
            f"<style>{SVG_STYLE}</style>"
            f'<text class="title" x="{LEFT}" y="22">{_e(title)} \u2014 {_e(summary)}</text>'
            f"{legend}{''.join(body)}</svg>\n")


def render(view: GraphView, fmt: str) -> str:
    if fmt == "mermaid":
        return to_mermaid(view)
    if fmt == "dot":
        return to_dot(view)
    if fmt == "svg":
        return to_svg(view)
    raise ValueError(f"unknown format {fmt!r} (choose from {', '.join(FORMATS)})")


def revisions_with_marks(view: GraphView) -> Iterable[tuple[str, list[Mark]]]:
    """Marked revisions in graph order (for reports)."""
    for rev in _all_revisions(view.graph):
        if rev in view.marks:
            yield rev, view.marks[rev]
