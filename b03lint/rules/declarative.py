"""Declarative rules: a project's conventions written in YAML (``rules/*.yaml``).

A rule file holds ``version: 1`` and a ``rules:`` list. Each rule is compiled into a
:class:`Rule` subclass, so the engine runs it exactly like a built-in rule (it sees each
operation once, in the same walk), ``b03lint rule CODE`` prints its documentation and the
test suite runs its examples. The format is described, with a worked example, in
``docs/writing-rules.md``; in short::

    version: 1
    rules:
      - code: SKD001                 # 1-4 capitals and 3 digits
        name: cents-column-integer   # kebab-case
        category: project            # default
        severity: blocking           # blocking | warning | info (default blocking)
        message: "{table}.{column} is {type}: money is integer cents"
        description: {what: ..., why: ..., example: ..., fix: ...}
        match:                       # one mapping, or a list of them (any may match)
          kind: [add_column, create_table]    # operation kinds (or `schema: tables`)
          where:
            column.name: {matches: '_cents$'}
            column.type: {not_in: [integer, bigint]}
        examples:
          invalid: [{upgrade: 'op.add_column(...)', line: 1}]
          valid: [{upgrade: 'op.add_column(...)'}]

Files are read strictly (:mod:`b03lint.yamlio`): an unknown key, a bad regular
expression, an unknown operation kind or field is a :class:`RegistryError` naming the file,
the line and the path inside the document.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import string
import textwrap
import types
import typing
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
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
    CATEGORIES,
    CODE_RE,
    DOC_HEADINGS,
    NAME_RE,
    PHASES,
    SEVERITIES,
    Example,
    FileContext,
    RegistryError,
    Rule,
)
from b03lint.yamlio import Node, Reader, YamlError, parse

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
_SUBJECT_OBJECT = {"tables": "table", "columns": "column", "indexes": "index",
                   "constraints": "constraint", "policies": "policy"}

#: what ``name`` / ``new_name`` is, per operation kind (for ``exists_in_canonical``)
_NAME_OBJECT = {
    "create_index": "index", "drop_index": "index", "rename_index": "index",
    "drop_constraint": "constraint", "rename_constraint": "constraint",
    "validate_constraint": "constraint", "create_policy": "policy", "drop_policy": "policy",
    "create_enum_type": "enum", "alter_enum_add_value": "enum", "drop_type": "enum",
}
_NEW_NAME_OBJECT = {"rename_table": "table", "rename_column": "column",
                    "rename_index": "index", "rename_constraint": "constraint"}

#: ``create_table`` lists -> the name a rule uses for one element of it
_EACH = {"columns": "column", "constraints": "constraint"}


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
        singular = _EACH[each]
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
            yield View(op=op, item=(_EACH[each], item))

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
        from b03lint.contract import replay_chain

        target = None
        if project.rev is not None:
            try:
                target = project.graph.resolve(project.rev)
            except KeyError:
                project.memo[key] = None
                return None
        project.memo[key] = replay_chain(project.graph, target)
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


# --------------------------------------------------------------------------- loading

_RULE_KEYS = ("code", "name", "message", "description", "match")
_RULE_OPTIONAL = ("category", "severity", "enabled", "phases", "fix", "examples")
_DESCRIPTION = {"what": "What it does", "why": "Why it matters", "example": "Example",
                "fix": "How to fix"}

#: the migration an ``upgrade:`` example is wrapped in; its body starts at line 11
EXAMPLE_HEAD = '''"""example"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = {revision!r}
down_revision = {down_revision!r}


