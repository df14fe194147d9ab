"""What a declarative rule is once compiled: the fields a ``where`` clause can name on
each operation and schema object (:func:`operation_paths`, :class:`View`), the predicates
(:class:`Predicate`, :class:`Condition`, :class:`Match`) and the :class:`DeclarativeRule`
that runs them in the engine's walk. :mod:`b03lint.rules.declarative` reads rule files
into these."""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from b03lint.findings import Finding, ToolError
from b03lint.operations import (
    OPERATION_TYPES,
    ColumnDef,
    ConstraintDef,
    Location,
    Operation,
)
from b03lint.rules.base import (
    FileContext,
    Rule,
)

if TYPE_CHECKING:
    from b03lint.project import Project
    from b03lint.schema.model import Schema
    from b03lint.schema.replay import Replay

FORMAT_VERSION = 1
SCALAR, LIST = "scalar", "list"

#: predicates on a single value, and on a list of values
SCALAR_PREDICATES = ("equals", "not_equals", "in", "not_in", "matches", "not_matches",
                     "exists", "exists_in_canonical")
LIST_PREDICATES = ("contains", "not_contains", "empty", "exists")
#: paths whose predicate values are normalised like column types (``int`` -> ``integer``)
TYPE_PATHS = frozenset({"type", "column.type", "new_type"})

#: what a `schema:` match walks over, and the fields of each
SUBJECT_PATHS: dict[str, dict[str, str]] = {
    "tables": {"name": SCALAR, "table": SCALAR, "schema": SCALAR, "columns": LIST,
               "constraints": LIST, "indexes": LIST, "policies": LIST, "rls_enabled": SCALAR,
               "rls_forced": SCALAR, "tenant_scoped": SCALAR},
    "columns": {"table": SCALAR, "name": SCALAR, "column": SCALAR, "type": SCALAR,
                "nullable": SCALAR, "default": SCALAR, "identity": SCALAR,
                "tenant_scoped": SCALAR},
    "indexes": {"table": SCALAR, "name": SCALAR, "columns": LIST, "unique": SCALAR,
                "include": LIST, "where": SCALAR, "method": SCALAR},
    "constraints": {"table": SCALAR, "name": SCALAR, "kind": SCALAR, "columns": LIST,
                    "expression": SCALAR, "not_valid": SCALAR, "deferrable": SCALAR,
                    "references.table": SCALAR, "references.columns": LIST,
                    "enum_column": SCALAR, "enum_values": LIST},
    "policies": {"table": SCALAR, "name": SCALAR, "command": SCALAR, "permissive": SCALAR,
                 "roles": LIST, "using": SCALAR, "with_check": SCALAR},
}
SUBJECT_OBJECT = {"tables": "table", "columns": "column", "indexes": "index",
                   "constraints": "constraint", "policies": "policy"}

#: what ``name`` / ``new_name`` is, per operation kind (for ``exists_in_canonical``)
NAME_OBJECT = {
    "create_index": "index", "drop_index": "index", "rename_index": "index",
    "drop_constraint": "constraint", "rename_constraint": "constraint",
    "validate_constraint": "constraint", "create_policy": "policy", "drop_policy": "policy",
    "create_enum_type": "enum", "alter_enum_add_value": "enum", "drop_type": "enum",
}
NEW_NAME_OBJECT = {"rename_table": "table", "rename_column": "column",
                    "rename_index": "index", "rename_constraint": "constraint"}

#: ``create_table`` lists -> the name a rule uses for one element of it
EACH = {"columns": "column", "constraints": "constraint"}


# --------------------------------------------------------------------------- fields


def _unwrap(tp: Any) -> Any:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _unwrap(args[0]) if len(args) == 1 else tp
    return tp


def _shape(tp: Any) -> tuple[str, type | None]:
    tp = _unwrap(tp)
    if typing.get_origin(tp) is tuple:
        args = typing.get_args(tp)
        elem = _unwrap(args[0]) if args else None
        return LIST, elem if isinstance(elem, type) and dataclasses.is_dataclass(elem) else None
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return "object", tp
    return SCALAR, None


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        import b03lint.operations as ops

        _HINTS[cls] = typing.get_type_hints(cls, vars(ops))
    return _HINTS[cls]


