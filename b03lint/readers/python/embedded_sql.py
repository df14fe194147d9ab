"""SQL inside the migration: what ``op.execute`` / ``conn.execute`` / ``exec_driver_sql``
run, CHECK conditions and textual index elements, handed to the SQL reader.

The SQL reader (``b03lint.readers.sql``, which imports pglast) is imported lazily, only
for a file that has SQL, a CHECK constraint or a textual index element whose reading the
memo (:mod:`b03lint.readers.memo`) does not hold. Each character of the SQL keeps the
position where it is written in the ``.py`` file: the SQL reader reads the text with every
position a character offset in it (so the reading is the same wherever the text is
written, and can be kept in the memo), and :func:`_placed` puts each offset where the
file writes that character. The per-file SQL budget lives here, the layer it protects.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, cast

from b03lint.operations import (
    ConstraintDef,
    CreateSequence,
    DataChange,
    Diagnostic,
    DropSequence,
    IndexElement,
    Location,
    MigrationFile,
    Operation,
    Phase,
)
from b03lint.readers.memo import SqlMemo
from b03lint.readers.python.comments import merge_comments
from b03lint.readers.python.emit import Emit, Unreadable, op_fields
from b03lint.readers.python.source import Pos
from b03lint.readers.python.text import Text, driver_params, sa_text_params
from b03lint.readers.python.values import Node, Stmt, Table, Template, TextClause, last_part

#: characters of SQL handed to the SQL reader per file, at least; or this many times the
#: file's size when that is more. Executing one big constant in a loop or many times over
#: would otherwise read far more SQL than the file holds; what exceeds the budget is
#: reported as unresolved, never skipped silently.
SQL_BUDGET = 1_000_000
SQL_BUDGET_FACTOR = 2


class _CheckInfoLike(Protocol):
    @property
    def expression(self) -> str: ...

    @property
    def column(self) -> str | None: ...

    @property
    def values(self) -> tuple[str, ...] | None: ...


class _SqlResultLike(Protocol):
    @property
    def operations(self) -> list[Operation]: ...

    @property
    def diagnostics(self) -> list[Diagnostic]: ...

    @property
    def comments(self) -> dict[int, str]: ...


class SqlModule(Protocol):
    """The part of ``b03lint.readers.sql`` this module uses."""

    def read_sql(
        self, text: str, *, path: str, position: Callable[[int], Pos] | None = ...,
        phase: Phase = ..., via: str = ..., template: bool = ...,
    ) -> _SqlResultLike: ...

    def analyze_check(self, expr: str) -> _CheckInfoLike: ...

    def parse_index_elements(self, text: str) -> tuple[IndexElement, ...]: ...


if TYPE_CHECKING:  # mypy proves that the SQL reader provides this interface
    from b03lint.readers import sql as _sql_reader

    _interface_check: SqlModule = _sql_reader


def sql_text(value: object) -> str | None:
    """SQL written as a string or ``sa.text(...)``."""
    if isinstance(value, TextClause):
        return value.text.text
    if isinstance(value, Text):
        return value.text
    return None


class EmbeddedSql:
    """The SQL of one file, read through the SQL reader within the file's budget."""

    def __init__(self, path: str, data: bytes, mf: MigrationFile,
                 memo: SqlMemo | None = None) -> None:
        self.path = path
        self.size = len(data)
        self.mf = mf
        self.memo = memo
        self._module: object = None
        #: characters of SQL still to be read in this file
        self._budget = max(SQL_BUDGET, SQL_BUDGET_FACTOR * len(data))
        #: the memo entries this file's reading asked for, in order (an ordered set)
        self._keys: dict[str, None] = {}

    def keys(self) -> tuple[str, ...]:
        """The memo entries this file's reading used (``MigrationFile.sql_keys``)."""
        return tuple(self._keys)

    def _ask(self, ask: str) -> tuple[str | None, object]:
        """The memo's key for ``ask`` and what it holds (None without a memo)."""
        memo = self.memo
        if memo is None:
            return None, None
        key = memo.key(ask)
        self._keys[key] = None
        return key, memo.take(key)

    def _keep(self, key: str | None, value: object) -> None:
        """Hand what was just read to the memo, under the key :meth:`_ask` gave."""
        if key is not None and self.memo is not None:
            self.memo.keep(key, value)

    def run(
        self, value: object, node: ast.expr | None, emit: Emit, driver: bool = False
    ) -> None:
        """Read the SQL an execute call runs. ``op.execute`` wraps a string in
        ``sa.text()``, so its ``:name`` bind parameters are replaced (as SQLAlchemy does)
        before PostgreSQL's grammar sees them; ``exec_driver_sql`` and a plain string given
        to ``conn.execute`` go to the driver, whose ``%(name)s`` / ``%s`` are replaced."""
        if isinstance(value, TextClause):
            self._read(sa_text_params(value.text), emit, template=value.template)
            return
        if isinstance(value, Text):
            self._read(driver_params(value) if driver else sa_text_params(value), emit)
            return
        if isinstance(value, Template):  # parts filled in at run time: read as a template
            text = value.text
            self._read(driver_params(text) if driver else sa_text_params(text), emit,
                       template=True)
            return
        if isinstance(value, Stmt):
            if value.verb == "select":
                return  # a read: changes nothing
            if value.table is not None and value.verb in ("insert", "update", "delete"):
                table = value.table if value.schema in (None, "public") \
                    else f"{value.schema}.{value.table}"
                emit.table = table
                emit.out.append(DataChange(**op_fields(emit), verb=value.verb,  # type: ignore[arg-type]
                                           table=table,
                                           has_where=value.has_where or value.verb == "insert"))
                return
            raise Unreadable(
                f"a SQLAlchemy `{value.verb}` statement object is executed; its SQL is not read",
                value.table, data=value.verb in ("insert", "update", "delete"),
            )
        if isinstance(value, Node) and last_part(value.qual) in ("CreateSequence",
                                                                  "DropSequence"):
            made = _sequence_ddl(value, emit)
            if made is not None:
                emit.out.append(made)
                return
        if isinstance(value, Node):
            raise Unreadable(
                f"a SQLAlchemy `{last_part(value.qual)}` construct is executed; its SQL is not read"
            )
        if isinstance(value, Table):
            raise Unreadable("a SQLAlchemy table expression is executed", value.name)
        raise Unreadable("the SQL is built at run time and is not known statically")

    def _read(self, text: Text, emit: Emit, template: bool = False) -> None:
        if not text.text.strip():
            return
        if len(text.text) > self._budget:
            raise Unreadable(
                "not read: this file's SQL would exceed "
                f"{max(SQL_BUDGET, SQL_BUDGET_FACTOR * self.size):,} characters "
                "(the same SQL executed many times over?)"
            )
        self._budget -= len(text.text)
        key, found = self._ask(f"sql\0{emit.phase}\0{emit.via}\0{int(template)}\0{text.text}")
        reading = found if _is_reading(found) else None
        if reading is None:
            sql = self.module()
            if sql is None:
                raise Unreadable("the SQL reader is not available")
            result = sql.read_sql(text.text, path="", position=_offset, phase=emit.phase,
                                  via=emit.via, template=template)
            reading = (result.operations, result.diagnostics, result.comments)
            self._keep(key, reading)
        operations, diagnostics, comments = _placed(reading, self.path, text.position)
        emit.out.extend(operations)
        self.mf.diagnostics.extend(diagnostics)
        merge_comments(self.mf.comments, comments)

    def module(self) -> SqlModule | None:
        """The SQL reader, imported on first use (it imports pglast)."""
        if self._module is None:
            try:
                module = importlib.import_module("b03lint.readers.sql")
            except Exception:  # pglast missing or sql.py not importable
                self._module = False
                return None
            self._module = module
        if self._module is False:
            return None
        return cast(SqlModule, self._module)

    def _check_info(self, expression: str) -> _Check | None:
        """The SQL reader's analysis of a CHECK condition (or any expression), from the
        memo when it has it: ``(expression, enum column, enum values)``, ``()`` when the
        SQL reader could not analyse it, None without the SQL reader."""
        key, found = self._ask(f"check\0{expression}")
        if _is_check(found):
            return cast(_Check, found)
        sql = self.module()
        if sql is None:
            return None
        try:
            info = sql.analyze_check(expression)
        except Exception:
            value: _Check = ()
        else:
            values = tuple(info.values) if info.values is not None else None
            value = (info.expression, info.column, values)
        self._keep(key, value)
        return value

    def expression(self, text: str) -> str:
        """An expression in the SQL reader's one spelling (as it deparses CHECKs and
        generated columns); the text itself when the SQL reader cannot read it."""
        info = self._check_info(text)
        return (info[0] or text) if info else text

    def check(self, name: str | None, expression: str,
              columns: tuple[str, ...] = ()) -> ConstraintDef:
        info = self._check_info(expression)
        expr, column, values = expression, None, None
        if info:
            expr = info[0] or expression
            column, values = info[1], info[2]
        return ConstraintDef(kind="check", name=name, columns=columns, expression=expr,
                             enum_column=column, enum_values=values)

    def index_elements(self, text: str) -> list[IndexElement] | None:
        """The elements of a textual index expression (``sa.text("lower(email)")``), or
        None when the SQL reader is missing or cannot read them."""
        key, found = self._ask(f"index\0{text}")
        if found == _FAILED:
            return None
        if isinstance(found, tuple) and all(isinstance(e, IndexElement) for e in found):
            return list(found)
        sql = self.module()
        if sql is None:
            return None
        try:
            elements: tuple[IndexElement, ...] | str = tuple(sql.parse_index_elements(text))
        except Exception:
            elements = _FAILED
        self._keep(key, elements)
        return None if isinstance(elements, str) else list(elements)


