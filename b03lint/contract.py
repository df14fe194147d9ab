"""The schema contract of one run: replay the chain to the checked revision, read the
canonical schema and the drift register, diff, and classify each deviation against the
register. Computed once per run and shared by every contract rule."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from b03lint.findings import ToolError
from b03lint.operations import Location, Operation, Severity, Unresolved
from b03lint.schema.canonical import Canonical
from b03lint.schema.canonical import load as load_canonical
from b03lint.schema.diff import Deviation, diff
from b03lint.schema.drift import DriftEntry, Register, load_register
from b03lint.schema.model import Schema
from b03lint.schema.replay import Replay, created_names, fold
from b03lint.yamlio import YamlError

if TYPE_CHECKING:
    from b03lint.graph import RevisionGraph
    from b03lint.project import Project


@dataclass(frozen=True)
class Classified:
    deviation: Deviation
    entry: DriftEntry | None
    #: None: the rule's own severity; otherwise what the register makes of it
    severity: Severity | None
    note: str


@dataclass
class ContractState:
    canonical: Canonical
    replay: Replay | None = None
    #: the revision checked (None: every revision, i.e. all heads)
    revision: str | None = None
    deviations: list[Deviation] = field(default_factory=list)
    register: Register | None = None
    classified: list[Classified] = field(default_factory=list)
    stale: list[tuple[DriftEntry, str]] = field(default_factory=list)


def _steps(graph: RevisionGraph, revisions: Iterable[str]
           ) -> list[tuple[str | None, list[Operation]]]:
    steps: list[tuple[str | None, list[Operation]]] = []
    for rev in revisions:
        mf = graph.nodes[rev]
        ops: list[Operation] = list(mf.upgrade_ops)
        if not mf.readable:
            ops = [Unresolved(loc=Location(mf.path, 1, 0), reason="the file could not be read")]
        steps.append((rev, ops))
    return steps


def knowable(graph: RevisionGraph, base: Schema | None = None) -> set[str]:
    """The relations the chain (any revision) or its base schema creates: only those can be
    reported missing; the others come from a schema the chain did not build."""
    key = id(base)
    cached = getattr(graph, "_b03lint_knowable", None)
    if cached is not None and cached[0] == key:
        return set(cached[1])
    names = created_names((op for mf in graph.nodes.values() for op in mf.upgrade_ops), base)
    graph._b03lint_knowable = (key, frozenset(names))  # type: ignore[attr-defined]
    return names


def remember_knowable(graph: RevisionGraph, base: Schema | None,
                      names: set[str] | frozenset[str]) -> None:
    """Hand :func:`knowable` its answer for ``graph`` (the language server unites the names
    of each file, read once per version of the file)."""
    graph._b03lint_knowable = (id(base), frozenset(names))  # type: ignore[attr-defined]


def replay_chain(graph: RevisionGraph, revision: str | None, label: str = "",
                 base: Schema | None = None) -> Replay:
    """The schema the chain builds when upgraded to ``revision`` (every head when None),
    starting from ``base`` (the ``base_schema`` setting; see :func:`base_schema`)."""
    return fold(_steps(graph, graph.upto(revision)), label or f"migrations at {revision or 'head'}",
                base=base, knowable=knowable(graph, base))


def replay_key(revision: str | None, label: str = "") -> str:
    """Where :func:`project_replay` memoises a replay in ``project.memo``."""
    return f"replay:{revision or ''}:{label}"


def project_replay(project: Project, revision: str | None, label: str = "") -> Replay:
    """:func:`replay_chain` of ``project``'s chain, from its configured base schema: once
    per run and revision (the contract, C013 and the declarative rules share it; the
    language server hands in the one it folded incrementally, under the same key)."""
    key = replay_key(revision, label)
    hit = project.memo.get(key)
    if isinstance(hit, Replay):
        return hit
    replay = replay_chain(project.graph, revision, label, base=base_schema(project))
    project.memo[key] = replay
    return replay


def base_schema(project: Project) -> Schema | None:
    """The schema the chain starts from: the ``base_schema`` SQL file (a pg_dump, the
    canonical SQL), read once; None when the chain starts empty or from ``external``. A file
    that cannot be read is an error of the run (exit 2)."""
    if "base_schema" in project.memo:
        cached = project.memo["base_schema"]
        return cached if isinstance(cached, Schema) else None
    project.memo["base_schema"] = None
    value = project.config.get("base_schema")
    if not value or value == EXTERNAL:
        return None
    from pathlib import Path

    from b03lint.paths import display_path
    from b03lint.schema.canonical import CanonicalError, read_schema_sql, read_text

    path = Path(str(value))
    path = path if path.is_absolute() else project.config.root / path
    shown = display_path(path)
    try:
        text = read_text(path, shown)
    except CanonicalError as exc:
        project.errors.append(ToolError(f"base_schema: {str(exc).replace('canonical file', 'file')}",
                                        exc.path, exc.line))
        return None
    schema, diagnostics, _conflicts = read_schema_sql(text, shown, "base schema")
    project.errors += [ToolError(f"base_schema: {d.code}: {d.message}", d.loc.path, d.loc.line,
                                 d.loc.column + 1)
                       for d in diagnostics if d.fatal or d.severity == "blocking"]
    project.memo["base_schema"] = schema
    return schema


#: ``base_schema = "external"``: the chain starts from a schema it did not build
EXTERNAL = "external"


def _classify(dev: Deviation, register: Register | None, graph: RevisionGraph,
              revision: str | None) -> Classified:
    entry = register.match(dev.names()) if register else None
    if entry is None:
        return Classified(dev, None, None, "")
    if entry.status == "open":
        return Classified(dev, entry, "warning", f"registered as {entry.id} (open)")
    resolving = entry.resolving_revision
    checked = graph.ancestors(revision) if revision else set(graph.order)
    if resolving is not None and resolving not in checked:
        return Classified(dev, entry, None,
                          f"registered as {entry.id}, resolved by {resolving} "
                          "(not yet applied at this revision)")
    return Classified(dev, entry, None,
                      f"registered as {entry.id} resolved by {resolving}, but still present")


def classify(dev: Deviation, register: Register | None, graph: RevisionGraph,
             revision: str | None) -> Classified:
    """Classify one deviation against the drift register exactly as the static check does
    (live mode classifies the deviations it finds in a real database with it)."""
    return _classify(dev, register, graph, revision)


def analyze(project: Project) -> ContractState:
    """Compute (once per run) the contract state; errors land in ``project.errors``."""
    cached = project.memo.get("contract")
    if isinstance(cached, ContractState):
        return cached
    config = project.config
    # the language server keeps the canonical schema loaded and hands it in here
    canonical = project.memo.get("canonical")
    if not isinstance(canonical, Canonical):
        canonical = load_canonical(config)
    state = ContractState(canonical=canonical)
    project.memo["contract"] = state
    project.errors.extend(canonical.errors)
    register_path = config.path("drift_register")
    if register_path is not None:
        from b03lint.paths import display_path

        try:
            state.register = load_register(register_path, display_path(register_path))
        except YamlError as exc:
            project.errors.append(ToolError(str(exc), exc.path, exc.line))
    if canonical.schema is None:
        return state
    graph = project.graph
    if project.rev is not None:
        try:
            resolved = graph.resolve(project.rev)
        except KeyError as exc:
            project.errors.append(ToolError(f"--rev: {exc.args[0]}"))
            return state
        state.revision = resolved
    state.replay = project_replay(project, state.revision)
    tenant = str(config.get("tenant_column"))
    unknown = set(state.replay.unknown_tables)
    if config.get("base_schema") == EXTERNAL:
        # what the chain never built comes from a schema b03lint was not shown
        unknown |= set(canonical.schema.tables) - set(state.replay.schema.tables)
    state.deviations = diff(state.replay.schema, canonical.schema, tenant_column=tenant,
                            unknown_tables=unknown)
    for d in canonical.diagnostics:
        if d.code == "I004":
            from b03lint.schema.model import Origin

            state.deviations.append(Deviation(
                "unknown-object", d.object or "*", f"{d.message}: the canonical schema is not "
                "fully known here, so what depends on it is not proven", None,
                Origin(d.loc, None, "canonical SQL")))
    for op in state.replay.unknown_anywhere:
        from b03lint.schema.model import Origin

        state.deviations.append(Deviation(
            "unknown-object", "*", f"{op.describe()}: the schema after this operation is "
            "unknown, so the contract checks cannot prove what it changed",
            Origin(op.loc, None, op.describe())))
    state.classified = [_classify(d, state.register, graph, state.revision)
                        for d in state.deviations]
    if state.register is not None and state.revision is None:
        state.stale = _stale(state, graph, canonical, tenant, base_schema(project))
    return state


def _stale(state: ContractState, graph: RevisionGraph, canonical: Canonical,
           tenant: str, base: Schema | None) -> list[tuple[DriftEntry, str]]:
    """Open entries that match nothing at head; resolved entries that matched nothing just
    before their resolving revision (so they never described a real deviation)."""
    assert state.register is not None and canonical.schema is not None
    out: list[tuple[DriftEntry, str]] = []
    matched = {c.entry.id for c in state.classified if c.entry is not None}
    for entry in state.register.entries:
        if entry.status == "open":
            if entry.id not in matched:
                out.append((entry, "is open but no deviation matches it any more; mark it "
                                   "resolved (with the revision that fixed it) or remove it"))
            continue
        resolving = entry.resolving_revision
        if resolving is None or resolving not in graph.nodes:
            out.append((entry, f"names resolving revision {resolving!r}, which is not in "
                               "the chain"))
            continue
        before = set(graph.ancestors(resolving)) - {resolving}
        parents = [r for r in graph.order if r in before]
        if not parents:
            continue
        replay = fold(_steps(graph, parents), "before " + resolving, base=base,
                      knowable=knowable(graph, base))
        devs = diff(replay.schema, canonical.schema, tenant_column=tenant,
                    unknown_tables=replay.unknown_tables)
        if not any(entry.names() & d.names() for d in devs):
            out.append((entry, f"describes no deviation before its resolving revision "
                               f"{resolving}"))
    return out
