"""What a hover on an operation shows (Markdown): what it locks on the configured
PostgreSQL (the lock model, as ``b03lint locks`` prints it) and what the chain's schema
says about the object it touches at that revision (``b03lint show --at REV``, in short).

Both come from the buffers as they are: the lock judgement needs the schema just before
the operation (does the table hold rows from before this migration?), the short ``show``
the replay up to the file's revision; each is one fold of the chain up to there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from b03lint.operations import ColumnDef, ConstraintDef, MigrationFile, Operation

if TYPE_CHECKING:
    from b03lint.project import Project
    from b03lint.rules.lockbase import Step
    from b03lint.server.workspace import ChainState
    from b03lint.show import ShowResult

#: facts of one section shown at most
MAX_FACTS = 4
#: touches shown at most (the latest)
MAX_TOUCHES = 3


@dataclass(frozen=True)
class HoverText:
    markdown: str
    #: the operation's place: 1-based lines, 0-based columns (end exclusive)
    line: int
    column: int
    end_line: int
    end_column: int


def operation_at(mf: MigrationFile, line: int, column: int) -> Operation | None:
    """The innermost operation whose place covers (1-based ``line``, 0-based
    ``column``)."""
    best: tuple[int, int, Operation] | None = None
    for op in (*mf.upgrade_ops, *mf.downgrade_ops):
        loc = op.loc
        end_line = loc.end_line or loc.line
        if not loc.line <= line <= end_line:
            continue
        if line == loc.line and column < loc.column:
            continue
        if loc.end_column is not None and line == end_line and column > loc.end_column:
            continue
        size = (end_line - loc.line, (loc.end_column or 0) - loc.column)
        if best is None or size < best[:2]:
            best = (*size, op)
    return best[2] if best is not None else None


def object_of(op: Operation) -> str | None:
    """The schema object ``op`` concerns, as ``b03lint show`` names it."""
    table = op.table_name
    column = getattr(op, "column", None)
    name = column.name if isinstance(column, ColumnDef) else column
    if isinstance(name, str) and table:
        return f"{table}.{name}"
    constraint = getattr(op, "constraint", None)
    if isinstance(constraint, ConstraintDef) and constraint.name:
        return constraint.name
    own = getattr(op, "name", None)
    if isinstance(own, str) and op.kind.endswith(("index", "constraint", "policy")):
        return f"{table}.{own}" if op.kind.endswith("policy") and table else own
    return table


def hover(chain: ChainState, mf: MigrationFile, line: int, column: int) -> HoverText | None:
    """The hover of the operation at (1-based ``line``, 0-based ``column``) of ``mf``."""
    op = operation_at(mf, line, column)
    if op is None:
        return None
    parts = [f"**{op.describe()}**" + (f" (revision `{mf.revision}`, {op.phase})"
                                        if mf.revision else f" ({op.phase})")]
    parts += _lock_section(chain, mf, op)
    parts += _schema_section(chain, mf, op)
    loc = op.loc
    end_line = loc.end_line or loc.line
    end_col = loc.end_column if loc.end_column is not None else loc.column + 1
    return HoverText("\n\n".join(parts), loc.line, loc.column, end_line, end_col)


def _project(chain: ChainState, target: str | None, rev: str | None) -> Project:
    from b03lint.project import Project

    ws = chain.workspace
    project = Project(chain.config, ws.registry, chain.files(),
                      {target} if target else None, rev, [])
    project.__dict__["adrs"] = ws.adrs
    project.memo["base_schema"] = chain.base
    if chain.canonical is not None:
        project.memo["canonical"] = chain.canonical
    return project


def _lock_section(chain: ChainState, mf: MigrationFile, op: Operation) -> list[str]:
    from b03lint.lockview import RISKS, risk_of
    from b03lint.operations import OPERATION_TYPES
    from b03lint.rules.base import FileContext
    from b03lint.rules.lockbase import steps, version

    if op.phase != "upgrade":
        return ["Lock: the lock model judges upgrade operations (this one runs on "
                "downgrade)."]
    from b03lint.server.incremental import FileTimeline

    project = _project(chain, mf.path, None)
    project.schema_kinds = frozenset(OPERATION_TYPES)
    project.__dict__["timeline"] = FileTimeline(project.graph, project.schema_kinds, mf,
                                                chain.timeline_memo)
    found: Step | None = next((s for s in steps(FileContext(project, mf)) if s.op is op),
                              None)
    if found is None:
        return []
    e = found.effect
    risk = risk_of(found)
    lines = [f"**Lock** (PostgreSQL {version(project)}): {e.summary()}"]
    if e.modelled and e.available:
        mode = e.mode or "no table lock"
        lines.append(f"- blocks {e.blocks} of the table while it holds {mode}"
                     if e.mode else "- takes no lock on a table")
        lines.append(f"- rewrite: {_yes(e.rewrite)}; scan: {_yes(e.scan)}; "
                     f"in a transaction: {'yes' if e.transaction else 'no (autocommit only)'}")
    if e.why:
        lines.append(f"- {e.why}")
    table = found.table
    if table is not None and not found.existing:
        lines.append(f"- {table} is created earlier in this migration: it holds no rows yet")
    lines.append(f"- risk: **{risk}**: {RISKS[risk]}")
    return ["\n".join(lines)]


def _yes(value: bool | None) -> str:
    return "maybe" if value is None else "yes" if value else "no"


def _schema_section(chain: ChainState, mf: MigrationFile, op: Operation) -> list[str]:
    from b03lint.show import ObjectNotFound, show

    name = object_of(op)
    if name is None or mf.revision is None:
        return []
    project = _project(chain, None, mf.revision)
    last = chain.project
    if (last is not None and project.graph.heads == [mf.revision]
            and all(a is b for a, b in zip(last.files, project.files, strict=False))
            and len(last.files) == len(project.files)):
        # the head's replay is the last lint's (the same files): no fold again
        from b03lint.contract import replay_key

        head = last.memo.get(replay_key(None))
        if head is not None:
            project.memo[replay_key(mf.revision)] = head
    result: ShowResult | None = None
    for candidate in dict.fromkeys((name, op.table_name or name)):
        try:
            result = show(project, candidate)
            break
        except (ObjectNotFound, KeyError):
            continue
    if result is None:
        return []
    return [_short(result)]


def _short(r: ShowResult) -> str:
    """``b03lint show`` in short: canonical truth, state at the revision, deviations,
    drift entries, the latest migrations that touched it."""
    ref = r.object
    out = [f"**{ref.kind} `{ref.name}`** at revision `{r.revision}` (static replay):"]
    state = [f"- {f.what}: `{f.text}`" + (f" ({f.where})" if f.where else "")
             for f in r.state[:MAX_FACTS]]
    out += state or ["- does not exist at this revision"]
    canon = r.canonical_sql or r.canonical_yaml
    if r.canonical_sql_path is None and r.canonical_yaml_path is None:
        out.append("- canonical: no canonical schema is configured")
    elif not canon:
        out.append("- canonical: not in the canonical schema")
    else:
        out += [f"- canonical {f.what}: `{f.text}`" + (f" ({f.where})" if f.where else "")
                for f in canon[:MAX_FACTS]]
    for d in r.deviations[:MAX_FACTS]:
        drift = f" [{d.drift_id}, {d.drift_status}]" if d.drift_id else ""
        out.append(f"- deviation ({d.severity}): {d.message}{drift}")
    for e in r.drift[:MAX_FACTS]:
        out.append(f"- drift register: {e.id} {e.status}" +
                   (f" by {e.resolving}" if e.resolving else "") + f" ({e.path}:{e.line})")
    touches = r.migrations[-MAX_TOUCHES:]
    if touches:
        out.append("- touched by: " + "; ".join(f"{t.what} ({t.path}:{t.line})"
                                                for t in touches))
    return "\n".join(out)
