"""``b03lint locks``: every upgrade statement of some migrations with what the lock model says
it does on the configured PostgreSQL (lock per table, rewrite, scan, waits), whether the
table holds rows from before the migration, a one-word risk, and the lock rules it breaks.

:func:`lock_view` computes a :class:`LockView` (the same judgement the lock rules make:
:func:`b03lint.rules.lockbase.steps`); :func:`render_text` and :meth:`LockView.to_json`
present it. Nothing here prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from b03lint.findings import ToolError
from b03lint.pgmodel.locks import (
    CORRECTIONS,
    DEFAULT_VERSION,
    MODES,
    NEWEST_MODELLED,
    OLDEST_MODELLED,
    PROVEN_ON,
    ROWS,
    Effect,
    blocks,
)

if TYPE_CHECKING:
    from b03lint.config import Config
    from b03lint.project import Project
    from b03lint.rules.lockbase import Step

Risk = Literal["fails", "high", "brief", "low", "none", "unknown"]

RISKS: dict[str, str] = {
    "fails": "the statement cannot run as written (outside an autocommit block, or not in "
             "this PostgreSQL)",
    "high": "blocks reads or writes of a table with rows while it reads or rewrites it",
    "brief": "blocks reads or writes only while the catalog changes (but queues behind "
             "running queries: set lock_timeout)",
    "low": "blocks no read or write (only other schema changes, or nothing)",
    "none": "a table created in the same migration, or no table at all",
    "unknown": "the lock model does not know this statement",
}


def risk_of(step: Step) -> Risk:
    e = step.effect
    if not e.modelled:
        return "unknown"
    if not e.available or (not e.transaction and not step.op.autocommit):
        return "fails"
    if not step.existing and step.table is not None:
        return "none"
    if e.blocks in ("reads and writes", "writes"):
        return "high" if (e.scan or e.rewrite or e.rewrite is None) else "brief"
    if e.mode is None and not e.unnamed:
        return "none"
    return "low"


@dataclass
class Row:
    path: str
    line: int
    revision: str | None
    what: str
    kind: str
    autocommit: bool
    effect: Effect
    existing: bool
    risk: Risk
    #: lock rules this statement breaks (codes)
    codes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "line": self.line, "revision": self.revision,
                "operation": self.what, "kind": self.kind, "autocommit": self.autocommit,
                "existing_table": self.existing, "risk": self.risk, "rules": self.codes,
                **self.effect.to_json()}


@dataclass
class LockView:
    postgres_version: int
    rows: list[Row] = field(default_factory=list)
    errors: list[ToolError] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"version": 1, "postgres_version": self.postgres_version,
                "risks": RISKS, "statements": [r.to_json() for r in self.rows],
                "errors": [e.to_json() if hasattr(e, "to_json") else str(e)
                           for e in self.errors]}


def _resolve_files(project: Project, paths: list[Path], rev: str | None) -> list[str]:
    """Displayed paths of the migrations to show, in chain order."""
    graph = project.graph
    order = {rev_id: i for i, rev_id in enumerate(graph.order)}
    by_path = {mf.path: mf for mf in project.files}
    chosen: list[str] = []
    if rev is not None:
        target = graph.resolve(rev)
        if target == "base" or target not in graph.nodes:
            raise KeyError(f"no migration for revision {rev!r}")
        chosen.append(graph.nodes[target].path)
    for p in paths:
        resolved = p.resolve()
        match = next((shown for shown in by_path if Path(shown).resolve() == resolved), None)
        if match is None:
            raise KeyError(f"{p} is not a migration of this chain")
        chosen.append(match)
    if not chosen:
        chosen = [graph.nodes[r].path for r in graph.order]
    return sorted(dict.fromkeys(chosen), key=lambda s: order.get(
        by_path[s].revision or "", len(order)))


def lock_view(config: Config, paths: list[Path], rev: str | None) -> LockView:
    """Raises ``KeyError`` (a readable message) for an unknown revision or file."""
    from b03lint.engine import lint, load_project
    from b03lint.operations import OPERATION_TYPES
    from b03lint.rules.base import FileContext
    from b03lint.rules.lockbase import steps, version

    project = load_project(config)
    project.schema_kinds = frozenset(OPERATION_TYPES)
    shown = _resolve_files(project, paths, rev)
    view = LockView(version(project), errors=list(project.errors))
    found = lint(config, [Path(p) for p in shown], select=["locks"], baseline=None)
    codes: dict[tuple[str, int], list[str]] = {}
    for f in found.findings:
        codes.setdefault((f.path, f.line), []).append(f.code)
    by_path = {mf.path: mf for mf in project.files}
    for path in shown:
        mf = by_path[path]
        for step in steps(FileContext(project, mf)):
            op = step.op
            view.rows.append(Row(
                path=path, line=op.loc.line, revision=mf.revision, what=op.describe(),
                kind=op.kind, autocommit=op.autocommit, effect=step.effect,
                existing=step.existing, risk=risk_of(step),
                codes=sorted(set(codes.get((path, op.loc.line), [])))))
    return view


def render_text(view: LockView) -> str:
    out: list[str] = []
    path = None
    for r in view.rows:
        if r.path != path:
            path = r.path
            if out:
                out.append("")
            out.append(f"{r.path} (revision {r.revision or '?'}, PostgreSQL "
                       f"{view.postgres_version})")
        where = "" if r.existing or r.risk == "unknown" else "  [new table]" if \
            r.effect.mode else ""
        auto = "  [autocommit]" if r.autocommit else ""
        rules = f"  {' '.join(r.codes)}" if r.codes else ""
        out.append(f"  {r.line:>5}  {r.risk:<7} {r.what}{auto}{where}{rules}")
        out.append(f"         {' ' * 8}{r.effect.summary()}")
        if r.effect.why:
            out.append(f"         {' ' * 8}({r.effect.why})")
    if not view.rows:
        out.append("no upgrade statement")
    out += ["", "risk:"] + [f"  {k:<7} {v}" for k, v in RISKS.items()]
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- documentation


def _cell(value: bool | str | None) -> str:
    if value is True:
        return "yes"
    if value is False or value is None:
        return ""
    return value


def model_markdown() -> str:
    """The table as Markdown (``docs/lock-model.md``, ``b03lint locks --model``)."""
    out = ["# The lock model", "",
           "<!-- Generated by `b03lint locks --model -o docs/lock-model.md`; do not edit by "
           "hand (tests/test_locks_command.py fails when it is stale). -->", "",
           "What each statement locks, rewrites, scans and waits for, by PostgreSQL major "
           f"({OLDEST_MODELLED}-{NEWEST_MODELLED}; the default `postgres_version` is "
           f"{DEFAULT_VERSION}). Source: `b03lint/pgmodel/locks.py`. Rows that cover "
           f"PostgreSQL {PROVEN_ON} are proven by `tests/test_pg_locks.py` on a real server "
           "(pg_locks, relfilenode, sequential scans); rows of older majors only by the "
           "documentation cited.", "",
           "Modes, weakest first, and what each blocks of ordinary traffic (`SELECT` takes "
           "ACCESS SHARE, `INSERT`/`UPDATE`/`DELETE` ROW EXCLUSIVE):", ""]
    out += [f"- {m}: blocks {blocks(m)}" for m in MODES]
    out += ["", "| row | statement | versions | lock on its table | other locks | rewrite "
            "| scan | waits | in a transaction | proven | documentation |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in ROWS:
        versions = f"{r.since}-{r.until}" if (r.since, r.until) != (
            OLDEST_MODELLED, NEWEST_MODELLED) else "all"
        also = ", ".join(f"{a.mode} on the {a.role}" + (" (if rows need it)" if a.maybe
                                                        else "") for a in r.also)
        lock = "not available" if not r.available else r.mode or "none"
        doc = r.doc + (f"; {r.note}" if r.note else "")
        out.append(f"| `{r.key}` | `{r.statement}` | {versions} | {lock} | {also} | "
                   f"{_cell(r.rewrite)} | {_cell(r.scan)} | {_cell(r.waits)} | "
                   f"{'yes' if r.transaction else 'no'} | {'yes' if r.proven else ''} | "
                   f"{doc.replace('|', '/')} |")
    out += ["", "## Corrected by the trace", "",
            "Where running migrations under the trace (`b03lint rebuild --trace`, "
            "`tests/test_trace_model.py`, `tests/test_pg_locks.py`) showed the table wrong, "
            "and the rows were corrected:", ""]
    out += [f"- {', '.join(f'`{k}`' for k in c.rows)}: the model said {c.said}; {c.traced}."
            for c in CORRECTIONS]
    return "\n".join(out) + "\n"
