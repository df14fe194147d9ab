"""The static values the evaluator produces, and the scope they live in.

Everything the reader knows about a Python value is one of these: a :class:`Text` (in
``text.py``), ``None``, a bool, int or float, a :class:`Seq` or :class:`Dict` of such
values, a :class:`ModuleName` (``sa.String``, ``op.drop_table``), a SQLAlchemy construct
(:class:`Node`, interpreted where it is used), one of the run-time objects whose effect is
known (:class:`Conn`, :class:`Obj`, :class:`Table`, :class:`Stmt`, :class:`Batch`), a
function or class of the file (:class:`Func`), or :data:`UNKNOWN`.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from b03lint.readers.python.source import Source
from b03lint.readers.python.text import FixedText, Text

if TYPE_CHECKING:
    from dataclasses import dataclass as record
else:  # the same classes, made without dataclasses' start-up cost (b03lint.records)
    from b03lint.records import record


class Unknown:
    """A value that cannot be known statically."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = Unknown()
MISSING = object()


@record(frozen=True, slots=True)
class TextClause:
    """``sa.text("...")``: SQL text (a server default written this way is raw SQL).
    ``template``: some of it is filled in at run time (see :class:`Template`)."""

    text: Text
    template: bool = False


@record(frozen=True, slots=True)
class Template:
    """A string with parts filled in at run time (``"DROP TABLE {}".format(name)``,
    ``f"... {x}"``, ``"... %s" % x``, ``"..." + x`` with ``name``/``x`` not known): the
    known text with :data:`~b03lint.readers.templates.PLACEHOLDER` for each unknown part.
    Only SQL accepts it (the statement is read; what a placeholder stands for is not);
    everywhere else it is as unknown as the run-time parts."""

    text: Text


@record(frozen=True, slots=True)
class Seq:
    """A list, tuple or set known item by item."""

    items: tuple[object, ...]


@record(frozen=True, slots=True)
class PartialSeq:
    """A list some of whose items are certain: those in ``items`` (a run-time condition
    may have added others). A loop over it reads the certain items and reports the rest;
    everything else that needs the whole list treats it as not known."""

    items: tuple[object, ...]


@record(frozen=True, slots=True)
class Dict:
    items: tuple[tuple[object, object], ...]


@record(frozen=True, slots=True)
class ModuleName:
    """An imported module or a name inside one, by qualified name (``sqlalchemy.String``)."""

    qual: str


@record(frozen=True, slots=True)
class Table:
    """``sa.table("t", ...)`` / ``sa.Table("t", meta, ...)``."""

    name: str | None
    schema: str | None = None


@record(frozen=True, slots=True)
class Stmt:
    """A SQLAlchemy statement object: ``sa.update(t)``, ``t.insert().values(...)``."""

    verb: str
    table: str | None
    schema: str | None = None
    #: a ``.where(...)`` that can be false for a row was added
    has_where: bool = False


@record(frozen=True, slots=True)
class Conn:
    """What ``op.get_bind()`` returns."""


@record(frozen=True, slots=True)
class DbUrl:
    """The database URL (``context.config.get_main_option("sqlalchemy.url")``,
    ``bind.engine.url``): b03lint reads migrations for PostgreSQL, so it starts with
    ``postgresql``; the rest (driver, host, database) is not known."""


@record(frozen=True, slots=True)
class Obj:
    """A harmless run-time object: a logger, a migration context, an inspector, a result."""

    kind: str


@record(frozen=True, slots=True)
class Func:
    """A function, lambda or class defined in the migration itself (a helper), with the
    scope it was defined in (what its body sees)."""

    name: str
    is_class: bool = False
    node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef | None = None
    env: Env | None = None
    #: the module it is written in, when that is not the migration (a project module)
    src: Source | None = None


@record(frozen=True, slots=True)
class Entity:
    """An object of an Alembic extension: an ``alembic_utils`` entity (``PGFunction``,
    ``PGView``, ``PGPolicy``, ...) or an ``alembic_postgresql_enum.TableReference``, with
    its arguments bound to their parameter names."""

    kind: str
    fields: tuple[tuple[str, object], ...]

    def get(self, name: str, default: object = None) -> object:
        for key, value in self.fields:
            if key == name:
                return value
        return default


@record(frozen=True, slots=True)
class Batch:
    """The ``batch_op`` of ``with op.batch_alter_table(...) as batch_op``."""

    table: str | None
    schema: str | None


@record(frozen=True, slots=True)
class Node:
    """A SQLAlchemy construct (``sa.Column(...)``, ``sa.String(50)``, ``sa.Index(...)``),
    interpreted where it is used, with the names in scope where it was written."""

    call: ast.Call
    env: Env
    qual: str


class Env:
    """A scope: the module's names, a function's, one iteration of an unrolled loop."""

    __slots__ = ("parent", "vars")

    def __init__(self, parent: Env | None = None) -> None:
        self.vars: dict[str, object] = {}
        self.parent = parent

    def get(self, name: str) -> object:
        env: Env | None = self
        while env is not None:
            if name in env.vars:
                return env.vars[name]
            env = env.parent
        return MISSING


def qual_of(value: object) -> str | None:
    if isinstance(value, ModuleName):
        return value.qual
    if isinstance(value, Node):
        return value.qual
    return None


def last_part(qual: str) -> str:
    return qual.rsplit(".", 1)[-1]


def in_modules(qual: str, modules: frozenset[str]) -> bool:
    return any(qual == m or qual.startswith(m + ".") for m in modules)


def text_of(value: object) -> str | None:
    """The string a value statically is, or None."""
    if isinstance(value, Text):
        return value.text
    return None