def upgrade():
'''
EXAMPLE_TAIL = "\n\ndef downgrade():\n    pass\n"
EXAMPLE_BODY_LINE = EXAMPLE_HEAD.count("\n") + 1


def wrap_upgrade(body: str, revision: str = "example", down_revision: str | None = None) -> str:
    """A migration file whose ``upgrade()`` is ``body`` (written without indentation);
    line 1 of ``body`` is line :data:`EXAMPLE_BODY_LINE` of the file."""
    text = textwrap.indent(textwrap.dedent(body).strip("\n"), "    ") or "    pass"
    return (EXAMPLE_HEAD.format(revision=revision, down_revision=down_revision) + text
            + EXAMPLE_TAIL)


class _Compiler:
    def __init__(self, shown: str):
        self.shown = shown
        self.r = Reader(shown)

    def error(self, node: Node, message: str) -> YamlError:
        return self.r.error(node, message)

    def free_mapping(self, node: Node) -> dict[str, Node]:
        """A mapping whose keys are the author's (field paths, file names); empty if null."""
        if node.value is None:
            return {}
        if not isinstance(node.value, dict):
            raise self.error(node, "expected a mapping")
        return dict(node.value)

    # ------------------------------------------------------------------ file

    def file(self, root: Node) -> list[type[Rule]]:
        doc = self.r.mapping(root, required=("version", "rules"))
        version = self.r.integer(doc["version"])
        if version != FORMAT_VERSION:
            raise self.error(doc["version"], f"unsupported rule file version {version} "
                                             f"(expected {FORMAT_VERSION})")
        rules: list[type[Rule]] = []
        for item in self.r.sequence(doc["rules"]):
            rules.append(self.rule(item))
        return rules

    # ------------------------------------------------------------------ one rule

    def rule(self, node: Node) -> type[Rule]:
        r = self.r
        spec = r.mapping(node, required=_RULE_KEYS, optional=_RULE_OPTIONAL)
        code = r.string(spec["code"])
        if not CODE_RE.match(code):
            raise self.error(spec["code"], f"code {code!r} must be 1-4 capital letters and "
                                           "3 digits, like SKD001")
        name = r.string(spec["name"])
        if not NAME_RE.match(name):
            raise self.error(spec["name"], f"name {name!r} must be kebab-case, like "
                                           "cents-column-integer")
        category = r.choice(spec["category"], CATEGORIES) if "category" in spec else "project"
        severity = r.choice(spec["severity"], SEVERITIES) if "severity" in spec else "blocking"
        enabled = r.boolean(spec["enabled"]) if "enabled" in spec else True
        phases = frozenset({"upgrade"})
        if "phases" in spec:
            phases = frozenset(r.choice(n, PHASES) for n in r.sequence(spec["phases"]))
        doc = self.description(spec["description"])
        match_node = spec["match"]
        match_nodes = r.sequence(match_node) if isinstance(match_node.value, list) else [
            match_node]
        if not match_nodes:
            raise self.error(match_node, "match needs at least one entry")
        message_node = spec["message"]
        message = r.string(message_node)
        try:
            parsed = list(string.Formatter().parse(message))
        except ValueError as exc:
            raise self.error(message_node, f"bad message template: {exc}") from None
        parts: list[tuple[str, str | None, str]] = []
        fields: list[str] = []
        for literal, field_name, spec_text, conversion in parsed:
            if field_name is not None and (not field_name or conversion or "[" in field_name
                                           or field_name[0].isdigit()):
                raise self.error(message_node, "message fields are written {field.path}, "
                                               "without positions or conversions")
            if field_name:
                fields.append(field_name)
            parts.append((literal, field_name or None, spec_text or ""))
        matches = tuple(self.match(n, fields, message_node) for n in match_nodes)
        fix = r.optional_string(spec.get("fix"))
        if fix is None:
            fix = " ".join(doc["How to fix"].split("\n\n")[0].split())
        valid, invalid = self.examples(spec.get("examples"))
        origin = f"{self.shown}:{node.line}"
        kinds = frozenset(k for m in matches for k in m.kinds)
        attrs: dict[str, Any] = {
            "__doc__": "\n\n".join(f"{h}:\n{textwrap.indent(doc[h], '    ')}"
                                   for h in DOC_HEADINGS),
            "__module__": __name__,
            "__qualname__": f"DeclarativeRule[{code}]",
            "code": code, "name": name, "category": category, "default_severity": severity,
            "default_enabled": enabled, "operation_kinds": kinds, "phases": phases,
            "valid": valid, "invalid": invalid, "origin": origin, "matches": matches,
            "message_parts": tuple(parts), "fix_hint": fix,
        }
        cls = type(f"DeclarativeRule[{code}]", (DeclarativeRule,), attrs)
        return typing.cast("type[Rule]", cls)

    def description(self, node: Node) -> dict[str, str]:
        spec = self.r.mapping(node, required=tuple(_DESCRIPTION))
        out: dict[str, str] = {}
        for key, heading in _DESCRIPTION.items():
            text = textwrap.dedent(self.r.string(spec[key])).strip()
            if not text:
                raise self.error(spec[key], f"description.{key} is empty")
            out[heading] = text
        return out

    # ------------------------------------------------------------------ match

    def match(self, node: Node, message_fields: list[str], message_node: Node) -> Match:
        r = self.r
        spec = r.mapping(node, optional=("kind", "schema", "where"))
        if ("kind" in spec) == ("schema" in spec):
            raise self.error(node, "a match names either `kind` (operation kinds) or "
                                   "`schema` (tables, columns, indexes, constraints, "
                                   "policies), not both")
        where = self.free_mapping(spec["where"]) if "where" in spec else {}
        roots = {p.split(".")[0] for p in [*where, *message_fields]}
        catalogue: dict[str, dict[str, str]] = {}
        kinds: list[str] = []
        subject: str | None = None
        each: list[tuple[str, str]] = []
        if "kind" in spec:
            kind_node = spec["kind"]
            kind_nodes = (r.sequence(kind_node) if isinstance(kind_node.value, list)
                          else [kind_node])
            for kn in kind_nodes:
                kind = r.string(kn)
                if kind not in OPERATION_TYPES:
                    raise self.error(kn, f"unknown operation kind {kind!r} (known: "
                                         f"{', '.join(sorted(OPERATION_TYPES))})")
                walk = None
                if kind == "create_table":
                    wanted = [plural for plural, one in _EACH.items()
                              if one in roots or (one == "column" and "type" in roots)]
                    if len(wanted) > 1:
                        raise self.error(node, "a create_table match can look at its columns "
                                               "or at its constraints, not both")
                    walk = wanted[0] if wanted else None
                    if walk is not None:
                        each.append((kind, walk))
                kinds.append(kind)
                catalogue[kind] = operation_paths(kind, walk)
        else:
            subject = r.choice(spec["schema"], tuple(SUBJECT_PATHS))
            catalogue[f"schema {subject}"] = SUBJECT_PATHS[subject]
        conditions: list[Condition] = []
        for path, pnode in where.items():
            shape = self.check_path(path, pnode, catalogue)
            conditions.append(Condition(path, self.predicates(path, shape, pnode, kinds,
                                                              subject)))
        for field_name in message_fields:
            self.check_path(field_name, message_node, catalogue, in_message=True)
        return Match(frozenset(kinds), subject, tuple(conditions), tuple(each), node.line)

    def check_path(self, path: str, node: Node, catalogue: dict[str, dict[str, str]],
                   in_message: bool = False) -> str:
        shapes = set()
        for source, paths in catalogue.items():
            if path not in paths:
                where = "message field" if in_message else "field"
                raise self.error(node, f"unknown {where} {path!r} for {source} "
                                       f"(fields: {', '.join(sorted(paths))})")
            shapes.add(paths[path])
        if len(shapes) > 1:
            raise self.error(node, f"field {path!r} is a list for some of the kinds and a "
                                   "single value for others: split the match")
        return shapes.pop()

    def predicates(self, path: str, shape: str, node: Node, kinds: list[str],
                   subject: str | None) -> tuple[Predicate, ...]:
        r = self.r
        value = node.value
        if not isinstance(value, dict):
            if isinstance(value, list):
                raise self.error(node, f"{path}: a list is ambiguous; write {{in: [...]}} "
                                       "or {contains: value}")
            value_node = node
            return (self.predicate("equals", value_node, path, shape, kinds, subject),)
        allowed = SCALAR_PREDICATES if shape == SCALAR else LIST_PREDICATES
        spec = r.mapping(node, optional=(*SCALAR_PREDICATES, *LIST_PREDICATES))
        if not spec:
            raise self.error(node, f"{path}: no predicate (one of: {', '.join(allowed)})")
        out = []
        for op, pnode in spec.items():
            if op not in allowed:
                what = "a single value" if shape == SCALAR else "a list"
                raise self.error(pnode, f"predicate {op!r} does not apply to {path!r}, which "
                                        f"is {what} (use one of: {', '.join(allowed)})")
            out.append(self.predicate(op, pnode, path, shape, kinds, subject))
        return tuple(out)

    def predicate(self, op: str, node: Node, path: str, shape: str, kinds: list[str],
                  subject: str | None) -> Predicate:
        r = self.r
        norm = _normalize_type if path in TYPE_PATHS else (lambda v: v)
        if op in ("exists", "empty"):
            return Predicate(op, r.boolean(node))
        if op in ("matches", "not_matches"):
            pattern = r.string(node)
            try:
                return Predicate(op, re.compile(pattern))
            except re.error as exc:
                raise self.error(node, f"bad regular expression {pattern!r}: {exc}") from None
        if op in ("in", "not_in"):
            return Predicate(op, tuple(norm(self.scalar(n)) for n in r.sequence(node)))
        if op == "exists_in_canonical":
            targets = {_canonical_target(k, path) for k in kinds} if kinds else {
                _canonical_target(f"schema {subject}", path)}
            if None in targets or len(targets) != 1:
                raise self.error(node, f"exists_in_canonical does not apply to {path!r} here "
                                       "(it applies to a table, column, index, constraint, "
                                       "policy or enum type name)")
            return Predicate(op, r.boolean(node), targets.pop())
        return Predicate(op, norm(self.scalar(node)))

    def scalar(self, node: Node) -> Any:
        if isinstance(node.value, dict | list):
            raise self.error(node, "expected a single value (string, number, true/false or "
                                   "null)")
        return node.value

    # ------------------------------------------------------------------ examples

    def examples(self, node: Node | None) -> tuple[tuple[Example, ...], tuple[Example, ...]]:
        if node is None or node.value is None:
            return (), ()
        spec = self.r.mapping(node, optional=("valid", "invalid"))
        valid = tuple(self.example(n, invalid=False)
                      for n in self.r.sequence(spec["valid"])) if "valid" in spec else ()
        invalid = tuple(self.example(n, invalid=True)
                        for n in self.r.sequence(spec["invalid"])) if "invalid" in spec else ()
        return valid, invalid

    def example(self, node: Node, *, invalid: bool) -> Example:
        r = self.r
        spec = r.mapping(node, optional=("source", "upgrade", "down_revision", "line",
                                         "files", "config", "rev", "title"))
        if ("source" in spec) == ("upgrade" in spec):
            raise self.error(node, "an example has either `source` (a whole migration file) "
                                   "or `upgrade` (the body of upgrade()), not both")
        line = r.integer(spec["line"]) if "line" in spec and spec["line"].value is not None \
            else None
        if line is not None and not invalid:
            raise self.error(spec["line"], "only examples that must trigger the rule have "
                                           "a line")
        if "upgrade" in spec:
            source = wrap_upgrade(r.string(spec["upgrade"]),
                                  down_revision=r.optional_string(spec.get("down_revision")))
            if line is not None:
                line += EXAMPLE_BODY_LINE - 1
        else:
            if "down_revision" in spec:
                raise self.error(spec["down_revision"], "down_revision goes with `upgrade`; "
                                                        "a `source` example writes its own")
            source = r.string(spec["source"])
        files: dict[str, str] = {}
        if "files" in spec:
            for rel, fnode in self.free_mapping(spec["files"]).items():
                files[rel] = r.string(fnode)
        config: dict[str, Any] = {}
        if "config" in spec:
            cfg = self.free_mapping(spec["config"])
            config = {k: v.plain() for k, v in cfg.items()}
        return Example(source, line=line, files=files, config=config,
                       rev=r.optional_string(spec.get("rev")),
                       title=r.optional_string(spec.get("title")) or "")


def _normalize_type(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    from b03lint.sqltypes import normalize_type

    return normalize_type(value)


def _canonical_target(source: str, path: str) -> str | None:
    """What kind of schema object the field ``path`` names, for ``exists_in_canonical``
    (``source`` is an operation kind or ``schema <subject>``)."""
    last = path.rsplit(".", 1)[-1]
    if last == "table":
        return "table"
    if path in ("column", "column.name"):
        return "column"
    if path in ("constraint", "constraint.name"):
        return "constraint"
    if source.startswith("schema "):
        return _SUBJECT_OBJECT[source.split()[1]] if path == "name" else None
    if path == "name":
        return _NAME_OBJECT.get(source)
    if path == "new_name":
        return _NEW_NAME_OBJECT.get(source)
    return None


def load_rule_file(path: Path, shown: str) -> list[type[Rule]]:
    """Compile every rule of one YAML file. Raises :class:`RegistryError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RegistryError(f"cannot read rule file: {exc.strerror}", shown) from None
    except UnicodeDecodeError as exc:
        raise RegistryError(f"rule file is not UTF-8: {exc.reason}", shown) from None
    try:
        return _Compiler(shown).file(parse(text, shown, max_bytes=5_000_000))
    except YamlError as exc:
        raise RegistryError(f"invalid rule file: {exc}", exc.path, exc.line) from None


def rule_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir()
                  if p.suffix in (".yaml", ".yml") and p.is_file() and not p.name.startswith("."))


def load_rule_dirs(root: Path, dirs: list[str], *, missing_ok: bool) -> list[type[Rule]]:
    """The YAML rules of every folder of ``rules_dirs`` (relative to the project root).
    A missing folder is an error unless ``missing_ok`` (the default ``rules``)."""
    from b03lint.paths import display_path

    out: list[type[Rule]] = []
    for name in dirs:
        folder = Path(name) if Path(name).is_absolute() else root / name
        if not folder.is_dir():
            if missing_ok:
                continue
            raise RegistryError(f"rules folder {name!r} (rules_dirs) not found",
                                display_path(folder))
        for path in rule_files(folder):
            out.extend(load_rule_file(path, display_path(path)))
    return out
