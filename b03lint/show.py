"""Everything b03lint knows about one schema object, in the order the guide's section 2.4
walks it: the canonical truth (with its place in the canonical SQL and YAML), the ADRs that
mention it, every migration that touched it in chain order, its state at a revision (the
static replay), its deviations there and its drift-register entries.

:func:`show` computes a :class:`ShowResult`; :func:`render_text` and
:meth:`ShowResult.to_json` present it. Nothing here prints.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from b03lint.pgmodel.locks import DEFAULT_VERSION
from b03lint.showchain import _Aliases, _aliases, _chain_ops, touches
from b03lint.showfacts import (
    _constraint_concerns,
    _index_concerns,
    _Lines,
    _owns,
    _Universe,
    _word,
    facts,
)
from b03lint.showmodel import (
    KINDS,
    DeviationInfo,
    DriftRef,
    Fact,
    Mention,
    ObjectNotFound,
    ObjectRef,
    ShowResult,
    Touch,
)

if TYPE_CHECKING:
    from b03lint.config import Config
    from b03lint.contract import Classified
    from b03lint.project import Project

__all__ = ["KINDS", "DeviationInfo", "DriftRef", "Fact", "Mention", "ObjectNotFound",
           "ObjectRef", "ShowResult", "Touch", "load_project", "render_text", "show",
           "touches"]


# --------------------------------------------------------------------------- project


def load_project(config: Config, rev: str | None = None) -> Project:
    """Read every migration of the configured chain into a :class:`Project` (no rule runs);
    unreadable files and a missing folder land in ``project.errors``."""
    from b03lint.engine import load_project as load

    return load(config, rev)


# --------------------------------------------------------------------------- ADRs


def adr_mentions(adr_dir: Path | None, words: Iterable[str],
                 pattern: str | None = None) -> list[Mention]:
    """Every line of the ADR folder's files that names one of ``words`` (as a whole
    identifier), file by file in name order; ``pattern`` is ``adr_pattern``."""
    from b03lint.paths import display_path
    from b03lint.waivers import _canon_adr, adr_pattern

    adr_file = adr_pattern(pattern).file

    if adr_dir is None or not adr_dir.is_dir():
        return []
    patterns = [_word(w) for w in sorted(set(words)) if w]
    out: list[Mention] = []
    for entry in sorted(adr_dir.rglob("*")):
        if not entry.is_file() or entry.suffix.lower() not in (".md", ".markdown", ".txt",
                                                               ".rst", ".adoc", ""):
            continue
        m = adr_file.match(entry.name)
        adr = _canon_adr(m.group("id")) if m and m.group("id") else None
        try:
            text = entry.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        shown = display_path(entry)
        for n, line in enumerate(text.splitlines(), 1):
            if any(p.search(line) for p in patterns):
                snippet = " ".join(line.split())
                if len(snippet) > 160:
                    snippet = snippet[:157] + "..."
                out.append(Mention(adr, shown, n, snippet))
    return out


# --------------------------------------------------------------------------- show


def _object_names(ref: ObjectRef, aliases: _Aliases) -> set[str]:
    """The names a deviation or a drift-register entry may use for the object."""
    tables = aliases.tables or {ref.table or ""}
    if ref.kind == "table":
        return set(tables)
    if ref.kind == "index":
        return set(aliases.locals)
    if ref.kind == "constraint":
        return set(aliases.locals) | {f"{t}.{n}" for t in tables for n in aliases.locals}
    return {f"{t}.{n}" for t in tables for n in aliases.locals}


def _concerns(names: set[str], ref: ObjectRef, table_parts: set[str],
              candidates: set[str]) -> bool:
    if names & candidates:
        return True
    if ref.kind == "table":
        return any(n.split(".", 1)[0] in candidates for n in names if "." in n) or bool(
            names & table_parts)
    return False


def _deviation_info(c: Classified) -> DeviationInfo:
    dev = c.deviation
    severity = c.severity or ("info" if dev.kind == "unknown-object" else "blocking")
    actual = dev.actual
    canonical = (f"{dev.expected.loc.path}:{dev.expected.loc.line}"
                 if dev.expected is not None else None)
    return DeviationInfo(
        dev.kind, dev.object, dev.message, severity,
        actual.loc.path if actual else None, actual.loc.line if actual else None,
        actual.revision if actual else None, canonical,
        c.entry.id if c.entry else None, c.entry.status if c.entry else None, c.note)


def show(project: Project, name: str) -> ShowResult:
    """Everything known about ``name`` at ``project.rev`` (every head when None). Raises
    :class:`ObjectNotFound` for an unknown or ambiguous name and ``KeyError`` for an
    unknown revision."""
    from b03lint.contract import analyze, project_replay

    graph = project.graph
    if project.rev is not None:
        project.rev = graph.resolve(project.rev)
    revision = project.rev
    if revision is None and len(graph.heads) == 1:
        revision = graph.heads[0]
    state = analyze(project)
    canonical = state.canonical
    replay = state.replay or project_replay(project, revision)
    universe = _Universe()
    universe.add_schema(canonical.sql)
    universe.add_schema(canonical.yaml)
    universe.add_schema(replay.schema)
    universe.add_ops(op for _, op in _chain_ops(graph, graph.order))
    ref = universe.resolve(name)

    lines = _Lines()
    result = ShowResult(ref, revision, list(graph.heads),
                        canonical_sql_path=canonical.sql_path,
                        canonical_yaml_path=canonical.yaml_path,
                        errors=[*project.errors])
    result.canonical_sql = facts(canonical.sql, ref, lines)
    result.canonical_yaml = facts(canonical.yaml, ref, lines)
    result.state = facts(replay.schema, ref, lines)

    related_c: set[str] = set()
    related_i: set[str] = set()
    table_parts: set[str] = set()
    for schema in (canonical.sql, canonical.yaml, replay.schema):
        t = schema.tables.get(ref.table or "") if schema is not None else None
        if t is None or schema is None:
            continue
        if ref.kind == "column":
            related_c |= {c.name for c in t.constraints.values()
                          if _constraint_concerns(c, ref.local)}
            related_i |= {i.name for i in schema.indexes_of(t.name)
                          if _index_concerns(i.elements, i.include, i.where, ref.local)}
        if ref.kind == "table":
            table_parts |= set(t.constraints) | {i.name for i in schema.indexes_of(t.name)}
    ops = list(_chain_ops(graph, graph.upto(revision)))
    aliases = _aliases(ref, ops)
    pg = project.config.get("postgres_version")
    result.migrations = touches(ref, graph, revision, related_c, related_i, lines,
                                project.config.get("adr_pattern"),
                                pg if isinstance(pg, int) else DEFAULT_VERSION)

    names = _object_names(ref, aliases)
    for c in state.classified:
        if _concerns(c.deviation.names(), ref, table_parts, names):
            result.deviations.append(_deviation_info(c))
    if state.register is not None:
        for entry in state.register.entries:
            if _concerns(entry.names(), ref, table_parts, names):
                result.drift.append(DriftRef.of(entry))

    words = set(names)
    if ref.kind == "column":  # the constraints that are about this column alone
        for schema in (canonical.sql, canonical.yaml, replay.schema):
            t = schema.tables.get(ref.table or "") if schema is not None else None
            if t is not None:
                words |= {c.name for c in t.constraints.values()
                          if _owns(c, ref.local) and not c.implicit_name}
    elif ref.kind == "policy":
        words.add(ref.local)
    result.adrs = adr_mentions(project.config.path("adr_dir"), words,
                               project.config.get("adr_pattern"))
    return result


# --------------------------------------------------------------------------- text


def _fact_lines(items: list[Fact], indent: str = "  ") -> list[str]:
    out: list[str] = []
    for f in items:
        where = f"  [{f.where}" + (f", revision {f.revision}]" if f.revision else "]") \
            if f.path else ""
        out.append(f"{indent}{f.what}: {f.text}{where}")
        if f.values is not None:
            out.append(f"{indent}  allowed values: {', '.join(repr(v) for v in f.values)}")
    return out


def render_text(r: ShowResult) -> str:
    ref = r.object
    table = f" on table {ref.table}" if ref.kind in ("index", "constraint") and ref.table \
        else ""
    out = [f"{ref.kind} {ref.name}{table}", ""]

    configured = r.canonical_sql_path is not None or r.canonical_yaml_path is not None
    out.append("Canonical truth")
    if not configured:
        out.append("  no canonical schema is configured (canonical_sql, canonical_yaml)")
    elif not r.in_canonical:
        out.append("  not in the canonical schema")
    governing = r.canonical_sql or r.canonical_yaml
    for f in governing:
        if f.values is not None and ref.kind in ("column", "constraint"):
            out.append(f"  allowed values: {', '.join(f.values)}  ({f.what}, {f.where})")
    for label, path, items in (("canonical SQL", r.canonical_sql_path, r.canonical_sql),
                               ("canonical YAML", r.canonical_yaml_path, r.canonical_yaml)):
        if path is None:
            continue
        out.append(f"  {label} ({path}):" if items else f"  {label} ({path}): not declared")
        out += _fact_lines(items, "    ")
    out.append("")

    out.append("ADRs that mention it")
    out += [f"  {m.path}:{m.line}: {m.text}" for m in r.adrs] or ["  none"]
    out.append("")

    out.append(f"Migrations that touched it (upgrade, chain order, up to {r.at_label})")
    for t in r.migrations:
        waiver = f" (waiver: CI:DESTRUCTIVE_OK, {t.waiver})" if t.waiver else ""
        out.append(f"  {t.revision}  {t.path}:{t.line}: {t.what}{waiver}")
        if t.lock is not None:
            out.append(f"      locks: {t.lock_text()}")
    if not r.migrations:
        out.append("  none")
    out.append("")

    out.append(f"State at {r.at_label} (static replay)")
    out += _fact_lines(r.state) or ["  does not exist"]
    out.append("")

    out.append(f"Deviations from the canonical schema at {r.at_label}")
    for d in r.deviations:
        where = f" (introduced at {d.path}:{d.line}" + (
            f", revision {d.revision})" if d.revision else ")") if d.path else ""
        canon = f" (canonical: {d.canonical})" if d.canonical else ""
        note = f" [{d.note}]" if d.note else ""
        out.append(f"  {d.severity}: {d.message}{canon}{where}{note}")
    if not r.deviations:
        out.append("  none: no canonical schema to compare with" if not configured
                   else "  none: the chain matches the canonical schema")
    out.append("")

    out.append("Drift register")
    for e in r.drift:
        status = e.status + (f" by {e.resolving}" if e.resolving else "") + (
            f" ({e.status_note})" if e.status_note else "")
        adr = f", {e.adr}" if e.adr else ""
        out.append(f"  {e.id} {e.object}: {status}{adr}  [{e.path}:{e.line}]")
        if e.canonical_truth:
            out.append(f"    canonical truth: {e.canonical_truth}")
        if e.migration_state:
            out.append(f"    migration state: {e.migration_state}")
        if e.resolution:
            out.append(f"    resolution: {e.resolution}")
    if not r.drift:
        out.append("  no entry")
    return "\n".join(out) + "\n"
