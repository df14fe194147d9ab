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
from dataclasses import dataclass

from b03lint.readers.python.text import Text


class Unknown:
    """A value that cannot be known statically."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = Unknown()
MISSING = object()


@dataclass(frozen=True, slots=True)
class TextClause:
    """``sa.text("...")``: SQL text (a server default written this way is raw SQL)."""

    text: Text


@dataclass(frozen=True, slots=True)
class Seq:
    items: tuple[object, ...]


@dataclass(frozen=True, slots=True)
class Dict:
    items: tuple[tuple[object, object], ...]


@dataclass(frozen=True, slots=True)
class ModuleName:
    """An imported module or a name inside one, by qualified name (``sqlalchemy.String``)."""

    qual: str


@dataclass(frozen=True, slots=True)
class Table:
    """``sa.table("t", ...)`` / ``sa.Table("t", meta, ...)``."""

    name: str | None
    schema: str | None = None


@dataclass(frozen=True, slots=True)
class Stmt:
    """A SQLAlchemy statement object: ``sa.update(t)``, ``t.insert().values(...)``."""

    verb: str
    table: str | None


@dataclass(frozen=True, slots=True)
class Conn:
    """What ``op.get_bind()`` returns."""


@dataclass(frozen=True, slots=True)
class Obj:
    """A harmless run-time object: a logger, a migration context, an inspector, a result."""

    kind: str


@dataclass(frozen=True, slots=True)
class Func:
    """A function or class defined in the migration itself (a helper)."""

    name: str
    is_class: bool = False


@dataclass(frozen=True, slots=True)
class Batch:
    """The ``batch_op`` of ``with op.batch_alter_table(...) as batch_op``."""

    table: str | None
    schema: str | None


@dataclass(frozen=True, slots=True)
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