#: a CHECK analysis: (expression, enum column, enum values), or () when it failed
_Check = tuple[()] | tuple[str | None, str | None, tuple[str, ...] | None]
#: the memo's value for index elements the SQL reader could not read
_FAILED = "failed"
#: what the SQL reader made of one text: operations, diagnostics, comments by offset
_Reading = tuple[list[Operation], list[Diagnostic], dict[int, str]]


def _offset(offset: int) -> Pos:
    """The position the SQL reader is given: each character's offset in the text, kept
    in the ``line`` of a location until :func:`_placed` puts it in the file."""
    return offset, 0


def _is_reading(found: object) -> bool:
    if not (isinstance(found, tuple) and len(found) == 3):
        return False
    operations, diagnostics, comments = found
    return (isinstance(operations, list) and isinstance(diagnostics, list)
            and isinstance(comments, dict)
            and all(isinstance(op, Operation) for op in operations)
            and all(isinstance(d, Diagnostic) for d in diagnostics))


def _is_check(found: object) -> bool:
    if found == ():
        return True
    return (isinstance(found, tuple) and len(found) == 3
            and all(v is None or isinstance(v, str) for v in found[:2])
            and (found[2] is None or isinstance(found[2], tuple)))


def _placed(reading: object, path: str,
            position: Callable[[int], Pos]) -> _Reading:
    """A reading by offsets (see :func:`_offset`) at its place in the file at ``path``:
    every location and comment line where ``position`` puts the character. Comments on
    one line are joined by a space, in the order the SQL reader found them, as it joins
    them itself when it is given the file's positions."""
    operations, diagnostics, comments = cast(_Reading, reading)
    moved: dict[Location, Location] = {}

    def place(loc: Location) -> Location:
        found = moved.get(loc)
        if found is None:
            line, column = position(loc.line)
            if loc.end_line is None:
                found = Location(path, line, column)
            else:
                end_line, end_column = position(loc.end_line)
                found = Location(path, line, column, end_line, end_column)
            moved[loc] = found
        return found

    # The reading is this call's own (just read and already kept, or just unpickled from
    # the memo), so its records are moved in place: ``dataclasses.replace`` made a copy
    # of each for 5.6 us, where the SQL reader takes 85 us per operation.
    for op in operations:
        object.__setattr__(op, "loc", place(op.loc))
    for diagnostic in diagnostics:
        object.__setattr__(diagnostic, "loc", place(diagnostic.loc))
    lines: dict[int, str] = {}
    for offset, part in comments.items():
        line = position(offset)[0]
        lines[line] = f"{lines[line]} {part}" if line in lines else part
    return operations, diagnostics, lines


def _literal(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _sequence_ddl(ddl: Node, emit: Emit) -> Operation | None:
    """``CreateSequence(Sequence("name"))`` / ``DropSequence(...)`` executed: the
    operation, when the sequence's name is written literally."""
    args = ddl.call.args
    if not args:
        return None
    target: object = args[0]
    if isinstance(target, ast.Name):
        target = ddl.env.get(target.id)
    elif isinstance(target, ast.Call):
        target = Node(target, ddl.env, "sqlalchemy.Sequence")
    if not isinstance(target, Node) or last_part(target.qual) != "Sequence":
        return None
    name = _literal(target.call.args[0]) if target.call.args else None
    schema_kw = next((k.value for k in target.call.keywords if k.arg == "schema"), None)
    schema = _literal(schema_kw)
    if name is None or (schema_kw is not None and schema is None):
        return None
    fields = op_fields(emit)
    if last_part(ddl.qual) == "CreateSequence":
        return CreateSequence(**fields, name=name, schema=schema)  # type: ignore[arg-type]
    return DropSequence(**fields, name=name, schema=schema)  # type: ignore[arg-type]