def _object_paths(cls: type, prefix: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for f in dataclasses.fields(cls):
        shape, sub = _shape(_hints(cls)[f.name])
        if shape == "object" and sub is not None:
            out.update(_object_paths(sub, f"{prefix}{f.name}."))
        else:
            out[prefix + f.name] = shape
    return out


@functools.cache
def operation_paths(kind: str, each: str | None = None) -> dict[str, str]:
    """Every field path a rule may name for operations of ``kind`` -> ``scalar``/``list``.

    ``column`` is always the column's name and ``constraint`` the constraint's name;
    ``type`` is the column's type (``new_type`` for ``alter_column_type``). With ``each``
    (``columns`` or ``constraints`` of ``create_table``) the rule sees one element at a
    time as ``column``/``constraint``.
    """
    cls = OPERATION_TYPES[kind]
    out: dict[str, str] = {"kind": SCALAR}
    for f in dataclasses.fields(cls):
        if f.name == "loc":
            continue
        shape, sub = _shape(_hints(cls)[f.name])
        if shape == "object" and sub is not None:
            out.update(_object_paths(sub, f"{f.name}."))
            if sub in (ColumnDef, ConstraintDef):
                out[f.name] = SCALAR
        else:
            out[f.name] = shape
    if each is not None:
        singular = EACH[each]
        out.update(_object_paths(ColumnDef if each == "columns" else ConstraintDef,
                                 f"{singular}."))
        out[singular] = SCALAR
    if "column.type" in out or "new_type" in out:
        out["type"] = SCALAR
    return out


def _plain(value: Any) -> Any:
    """A field value as rules see it: names for columns/constraints, expressions for
    index elements, tuples of those for lists."""
    if isinstance(value, ColumnDef | ConstraintDef):
        return value.name
    if isinstance(value, tuple):
        return tuple(_plain_item(v) for v in value)
    return value


def _plain_item(value: Any) -> Any:
    if isinstance(value, ColumnDef | ConstraintDef):
        return value.name
    expression = getattr(value, "expression", None)
    if dataclasses.is_dataclass(value) and isinstance(expression, str):
        return expression  # an IndexElement
    return value


class View:
    """One thing a rule looks at: an operation (or one column/constraint of a
    ``create_table``), or one object of the replayed schema."""

    def __init__(self, values: dict[str, Any] | None = None, op: Operation | None = None,
                 item: tuple[str, Any] | None = None):
        self.values = values
        self.op = op
        self.item = item

    def get(self, path: str) -> Any:
        if self.values is not None:
            return self.values.get(path)
        assert self.op is not None
        if path == "kind":
            return self.op.kind
        if path == "type":
            has_column = (self.item is not None and self.item[0] == "column") or isinstance(
                getattr(self.op, "column", None), ColumnDef)
            path = "column.type" if has_column else "new_type"
        head, _, rest = path.partition(".")
        obj: Any = (self.item[1] if self.item is not None and self.item[0] == head
                    else getattr(self.op, head, None))
        for part in rest.split(".") if rest else ():
            if obj is None:
                return None
            obj = getattr(obj, part, None)
        return _plain(obj)

    def object_name(self) -> str | None:
        table, column = self.get("table"), self.get("column")
        if isinstance(table, str) and isinstance(column, str):
            return f"{table}.{column}"
        for key in ("constraint", "name"):
            value = self.get(key)
            if isinstance(value, str):
                return value
        return table if isinstance(table, str) else None


# --------------------------------------------------------------------------- predicates


@dataclass(frozen=True)
class Predicate:
    op: str
    value: Any
    #: for ``exists_in_canonical``: what kind of object the field names
    target: str | None = None

    def holds(self, value: Any, view: View, ev: _Eval) -> bool:
        op = self.op
        if op == "exists":
            return (value is not None) is self.value
        if op == "equals":
            return bool(value == self.value)
        if op == "in":
            return value in self.value
        if value is None:  # unknown or absent: b03lint never guesses
            return False
        if op == "not_equals":
            return bool(value != self.value)
        if op == "not_in":
            return value not in self.value
        if op == "matches":
            return isinstance(value, str) and self.value.search(value) is not None
        if op == "not_matches":
            return isinstance(value, str) and self.value.search(value) is None
        if op == "contains":
            return self.value in value
        if op == "not_contains":
            return self.value not in value
        if op == "empty":
            return (len(value) == 0) is self.value
        if op == "exists_in_canonical":
            found = ev.in_canonical(self.target or "", value, view.get("table"))
            return found is not None and found == self.value
        raise AssertionError(op)


@dataclass(frozen=True)
class Condition:
    path: str
    predicates: tuple[Predicate, ...]

    def holds(self, view: View, ev: _Eval) -> bool:
        value = view.get(self.path)
        return all(p.holds(value, view, ev) for p in self.predicates)


@dataclass(frozen=True)
class Match:
    """One ``match`` entry: operation kinds (or a schema subject) and conditions."""

    kinds: frozenset[str]
    subject: str | None
    conditions: tuple[Condition, ...]
    #: per kind: the ``create_table`` list walked one element at a time, if any
    each: tuple[tuple[str, str], ...] = ()
    line: int = 0

    def views(self, op: Operation) -> Iterator[View]:
        each = dict(self.each).get(op.kind)
        if each is None:
            yield View(op=op)
            return
        for item in getattr(op, each):
            yield View(op=op, item=(EACH[each], item))

    def holds(self, view: View, ev: _Eval) -> bool:
        return all(c.holds(view, ev) for c in self.conditions)


class _Eval:
    """What evaluating a predicate may need from the run: the canonical schema."""

    def __init__(self, project: Project, rule: Rule):
        self.project = project
        self.rule = rule

    def in_canonical(self, what: str, value: Any, table: Any) -> bool | None:
        schema = self._canonical()
        if schema is None or not isinstance(value, str):
            return None
        if what == "table":
            return value in schema.tables
        if what == "index":
            return value in schema.indexes
        if what == "enum":
            return value in schema.enums
        t = schema.tables.get(table) if isinstance(table, str) else None
        if t is None:
            return False
        if what == "column":
            return value in t.columns
        if what == "constraint":
            return value in t.constraints
        if what == "policy":
            return value in t.policies
        return None

    def _canonical(self) -> Schema | None:
        from b03lint.contract import analyze

        schema = analyze(self.project).canonical.schema
        key = f"declarative:no-canonical:{self.rule.code}"
        if schema is None and key not in self.project.memo:
            self.project.memo[key] = True
            self.project.errors.append(ToolError(
                f"rule {self.rule.code} ({self.rule.name}) uses exists_in_canonical, but no "
                "canonical schema could be read (set canonical_sql or canonical_yaml)",
                self.rule.origin.rsplit(":", 1)[0] if self.rule.origin else None))
        return schema


# --------------------------------------------------------------------------- the rule


def _render(value: Any) -> str:
    if value is None:
        return "?"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list):
        return ", ".join(_render(v) for v in value)
    return str(value)