def bind_import(stmt: ast.Import | ast.ImportFrom, env: Env) -> None:
    """Bind the names an import statement defines to the modules they stand for."""
    if isinstance(stmt, ast.Import):
        for alias in stmt.names:
            if alias.asname:
                env.vars[alias.asname] = ModuleName(alias.name)
            else:
                root = alias.name.split(".", 1)[0]
                env.vars[root] = ModuleName(root)
        return
    module = ("." * stmt.level) + (stmt.module or "")
    for alias in stmt.names:
        if alias.name == "*":
            continue
        env.vars[alias.asname or alias.name] = ModuleName(f"{module}.{alias.name}")


def python_value(value: object) -> object:
    """A plain Python value for static arithmetic, or MISSING."""
    if isinstance(value, Text):
        return value.text
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, Seq):
        items = [python_value(i) for i in value.items]
        if any(i is MISSING for i in items):
            return MISSING
        return tuple(items)
    if isinstance(value, Dict):
        result: dict[object, object] = {}
        for k, v in value.items:
            pk, pv = python_value(k), python_value(v)
            if pk is MISSING or pv is MISSING:
                return MISSING
            try:
                result[pk] = pv
            except TypeError:
                return MISSING
        return result
    return MISSING


def is_plain(value: object) -> bool:
    return value is None or isinstance(value, (bool, int, float, Text, Seq, Dict))


def truth(value: object) -> bool:
    if isinstance(value, Text):
        return bool(value.text)
    if isinstance(value, (Seq, Dict)):
        return bool(value.items)
    return bool(value)


def is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def iter_items(value: object) -> tuple[tuple[object, ...], bool] | None:
    """What iterating over ``value`` yields, and whether that is only the certain part
    (a :class:`PartialSeq`); None when it is not known statically."""
    if isinstance(value, Seq):
        return value.items, False
    if isinstance(value, PartialSeq):
        return value.items, True
    if isinstance(value, Dict):
        return tuple(k for k, _ in value.items), False
    if isinstance(value, Text):
        return tuple(FixedText(c, value.at) for c in value.text), False
    return None


#: list / set methods that change the value they are called on
LIST_MUTATORS = frozenset({"append", "extend", "insert", "add", "update", "clear"})


def mutated(owner: object, method: str, args: list[object]) -> object:
    """What a list, set or dict becomes after ``owner.method(*args)`` (UNKNOWN when that
    is not known statically; ``owner`` itself for a method that changes nothing)."""
    partial = isinstance(owner, PartialSeq)
    if isinstance(owner, (Seq, PartialSeq)):
        items = owner.items
        if method in ("append", "add") and len(args) == 1:
            new = (*items, args[0])
        elif method in ("extend", "update") and len(args) == 1:
            more = iter_items(args[0])
            if more is None:
                return PartialSeq(items)
            new, partial = (*items, *more[0]), partial or more[1]
        elif method == "insert" and len(args) == 2 and is_int(args[0]) and not partial:
            index = args[0]
            assert isinstance(index, int)
            listed = list(items)
            listed.insert(index, args[1])
            new = tuple(listed)
        elif method == "clear" and not args:
            return Seq(())
        else:
            return UNKNOWN
        return PartialSeq(new) if partial else Seq(new)
    if isinstance(owner, Dict) and method == "update" and len(args) == 1:
        if isinstance(args[0], Dict):
            return Dict((*owner.items, *args[0].items))
        return UNKNOWN
    return UNKNOWN


def merged(before: object, after: object) -> object:
    """What a name holds after a block that may or may not run changed it from
    ``before`` to ``after``: a list that only grew keeps its items as certain."""
    if after is before:
        return before
    if isinstance(before, (Seq, PartialSeq)) and isinstance(after, (Seq, PartialSeq)):
        kept = before.items
        if len(after.items) >= len(kept) and all(
                a is b for a, b in zip(after.items, kept, strict=False)):
            return PartialSeq(kept)
    return UNKNOWN


def bind(target: ast.expr, value: object, env: Env) -> None:
    """Bind an assignment or loop target (a name, a tuple of them) to ``value`` in
    ``env``; attribute and subscript targets bind nothing the reader tracks."""
    if isinstance(target, ast.Name):
        env.vars[target.id] = value
    elif isinstance(target, (ast.Tuple, ast.List)):
        items: tuple[object, ...] | None = None
        if isinstance(value, Seq) and len(value.items) == len(target.elts):
            items = value.items
        for k, elt in enumerate(target.elts):
            if isinstance(elt, ast.Starred):
                bind(elt.value, UNKNOWN, env)
            else:
                bind(elt, items[k] if items is not None else UNKNOWN, env)
    elif isinstance(target, ast.Starred):
        bind(target.value, UNKNOWN, env)


def distinct(items: list[object]) -> list[object]:
    """Items of a set: the first of each value (all of them when one is not plain)."""
    keys = [python_value(i) for i in items]
    if any(k is MISSING for k in keys):
        return items
    seen: set[object] = set()
    out = []
    for key, item in zip(keys, items, strict=True):
        try:
            if key in seen:
                continue
            seen.add(key)
        except TypeError:
            return items
        out.append(item)
    return out


def detached(value: object, at: tuple[int, int]) -> object:
    """A value read from another file, its strings located at ``at`` in this one."""
    if isinstance(value, Text):
        return FixedText(value.text, at)
    if isinstance(value, Seq):
        return Seq(tuple(detached(v, at) for v in value.items))
    if isinstance(value, PartialSeq):
        return PartialSeq(tuple(detached(v, at) for v in value.items))
    if isinstance(value, Dict):
        return Dict(tuple((detached(k, at), detached(v, at)) for k, v in value.items))
    if isinstance(value, TextClause):
        return TextClause(FixedText(value.text.text, at), value.template)
    return value
