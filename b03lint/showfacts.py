"""How ``b03lint show`` reads schemas: source lines, the object texts, the names every
source knows (to resolve the name asked for), which constraints and indexes concern a
column, and the facts a schema states about the object."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from b03lint.operations import (
    AddColumn,
    AddConstraint,
    ColumnDef,
    ConstraintDef,
    CreateIndex,
    CreatePolicy,
    CreateTable,
    Location,
    Operation,
    RenameColumn,
    RenameConstraint,
    RenameIndex,
    RenameTable,
)
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
from b03lint.showmodel import Fact, ObjectNotFound, ObjectRef

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
