"""Everything b03lint knows about one schema object, in the order the guide's section 2.4
walks it: the canonical truth (with its place in the canonical SQL and YAML), the ADRs that
mention it, every migration that touched it in chain order, its state at a revision (the
static replay), its deviations there and its drift-register entries.

:func:`show` computes a :class:`ShowResult`; :func:`render_text` and
:meth:`ShowResult.to_json` present it. Nothing here prints.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from b03lint.findings import ToolError
from b03lint.operations import (
    AddColumn,
    AddConstraint,
    AlterColumnDefault,
    AlterColumnNullable,
    AlterColumnType,
    ColumnDef,
    ConstraintDef,
    CreateIndex,
    CreatePolicy,
    CreateTable,
    DropColumn,
    DropConstraint,
    DropIndex,
    DropPolicy,
    DropTable,
    Location,
    MigrationFile,
    Operation,
    RenameColumn,
    RenameConstraint,
    RenameIndex,
    RenameTable,
    Truncate,
    Unresolved,
    ValidateConstraint,
)
from b03lint.pgmodel.locks import DEFAULT_VERSION, Effect
from b03lint.schema.model import (
    Column,
    Constraint,
    Index,
    Origin,
    Policy,
    Schema,
    Table,
    default_constraint_name,
    default_index_name,
)

if TYPE_CHECKING:
    from b03lint.config import Config
    from b03lint.contract import Classified
    from b03lint.graph import RevisionGraph
    from b03lint.project import Project
    from b03lint.schema.drift import DriftEntry

KINDS = ("table", "column", "index", "constraint", "policy")


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class ObjectRef:
    """A schema object: ``table`` is its table (the table itself for a table), ``local``
    its name within the table (column, constraint, policy) or the index name."""

    kind: str
    table: str | None
    local: str

    @property
    def name(self) -> str:
        if self.kind in ("column", "policy"):
            return f"{self.table}.{self.local}"
        return self.local

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "table": self.table}


@dataclass(frozen=True)
class Fact:
    """One statement about the object in one schema, and where it comes from."""

    what: str
    text: str
    path: str | None = None
    line: int | None = None
    revision: str | None = None
    #: the allowed values of an enum-like CHECK
    values: tuple[str, ...] | None = None

    @property
    def where(self) -> str:
        if self.path is None:
            return ""
        return f"{self.path}:{self.line}" if self.line else self.path

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"what": self.what, "text": self.text, "path": self.path,
                               "line": self.line}
        if self.revision is not None:
            out["revision"] = self.revision
        if self.values is not None:
            out["values"] = list(self.values)
        return out


@dataclass(frozen=True)
class Touch:
    """One upgrade operation of the chain that concerns the object."""

    revision: str
    path: str
    line: int
    what: str
    #: the ADR of a ``# CI:DESTRUCTIVE_OK`` waiver on the line, if any
    waiver: str | None = None
    #: what it locks, rewrites and scans (the lock model at ``postgres_version``)
    lock: Effect | None = None
    #: the table it touches was created earlier in the same migration (empty)
    new_table: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"revision": self.revision, "path": self.path, "line": self.line,
                "what": self.what, "waiver": self.waiver,
                "lock": None if self.lock is None else {**self.lock.to_json(),
                                                        "new_table": self.new_table}}

    def lock_text(self) -> str:
        if self.lock is None:
            return ""
        return self.lock.summary() + (" (a table created in the same migration)"
                                      if self.new_table else "")


@dataclass(frozen=True)
class Mention:
    adr: str | None
    path: str
    line: int
    text: str

    def to_json(self) -> dict[str, Any]:
        return {"adr": self.adr, "path": self.path, "line": self.line, "text": self.text}


@dataclass(frozen=True)
class DriftRef:
    id: str
    object: str
    status: str
    status_note: str
    resolving: str | None
    adr: str | None
    canonical_truth: str
    migration_state: str
    resolution: str
    path: str
    line: int

    @classmethod
    def of(cls, e: DriftEntry) -> DriftRef:
        return cls(e.id, e.object, e.status, e.status_note, e.resolving_revision, e.adr,
                   e.canonical_truth, e.migration_state, e.resolution, e.path, e.line)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "object": self.object, "status": self.status,
                "status_note": self.status_note, "resolving_revision": self.resolving,
                "adr": self.adr, "canonical_truth": self.canonical_truth,
                "migration_state": self.migration_state, "resolution": self.resolution,
                "path": self.path, "line": self.line}


@dataclass(frozen=True)
class DeviationInfo:
    kind: str
    object: str
    message: str
    severity: str
    #: where the deviating state was introduced (a migration), if known
    path: str | None
    line: int | None
    revision: str | None
    canonical: str | None
    drift_id: str | None
    drift_status: str | None
    note: str

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "object": self.object, "message": self.message,
                "severity": self.severity, "path": self.path, "line": self.line,
                "revision": self.revision, "canonical": self.canonical,
                "drift_id": self.drift_id, "drift_status": self.drift_status,
                "note": self.note}


@dataclass
class ShowResult:
    object: ObjectRef
    #: the revision shown (None: every head of a chain with several, or an empty chain)
    revision: str | None
    heads: list[str]
    canonical_sql: list[Fact] = field(default_factory=list)
    canonical_yaml: list[Fact] = field(default_factory=list)
    canonical_sql_path: str | None = None
    canonical_yaml_path: str | None = None
    adrs: list[Mention] = field(default_factory=list)
    migrations: list[Touch] = field(default_factory=list)
    state: list[Fact] = field(default_factory=list)
    deviations: list[DeviationInfo] = field(default_factory=list)
    drift: list[DriftRef] = field(default_factory=list)
    errors: list[ToolError] = field(default_factory=list)

    @property
    def in_canonical(self) -> bool:
        return bool(self.canonical_sql or self.canonical_yaml)

    @property
    def exists(self) -> bool:
        return bool(self.state)

    @property
    def at_label(self) -> str:
        if self.revision is None:
            return "every head" if len(self.heads) > 1 else "head"
        return (f"head {self.revision}" if self.heads == [self.revision]
                else self.revision)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": 1,
            "object": self.object.to_json(),
            "revision": self.revision,
            "heads": self.heads,
            "canonical": {
                "sql": {"path": self.canonical_sql_path,
                        "facts": [f.to_json() for f in self.canonical_sql]},
                "yaml": {"path": self.canonical_yaml_path,
                         "facts": [f.to_json() for f in self.canonical_yaml]},
            },
            "adrs": [m.to_json() for m in self.adrs],
            "migrations": [t.to_json() for t in self.migrations],
            "state": {"exists": self.exists, "facts": [f.to_json() for f in self.state]},
            "deviations": [d.to_json() for d in self.deviations],
            "drift_register": [d.to_json() for d in self.drift],
            "errors": [e.to_json() for e in self.errors],
        }


class ObjectNotFound(Exception):
    """The name matches no object, or more than one; ``candidates`` are the closest names
    (or every match, when ambiguous)."""

    def __init__(self, message: str, candidates: list[str]):
        super().__init__(message)
        self.candidates = candidates


# --------------------------------------------------------------------------- project


def load_project(config: Config, rev: str | None = None) -> Project:
    """Read every migration of the configured chain into a :class:`Project` (no rule runs);
    unreadable files and a missing folder land in ``project.errors``."""
    from b03lint.engine import load_project as load

    return load(config, rev)


# --------------------------------------------------------------------------- text helpers


class _Lines:
    """Source lines by path, read once (paths as displayed: relative to the working
    directory, or absolute)."""

    def __init__(self) -> None:
        self._cache: dict[str, list[str]] = {}

    def get(self, path: str) -> list[str]:
        if path not in self._cache:
            try:
                text = Path(path).read_text(encoding="utf-8-sig", errors="replace")
            except OSError:
                text = ""
            self._cache[path] = text.splitlines()
        return self._cache[path]

    def refine(self, loc: Location, word: str) -> int:
        """The first line of ``loc``'s span that names ``word`` outside a comment (the
        column inside a CREATE TABLE, say); ``loc.line`` when none does."""
        if loc.end_line is None or loc.end_line <= loc.line or not word:
            return loc.line
        lines = self.get(loc.path)
        pattern = _word(word)
        for n in range(loc.line, min(loc.end_line, len(lines)) + 1):
            text = lines[n - 1].strip()
            if text.startswith(("--", "#")):
                continue
            if pattern.search(text):
                return n
        return loc.line


def _word(name: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w$])" + re.escape(name) + r"(?![\w$])", re.IGNORECASE)


def column_text(col: Column | ColumnDef) -> str:
    out = col.type or "?"
    if isinstance(col, ColumnDef) and col.primary_key:
        out += " PRIMARY KEY"
    elif not col.nullable:
        out += " NOT NULL"
    if col.default is not None:
        out += f" DEFAULT {col.default}"
    if col.identity:
        out += " GENERATED AS IDENTITY"
    if isinstance(col, Column) and col.unknown:
        out += " (unknown: an unresolved operation may have changed it)"
    return out


def constraint_text(c: Constraint | ConstraintDef) -> str:
    cols = ", ".join(c.columns)
    if c.kind == "primary_key":
        out = f"PRIMARY KEY ({cols})"
    elif c.kind == "unique":
        out = f"UNIQUE ({cols})"
    elif c.kind == "foreign_key":
        ref = c.references
        out = f"FOREIGN KEY ({cols})"
        if ref is not None:
            out += f" REFERENCES {ref.table} ({', '.join(ref.columns)})"
            if ref.on_delete:
                out += f" ON DELETE {ref.on_delete.upper()}"
    elif c.kind == "check":
        out = f"CHECK ({c.expression or '?'})"
    else:
        out = f"EXCLUDE {c.expression or ''}".rstrip()
    if c.not_valid:
        out += " NOT VALID"
    if c.deferrable:
        out += " DEFERRABLE"
    return out


def policy_text(p: Policy | CreatePolicy) -> str:
    out = f"FOR {p.command.upper()} TO {', '.join(p.roles)}"
    if not p.permissive:
        out = "AS RESTRICTIVE " + out
    if p.using:
        out += f" USING ({p.using})"
    if p.with_check:
        out += f" WITH CHECK ({p.with_check})"
    return out


def index_shape(idx: Index | CreateIndex) -> str:
    """``UNIQUE (a, b DESC) INCLUDE (c) WHERE ...``, as the diff describes indexes."""
    from b03lint.schema.diff import describe_index

    if isinstance(idx, CreateIndex):
        idx = Index(name=_index_name(idx), table=idx.table, elements=idx.elements,
                    unique=idx.unique, include=idx.include, where=idx.where,
                    method=idx.method)
    return describe_index(idx)


def index_text(idx: Index | CreateIndex) -> str:
    return f"on {idx.table} {index_shape(idx)}"


def _index_name(op: CreateIndex) -> str:
    cols = tuple(e.expression for e in op.elements if not e.is_expression)
    return op.name or default_index_name(op.table, cols)


# --------------------------------------------------------------------------- resolution


@dataclass
class _Universe:
    """Every object name known from the canonical schemas, the replay and the chain."""

    tables: set[str] = field(default_factory=set)
    columns: set[tuple[str, str]] = field(default_factory=set)
    #: index name -> tables it was seen on
    indexes: dict[str, set[str]] = field(default_factory=dict)
    constraints: set[tuple[str, str]] = field(default_factory=set)
    policies: set[tuple[str, str]] = field(default_factory=set)

    def add_schema(self, schema: Schema | None) -> None:
        if schema is None:
            return
        for t in schema.tables.values():
            self.tables.add(t.name)
            self.columns.update((t.name, c) for c in t.columns)
            self.constraints.update((t.name, c) for c in t.constraints)
            self.policies.update((t.name, p) for p in t.policies)
        for idx in schema.indexes.values():
            self.indexes.setdefault(idx.name, set()).add(idx.table)

    def add_ops(self, ops: Iterable[Operation]) -> None:
        for op in ops:
            if isinstance(op, CreateTable):
                self.tables.add(op.table)
                self.columns.update((op.table, c.name) for c in op.columns)
                self.constraints.update((op.table, n) for n in _declared_names(op))
            elif isinstance(op, RenameTable):
                self.tables.update((op.table, op.new_name))
            elif isinstance(op, AddColumn):
                self.columns.add((op.table, op.column.name))
            elif isinstance(op, RenameColumn):
                self.columns.update(((op.table, op.column), (op.table, op.new_name)))
            elif isinstance(op, CreateIndex):
                self.indexes.setdefault(_index_name(op), set()).add(op.table)
            elif isinstance(op, RenameIndex):
                for name in (op.name, op.new_name):
                    self.indexes.setdefault(name, set())
            elif isinstance(op, AddConstraint):
                self.constraints.add((op.table, _constraint_name(op.table, op.constraint)))
            elif isinstance(op, RenameConstraint):
                self.constraints.update(((op.table, op.name), (op.table, op.new_name)))
            elif isinstance(op, CreatePolicy):
                self.policies.add((op.table, op.name))

    def names(self) -> list[str]:
        out = set(self.tables) | set(self.indexes)
        out |= {f"{t}.{c}" for t, c in self.columns}
        out |= {c for _, c in self.constraints} | {f"{t}.{c}" for t, c in self.constraints}
        out |= {f"{t}.{p}" for t, p in self.policies}
        return sorted(out)

    def resolve(self, name: str) -> ObjectRef:
        name = name.strip().strip('"').strip("`")
        found = self._matches(name)
        if not found and name.lower() != name:
            found = self._matches(name.lower())
        if not found and name.startswith("public."):
            return self.resolve(name[len("public."):])
        if len(found) == 1:
            return found[0]
        if found:
            raise ObjectNotFound(f"{name!r} is ambiguous: it names "
                                 f"{', '.join(f'{r.kind} {_qualified(r)}' for r in found)}",
                                 [_qualified(r) for r in found])
        close = difflib.get_close_matches(name, self.names(), n=6, cutoff=0.6)
        if not close:  # a known last part (``remediation_status``) under another table
            last = name.rsplit(".", 1)[-1]
            close = [n for n in self.names() if n.rsplit(".", 1)[-1] == last][:6]
        raise ObjectNotFound(f"no table, column, index, constraint or policy named {name!r}",
                             close)

    def _matches(self, name: str) -> list[ObjectRef]:
        if "." in name:
            table, local = name.split(".", 1)
            if table not in self.tables:
                return []
            for kind, pool in (("column", self.columns), ("constraint", self.constraints),
                               ("policy", self.policies)):
                if (table, local) in pool:
                    return [ObjectRef(kind, table, local)]
            if table in self.indexes.get(local, ()):
                return [ObjectRef("index", table, local)]
            return []
        if name in self.tables:
            return [ObjectRef("table", name, name)]
        if name in self.indexes:
            tables = sorted(self.indexes[name])
            return [ObjectRef("index", tables[0] if tables else None, name)]
        found = [ObjectRef("constraint", t, c) for t, c in sorted(self.constraints) if c == name]
        if found:
            return found
        return [ObjectRef("policy", t, p) for t, p in sorted(self.policies) if p == name]


def _qualified(ref: ObjectRef) -> str:
    return f"{ref.table}.{ref.local}" if ref.kind == "constraint" else ref.name


def _constraint_name(table: str, cdef: ConstraintDef) -> str:
    columns = cdef.columns
    if cdef.kind == "check" and not columns and cdef.enum_column:
        columns = (cdef.enum_column,)
    return cdef.name or default_constraint_name(cdef.kind, table, columns)


def _implied(table: str, col: ColumnDef) -> list[tuple[str, str]]:
    """(constraint name, text) of the constraints a column definition implies."""
    out: list[tuple[str, str]] = []
    if col.primary_key:
        out.append((default_constraint_name("primary_key", table, (col.name,)),
                    f"PRIMARY KEY ({col.name})"))
    if col.unique:
        out.append((default_constraint_name("unique", table, (col.name,)),
                    f"UNIQUE ({col.name})"))
    if col.references is not None:
        ref = col.references
        out.append((default_constraint_name("foreign_key", table, (col.name,)),
                    f"FOREIGN KEY ({col.name}) REFERENCES {ref.table} "
                    f"({', '.join(ref.columns)})"))
    if col.check:
        out.append((default_constraint_name("check", table, (col.name,)),
                    f"CHECK ({col.check})"))
    return out


def _declared_names(op: CreateTable) -> list[str]:
    names = [_constraint_name(op.table, c) for c in op.constraints]
    for col in op.columns:
        names += [n for n, _ in _implied(op.table, col)]
    return names


# --------------------------------------------------------------------------- concern


def _mentions(expression: str | None, column: str) -> bool:
    return bool(expression) and _word(column).search(expression or "") is not None


def _constraint_concerns(c: Constraint | ConstraintDef, column: str) -> bool:
    return (column in c.columns or c.enum_column == column
            or _mentions(c.expression, column))


def _index_concerns(elements: Iterable[Any], include: tuple[str, ...], where: str | None,
                    column: str) -> bool:
    for e in elements:
        if (e.expression == column) if not e.is_expression else _mentions(e.expression, column):
            return True
    return column in include or _mentions(where, column)


def _owns(c: Constraint | ConstraintDef, column: str) -> bool:
    """The constraint is about this one column (its CHECK values, its UNIQUE ...)."""
    cols = (c.enum_column,) if c.enum_column else c.columns
    return tuple(cols) == (column,)


# --------------------------------------------------------------------------- facts


def _origin_fact(what: str, text: str, origin: Origin | None, lines: _Lines,
                 word: str | None = None, values: tuple[str, ...] | None = None) -> Fact:
    if origin is None:
        return Fact(what, text, values=values)
    line = lines.refine(origin.loc, word) if word else origin.loc.line
    return Fact(what, text, origin.loc.path, line, origin.revision, values)


def _constraint_fact(table: str, c: Constraint, lines: _Lines) -> Fact:
    what = f"{c.kind.replace('_', ' ')} constraint {c.name}"
    word = c.name if not c.implicit_name else (c.columns[0] if c.columns else None)
    if c.origin is not None and not c.origin.what.startswith("create table"):
        word = None
    return _origin_fact(what, constraint_text(c), c.origin, lines, word, c.enum_values)


def facts(schema: Schema | None, ref: ObjectRef, lines: _Lines) -> list[Fact]:
    """What ``schema`` says about the object (empty when it has no such object)."""
    if schema is None:
        return []
    if ref.kind == "index":
        idx = schema.indexes.get(ref.local)
        if idx is None:
            return []
        return [_origin_fact(f"index {idx.name}", index_text(idx), idx.origin, lines)]
    table = schema.tables.get(ref.table or "")
    if table is None:
        return []
    if ref.kind == "table":
        return _table_facts(schema, table, lines)
    if ref.kind == "column":
        return _column_facts(schema, table, ref.local, lines)
    if ref.kind == "constraint":
        con = table.constraints.get(ref.local)
        return [_constraint_fact(table.name, con, lines)] if con is not None else []
    pol = table.policies.get(ref.local)
    if pol is None:
        return []
    return [_origin_fact(f"policy {pol.name}", policy_text(pol), pol.origin, lines,
                         pol.name)]


def _table_facts(schema: Schema, t: Table, lines: _Lines) -> list[Fact]:
    out = [_origin_fact(f"table {t.name}", f"{len(t.columns)} column(s)"
                        + (" (unknown: an unresolved operation may have changed it)"
                           if t.unknown else ""), t.origin, lines)]
    for col in t.columns.values():
        out.append(_origin_fact(f"column {col.name}", column_text(col), col.origin, lines,
                                col.name))
    for con in t.constraints.values():
        out.append(_constraint_fact(t.name, con, lines))
    for idx in schema.indexes_of(t.name):
        out.append(_origin_fact(f"index {idx.name}", index_text(idx), idx.origin, lines))
    rls = ("enabled" if t.rls_enabled else "disabled") + (", forced" if t.rls_forced else "")
    out.append(_origin_fact("row level security", rls, t.rls_origin, lines))
    for pol in t.policies.values():
        out.append(_origin_fact(f"policy {pol.name}", policy_text(pol), pol.origin, lines,
                                pol.name))
    return out


def _column_facts(schema: Schema, t: Table, name: str, lines: _Lines) -> list[Fact]:
    col = t.columns.get(name)
    if col is None:
        return []
    out = [_origin_fact(f"column {t.name}.{name}", column_text(col), col.origin, lines, name)]
    for con in t.constraints.values():
        if _constraint_concerns(con, name):
            out.append(_constraint_fact(t.name, con, lines))
    for idx in schema.indexes_of(t.name):
        if _index_concerns(idx.elements, idx.include, idx.where, name):
            out.append(_origin_fact(f"index {idx.name}", index_text(idx), idx.origin, lines))
    return out


# --------------------------------------------------------------------------- migrations


@dataclass
class _Aliases:
    tables: set[str]
    locals: set[str]


def _aliases(ref: ObjectRef, ops: list[tuple[str, Operation]]) -> _Aliases:
    """Earlier names of the object, following renames backwards through the chain."""
    tables = {ref.table} if ref.table else set()
    locals_ = {ref.local}
    for _, op in reversed(ops):
        if isinstance(op, RenameTable) and op.new_name in tables:
            tables.add(op.table)
            if ref.kind == "table":
                locals_.add(op.table)
        elif (isinstance(op, RenameColumn) and ref.kind == "column" and op.table in tables
              and op.new_name in locals_):
            locals_.add(op.column)
        elif ((isinstance(op, RenameConstraint) and ref.kind == "constraint"
               and op.table in tables)
              or (isinstance(op, RenameIndex) and ref.kind in ("index", "constraint"))) \
                and op.new_name in locals_:
            locals_.add(op.name)
    return _Aliases(tables, locals_)


class _Matcher:
    """Decides, walking the chain forward, whether an operation concerns the object."""

    def __init__(self, ref: ObjectRef, aliases: _Aliases, related_constraints: set[str],
                 related_indexes: set[str]):
        self.ref = ref
        self.a = aliases
        #: for a column: constraints and indexes that concern it (grown while walking)
        self.constraints = set(related_constraints)
        self.indexes = set(related_indexes)
        #: for a table: its indexes; for an index or constraint: its table and columns
        self.index_tables: set[str] = set(aliases.tables)
        self.columns: set[str] = set()

    def what(self, op: Operation) -> str | None:
        """A description of what ``op`` did to the object, or None if unrelated."""
        kind = self.ref.kind
        if kind == "table":
            return self._table(op)
        if kind == "column":
            return self._column(op)
        if kind == "index":
            return self._index(op)
        if kind == "constraint":
            return self._constraint(op)
        return self._policy(op)

    def _on_table(self, op: Operation) -> bool:
        return op.table_name in self.a.tables

    def _common(self, op: Operation) -> str | None:
        if isinstance(op, DropTable) and self._on_table(op):
            return f"{op.describe()} (and with it the {self.ref.kind})"
        if isinstance(op, RenameTable) and (op.table in self.a.tables
                                            or op.new_name in self.a.tables):
            return op.describe()
        if isinstance(op, Unresolved) and self._on_table(op):
            return f"{op.describe()} (may touch it)"
        return None

    def _table(self, op: Operation) -> str | None:
        if isinstance(op, CreateIndex) and self._on_table(op):
            self.indexes.add(_index_name(op))
            return f"{op.describe()} {index_shape(op)}"
        if isinstance(op, DropIndex) and (op.name in self.indexes or self._on_table(op)):
            return op.describe()
        if isinstance(op, Truncate) and self.a.tables & set(op.tables):
            return op.describe()
        if isinstance(op, RenameTable) and (op.table in self.a.tables
                                            or op.new_name in self.a.tables):
            return op.describe()
        if self._on_table(op):
            return _detail(op)
        return None

    def _column(self, op: Operation) -> str | None:
        names = self.a.locals
        if not self._on_table(op) and not isinstance(op, DropIndex | RenameIndex):
            return None
        if isinstance(op, CreateTable):
            parts: list[str] = []
            for col in op.columns:
                if col.name in names:
                    parts.append(f"column {col.name} {column_text(col)}")
                    self.constraints.update(n for n, _ in _implied(op.table, col))
            for cdef in op.constraints:
                if any(_constraint_concerns(cdef, n) for n in names):
                    cname = _constraint_name(op.table, cdef)
                    self.constraints.add(cname)
                    parts.append(f"constraint {cname} {constraint_text(cdef)}")
            return f"create table {op.table} with " + "; ".join(parts) if parts else None
        if isinstance(op, AddColumn) and op.column.name in names:
            for cname, _ in _implied(op.table, op.column):
                self.constraints.add(cname)
            return f"{op.describe()} {column_text(op.column)}"
        if isinstance(op, DropColumn | AlterColumnType | AlterColumnNullable
                      | AlterColumnDefault) and op.column in names:
            return op.describe()
        if isinstance(op, RenameColumn) and (op.column in names or op.new_name in names):
            return op.describe()
        if isinstance(op, AddConstraint) and any(_constraint_concerns(op.constraint, n)
                                                 for n in names):
            self.constraints.add(_constraint_name(op.table, op.constraint))
            return f"{op.describe()}: {constraint_text(op.constraint)}"
        if isinstance(op, DropConstraint | ValidateConstraint) and op.name in self.constraints:
            return _detail(op)
        if isinstance(op, RenameConstraint) and op.name in self.constraints:
            self.constraints.add(op.new_name)
            return f"rename constraint {op.name} to {op.new_name}"
        if isinstance(op, CreateIndex) and any(
                _index_concerns(op.elements, op.include, op.where, n) for n in names):
            self.indexes.add(_index_name(op))
            return f"{op.describe()} {index_shape(op)}"
        if isinstance(op, DropIndex) and op.name in self.indexes:
            return op.describe()
        if isinstance(op, RenameIndex) and op.name in self.indexes:
            self.indexes.add(op.new_name)
            return op.describe()
        return self._common(op)

    def _index(self, op: Operation) -> str | None:
        names = self.a.locals
        if isinstance(op, CreateIndex):
            if _index_name(op) in names:
                self.index_tables.add(op.table)
                return f"{op.describe()} {index_shape(op)}"
            return None
        if isinstance(op, DropIndex) and op.name in names:
            return op.describe()
        if isinstance(op, RenameIndex) and (op.name in names or op.new_name in names):
            return op.describe()
        if isinstance(op, DropTable) and op.table in self.index_tables:
            return f"{op.describe()} (and with it the index)"
        if isinstance(op, Unresolved) and op.table in self.index_tables:
            return f"{op.describe()} (may touch it)"
        return None

    def _constraint(self, op: Operation) -> str | None:
        names = self.a.locals
        if isinstance(op, CreateTable) and self._on_table(op):
            for cdef in op.constraints:
                if _constraint_name(op.table, cdef) in names:
                    self.columns.update(cdef.columns)
                    return f"create table {op.table} with {constraint_text(cdef)}"
            for col in op.columns:
                for cname, ctext in _implied(op.table, col):
                    if cname in names:
                        self.columns.add(col.name)
                        return f"create table {op.table} with {ctext}"
            return None
        if isinstance(op, AddConstraint) and self._on_table(op) and _constraint_name(
                op.table, op.constraint) in names:
            self.columns.update(op.constraint.columns)
            return f"{op.describe()}: {constraint_text(op.constraint)}"
        if isinstance(op, AddColumn) and self._on_table(op):
            for cname, ctext in _implied(op.table, op.column):
                if cname in names:
                    return f"{op.describe()} with {ctext}"
            return None
        if (isinstance(op, DropConstraint | ValidateConstraint) and self._on_table(op)
                and op.name in names):
            return _detail(op)
        if isinstance(op, RenameConstraint) and self._on_table(op) and (
                op.name in names or op.new_name in names):
            return f"rename constraint {op.name} to {op.new_name}"
        if isinstance(op, RenameIndex) and (op.name in names or op.new_name in names):
            return op.describe()
        if isinstance(op, DropColumn) and self._on_table(op) and op.column in self.columns:
            return f"{op.describe()} (and with it the constraint)"
        return self._common(op)

    def _policy(self, op: Operation) -> str | None:
        if isinstance(op, CreatePolicy) and self._on_table(op) and op.name in self.a.locals:
            return f"{op.describe()} {policy_text(op)}"
        if isinstance(op, DropPolicy) and self._on_table(op) and op.name in self.a.locals:
            return op.describe()
        return self._common(op)


def _detail(op: Operation) -> str:
    if isinstance(op, AddConstraint):
        return f"{op.describe()}: {constraint_text(op.constraint)}"
    if isinstance(op, AddColumn):
        return f"{op.describe()} {column_text(op.column)}"
    if isinstance(op, CreatePolicy):
        return f"{op.describe()} {policy_text(op)}"
    if isinstance(op, ValidateConstraint):
        return f"validate constraint {op.name} on {op.table}"
    if isinstance(op, RenameConstraint):
        return f"rename constraint {op.name} to {op.new_name} on {op.table}"
    return op.describe()


def _chain_ops(graph: RevisionGraph, revs: list[str]) -> Iterator[tuple[str, Operation]]:
    for rev in revs:
        for op in graph.nodes[rev].upgrade_ops:
            yield rev, op


def touches(ref: ObjectRef, graph: RevisionGraph, revision: str | None,
            related_constraints: Iterable[str] = (), related_indexes: Iterable[str] = (),
            lines: _Lines | None = None, pattern: str | None = None,
            version: int = DEFAULT_VERSION) -> list[Touch]:
    """Every upgrade operation up to ``revision`` (every head when None) that concerns the
    object, in chain order; ``pattern`` is ``adr_pattern``."""
    from b03lint.waivers import adr_pattern, waivers_in

    project_pattern = adr_pattern(pattern)

    lines = lines or _Lines()
    ops = list(_chain_ops(graph, graph.upto(revision)))
    aliases = _aliases(ref, ops)
    words = [ref.local, *sorted(aliases.locals - {ref.local})]
    matcher = _Matcher(ref, aliases, set(related_constraints), set(related_indexes))
    waivers: dict[str, dict[int, Any]] = {}
    out: list[Touch] = []
    matched: list[tuple[str, Operation]] = []
    for rev, op in ops:
        what = matcher.what(op)
        if what is None:
            continue
        mf: MigrationFile = graph.nodes[rev]
        if mf.path not in waivers:
            waivers[mf.path] = waivers_in(mf, project_pattern)
        line = op.loc.line
        if isinstance(op, CreateTable) and ref.kind != "table":
            line = next((n for n in (lines.refine(op.loc, w) for w in words)
                         if n != op.loc.line), op.loc.line)
        found = waivers[mf.path]
        waiver = next((found[n].adr for n in (op.loc.line, op.loc.line - 1) if n in found),
                      None)
        out.append(Touch(rev, op.loc.path, line, what, waiver if op.destructive or isinstance(
            op, DropIndex | DropConstraint) else None))
        matched.append((rev, op))
    return _with_locks(out, matched, graph, version)


def _with_locks(out: list[Touch], matched: list[tuple[str, Operation]], graph: RevisionGraph,
                version: int) -> list[Touch]:
    """Each touch with the lock model's effect, on the replayed schema just before it."""
    from b03lint.pgmodel.locks import effect
    from b03lint.rules.lockbase import created_here
    from b03lint.schema.timeline import Timeline

    if not matched:
        return out
    timeline = Timeline(graph, {op.kind for _, op in matched},
                        [graph.nodes[rev] for rev in dict.fromkeys(r for r, _ in matched)])
    done = []
    for touch, (rev, op) in zip(out, matched, strict=True):
        before = timeline.before(op)
        table = op.table_name or (before.table.name if before is not None
                                  and before.table is not None else None)
        ops = graph.nodes[rev].upgrade_ops
        index = next(i for i, other in enumerate(ops) if other is op)
        fresh = table is not None and created_here(ops, index, table) is True
        done.append(replace(touch, lock=effect(op, before, version), new_table=fresh))
    return done


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