class DeclarativeRule(Rule):
    """Base of every rule compiled from a YAML file; the subclass carries the match."""

    category: ClassVar[str] = "project"
    matches: ClassVar[tuple[Match, ...]] = ()
    #: the message template, parsed: (literal, field or None, format spec)
    message_parts: ClassVar[tuple[tuple[str, str | None, str], ...]] = ()
    fix_hint: ClassVar[str | None] = None

    def render(self, view: View) -> str:
        out: list[str] = []
        for literal, field_name, spec in self.message_parts:
            out.append(literal)
            if field_name is not None:
                out.append(format(_render(view.get(field_name)), spec))
        return "".join(out)

    def check_operation(self, op: Operation, ctx: FileContext) -> Iterable[Finding]:
        ev = _Eval(ctx.project, self)
        seen: set[str] = set()
        for match in self.matches:
            if op.kind not in match.kinds:
                continue
            for view in match.views(op):
                if match.holds(view, ev):
                    message = self.render(view)
                    if message not in seen:
                        seen.add(message)
                        yield self.finding(op.loc, message, object=view.object_name(),
                                           fix=self.fix_hint)

    def check_project(self, project: Project) -> Iterable[Finding]:
        subjects = [m for m in self.matches if m.subject is not None]
        if not subjects:
            return
        replay = replay_at_target(project)
        if replay is None or replay.unknown_anywhere:
            return  # the contract rules name what could not be known (C014)
        ev = _Eval(project, self)
        tenant = str(project.config.get("tenant_column"))
        fallback = Location(project.config.migrations_label(), 1, 0)
        seen: set[tuple[str, int, str]] = set()
        for match in subjects:
            assert match.subject is not None
            for values, loc, obj in schema_views(replay, match.subject, tenant):
                view = View(values)
                if match.holds(view, ev):
                    loc = loc or fallback
                    message = self.render(view)
                    if (loc.path, loc.line, message) not in seen:
                        seen.add((loc.path, loc.line, message))
                        yield self.finding(loc, message, object=obj, fix=self.fix_hint)


