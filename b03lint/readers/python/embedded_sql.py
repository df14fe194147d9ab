"""SQL inside the migration: what ``op.execute`` / ``conn.execute`` / ``exec_driver_sql``
run, CHECK conditions and textual index elements, handed to the SQL reader.

The SQL reader (``b03lint.readers.sql``, which imports pglast) is imported lazily, only
for a file that has SQL, a CHECK constraint or a textual index element. Each character of
the SQL keeps the position where it is written in the ``.py`` file. The per-file SQL
budget lives here, the layer it protects.
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
    MigrationFile,
    Operation,
    Phase,
)
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

    def __init__(self, path: str, data: bytes, mf: MigrationFile) -> None:
        self.path = path
        self.size = len(data)
        self.mf = mf
        self._module: object = None
        #: characters of SQL still to be read in this file
        self._budget = max(SQL_BUDGET, SQL_BUDGET_FACTOR * len(data))

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
        sql = self.module()
        if sql is None:
            raise Unreadable("the SQL reader is not available")
        if len(text.text) > self._budget:
            raise Unreadable(
                "not read: this file's SQL would exceed "
                f"{max(SQL_BUDGET, SQL_BUDGET_FACTOR * self.size):,} characters "
                "(the same SQL executed many times over?)"
            )
        self._budget -= len(text.text)
        source = text

        def position(offset: int) -> Pos:
            return source.position(offset)

        result = sql.read_sql(text.text, path=self.path, position=position, phase=emit.phase,
                              via=emit.via, template=template)
        emit.out.extend(result.operations)
        self.mf.diagnostics.extend(result.diagnostics)
        merge_comments(self.mf.comments, result.comments)

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

    def expression(self, text: str) -> str:
        """An expression in the SQL reader's one spelling (as it deparses CHECKs and
        generated columns); the text itself when the SQL reader cannot read it."""
        sql = self.module()
        if sql is None:
            return text
        try:
            return sql.analyze_check(text).expression or text
        except Exception:
            return text

    def check(self, name: str | None, expression: str,
               columns: tuple[str, ...] = ()) -> ConstraintDef:
        sql = self.module()
        expr, column, values = expression, None, None
        if sql is not None:
            try:
                info = sql.analyze_check(expression)
            except Exception:
                info = None
            if info is not None:
                expr = info.expression or expression
                column = info.column
                values = tuple(info.values) if info.values is not None else None
        return ConstraintDef(kind="check", name=name, columns=columns, expression=expr,
                             enum_column=column, enum_values=values)


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