def replay_at_target(project: Project) -> Replay | None:
    """The schema the chain builds at the checked revision (``--rev``, else every head),
    computed once per run."""
    key = "declarative:replay"
    if key not in project.memo:
        from b03lint.contract import project_replay

        target = None
        if project.rev is not None:
            try:
                target = project.graph.resolve(project.rev)
            except KeyError:
                project.memo[key] = None
                return None
        project.memo[key] = project_replay(project, target)
    replay: Replay | None = project.memo[key]
    return replay


def schema_views(replay: Replay, subject: str,
                 tenant: str) -> Iterator[tuple[dict[str, Any], Location | None, str]]:
    """Each object of ``subject`` in the replayed schema: its fields, where it was last
    shaped, and its name. Tables an unresolved operation may have changed are skipped."""
    schema = replay.schema
    for t in schema.tables.values():
        if t.unknown or t.name in replay.unknown_tables:
            continue
        scoped = t.is_tenant_scoped(tenant)
        if subject == "tables":
            yield ({"name": t.name, "table": t.name, "schema": t.schema,
                    "columns": tuple(t.columns), "constraints": tuple(t.constraints),
                    "indexes": tuple(i.name for i in schema.indexes_of(t.name)),
                    "policies": tuple(t.policies), "rls_enabled": t.rls_enabled,
                    "rls_forced": t.rls_forced, "tenant_scoped": scoped},
                   t.origin.loc if t.origin else None, t.name)
        elif subject == "columns":
            for c in t.columns.values():
                yield ({"table": t.name, "name": c.name, "column": c.name, "type": c.type,
                        "nullable": c.nullable, "default": c.default, "identity": c.identity,
                        "tenant_scoped": scoped},
                       c.origin.loc if c.origin else None, f"{t.name}.{c.name}")
        elif subject == "constraints":
            for con in t.constraints.values():
                ref = con.references
                yield ({"table": t.name, "name": con.name, "kind": con.kind,
                        "columns": con.columns, "expression": con.expression,
                        "not_valid": con.not_valid, "deferrable": con.deferrable,
                        "references.table": ref.table if ref else None,
                        "references.columns": ref.columns if ref else None,
                        "enum_column": con.enum_column, "enum_values": con.enum_values},
                       con.origin.loc if con.origin else None, con.name)
        elif subject == "policies":
            for pol in t.policies.values():
                yield ({"table": t.name, "name": pol.name, "command": pol.command,
                        "permissive": pol.permissive, "roles": pol.roles, "using": pol.using,
                        "with_check": pol.with_check},
                       pol.origin.loc if pol.origin else None, pol.name)
        elif subject == "indexes":
            for idx in schema.indexes_of(t.name):
                yield ({"table": t.name, "name": idx.name,
                        "columns": tuple(e.expression for e in idx.elements),
                        "unique": idx.unique, "include": idx.include, "where": idx.where,
                        "method": idx.method},
                       idx.origin.loc if idx.origin else None, idx.name)


