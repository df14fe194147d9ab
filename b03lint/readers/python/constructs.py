"""SQLAlchemy constructs, read where they are used: ``sa.Column`` (with its type, server
default, inline foreign key, CHECK, ``unique``/``index``, ``Identity``), the types
(``sa.String(50)``, ``sa.Enum(...)``, ``postgresql.ARRAY(...)``), the table constraints
(``PrimaryKeyConstraint``, ``UniqueConstraint``, ``ForeignKeyConstraint``,
``CheckConstraint``, ``ExcludeConstraint``), ``sa.Index``, index elements, and
``sa.Enum(...).create(bind)`` / ``.drop(bind)``.

What SQLAlchemy renders is modelled as PostgreSQL receives it: the autoincrement column of
a table is a SERIAL (NOT NULL with the ``nextval(...)`` default PostgreSQL stores), and
``index=True`` gives ``ix_<table>_<column>``.
"""

from __future__ import annotations

import ast
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from b03lint.operations import (
    ColumnDef,
    ConstraintDef,
    ConstraintKind,
    CreateEnumType,
    CreateIndex,
    DropType,
    ForeignKeyRef,
    IndexElement,
    Operation,
    Phase,
)
from b03lint.readers.python.embedded_sql import EmbeddedSql, sql_text
from b03lint.readers.python.emit import Emit, unresolved
from b03lint.readers.python.evaluator import Evaluator
from b03lint.readers.python.source import Source
from b03lint.readers.python.text import FixedText, Text
from b03lint.readers.python.values import (
    MISSING,
    UNKNOWN,
    Dict,
    Env,
    Func,
    ModuleName,
    Node,
    Seq,
    TextClause,
    last_part,
    qual_of,
    text_of,
)
from b03lint.sqltypes import normalize_type, serial_default

if TYPE_CHECKING:
    from dataclasses import dataclass as record
else:  # the same classes, made without dataclasses' start-up cost (b03lint.records)
    from b03lint.records import record

_SA_TYPES: dict[str, str] = {
    "integer": "integer", "int": "integer", "int4": "integer",
    "biginteger": "bigint", "bigint": "bigint", "int8": "bigint",
    "smallinteger": "smallint", "smallint": "smallint",
    "boolean": "boolean", "bool": "boolean",
    "string": "varchar", "varchar": "varchar", "unicode": "varchar", "nvarchar": "varchar",
    "text": "text", "unicodetext": "text",
    "char": "char", "nchar": "char",
    "datetime": "timestamp", "timestamp": "timestamp",
    "date": "date", "time": "time", "interval": "interval",
    "numeric": "numeric", "decimal": "numeric",
    "float": "double precision", "real": "real", "double": "double precision",
    "double_precision": "double precision",
    "largebinary": "bytea", "bytea": "bytea", "binary": "bytea",
    "json": "json", "jsonb": "jsonb", "uuid": "uuid", "inet": "inet", "cidr": "cidr",
    "macaddr": "macaddr", "citext": "citext", "tsvector": "tsvector", "money": "money",
    "oid": "oid", "hstore": "hstore", "bit": "bit",
}


def _is_type(value: object) -> bool:
    qual = qual_of(value)
    if qual is None:
        return False
    last = last_part(qual)
    if last in ("ForeignKey", "CheckConstraint", "Identity", "Sequence", "Computed",
                "FetchedValue", "DefaultClause", "Index"):
        return False
    return last.lower() in _SA_TYPES or last.lower() in ("enum", "array") or (
        qual.startswith("sqlalchemy.") and last[:1].isupper()
    )


@record(slots=True)
class EnumInfo:
    name: str | None
    values: tuple[str, ...] | None
    schema: str | None
    create: bool
    node: ast.AST


@record(slots=True)
class ColumnRead:
    column: ColumnDef
    constraints: list[ConstraintDef]
    autoincrement: object


class Constructs:
    """SQLAlchemy constructs of one file, read with its evaluator and SQL reader."""

    def __init__(self, ev: Evaluator, sql: EmbeddedSql, src: Source) -> None:
        self.ev = ev
        self.sql = sql
        self.src = src

    def node_args(self, node: Node) -> tuple[list[object], dict[str, object], list[str]]:
        args: list[object] = []
        kwargs: dict[str, object] = {}
        unknown: list[str] = []
        for a in node.call.args:
            if isinstance(a, ast.Starred):
                value = self.ev.value(a.value, node.env)
                if isinstance(value, Seq):
                    args.extend(value.items)
                else:
                    unknown.append(self.src.segment(a))
            else:
                args.append(self.ev.value(a, node.env))
        for kw in node.call.keywords:
            if kw.arg is None:
                value = self.ev.value(kw.value, node.env)
                if isinstance(value, Dict) and all(isinstance(k, Text) for k, _ in value.items):
                    for k, v in value.items:
                        if isinstance(k, Text):
                            kwargs[k.text] = v
                else:
                    unknown.append(self.src.segment(kw.value))
            else:
                kwargs[kw.arg] = self.ev.value(kw.value, node.env)
        return args, kwargs, unknown

    def column(
        self,
        node: Node,
        table: str,
        emit: Emit,
        enums: list[EnumInfo],
        indexes: list[CreateIndex],
        schema: str | None,
    ) -> ColumnRead | None:
        """Read ``sa.Column(...)``: the column, the constraints written on it (named or
        not), and the index ``index=True`` asks for (into ``indexes``)."""
        args, kwargs, unknown = self.node_args(node)
        if unknown:
            emit.notes.append((f"column arguments not known statically: {', '.join(unknown)}",
                               node.call))
        name: str | None = text_of(kwargs.get("name"))
        type_value: object = kwargs.get("type_", MISSING)
        rest: list[object] = []
        for k, a in enumerate(args):
            if k == 0 and isinstance(a, Text):
                name = a.text
            elif type_value is MISSING and (_is_type(a) or (k == 1 and a is UNKNOWN)):
                type_value = a  # the second argument of Column is its type
            else:
                rest.append(a)
        if name is None:
            emit.notes.append(("a column's name is not known statically", node.call))
            return None
        col_type: str | None = None
        if type_value is not MISSING:
            col_type, enum, problem = self.column_type(type_value)
            if problem:
                emit.notes.append((f"column `{name}`: {problem}", node.call))
            if enum is not None:
                enums.append(enum)
        primary_key = kwargs.get("primary_key") is True
        nullable_value = kwargs.get("nullable", MISSING)
        if isinstance(nullable_value, bool):
            nullable = nullable_value
        else:
            if nullable_value is not MISSING and nullable_value is not None:
                emit.notes.append((f"column `{name}`: `nullable` is not known statically",
                                   node.call))
            nullable = not primary_key
        default: str | None = None
        if "server_default" in kwargs:
            default, ok = self.server_default(kwargs["server_default"])
            if not ok:
                emit.notes.append((f"column `{name}`: `server_default` is not known statically",
                                   node.call))
        unique = kwargs.get("unique") is True
        index = kwargs.get("index") is True
        references: ForeignKeyRef | None = None
        check: str | None = None
        identity = False
        generated: str | None = None
        constraints: list[ConstraintDef] = []
        for extra in rest:
            kind = last_part(extra.qual) if isinstance(extra, Node) else None
            if kind == "ForeignKey" and isinstance(extra, Node):
                fk = self._inline_fk(extra, name, emit)
                if fk is not None:
                    constraints.append(fk)
                    references = fk.references
            elif kind == "CheckConstraint" and isinstance(extra, Node):
                made = self.constraint(extra, emit, (name,))
                if made is not None:
                    constraints.append(made)
                    check = made.expression
            elif kind == "Identity":
                identity = True
                nullable = False
            elif kind == "Computed" and isinstance(extra, Node):
                # GENERATED ALWAYS AS (expr) STORED, in the SQL reader's spelling
                cargs, ckw, _ = self.node_args(extra)
                expression = sql_text(cargs[0] if cargs else ckw.get("sqltext"))
                if expression is None:
                    emit.notes.append((f"column `{name}`: the `Computed` expression is not "
                                       "SQL text known statically", extra.call))
                else:
                    generated = self.sql.expression(expression)
            elif kind in ("Sequence", "FetchedValue"):
                pass  # a client-side sequence, a value the server sets: no default we model
            elif kind == "DefaultClause" and isinstance(extra, Node):
                dargs, _dkw, _ = self.node_args(extra)
                if dargs:
                    default, _ok = self.server_default(dargs[0])
            else:
                emit.notes.append((f"column `{name}`: an argument is not understood",
                                   extra.call if isinstance(extra, Node) else node.call))
        if index:
            indexes.append(
                CreateIndex(
                    loc=self.src.loc(node.call), phase=emit.phase, source="python", via=emit.via,
                    name=f"ix_{table}_{name}", table=table,
                    elements=(IndexElement(expression=name),), unique=unique, schema=schema,
                )
            )
            unique = False  # the uniqueness lives in the unique index
        elif unique:
            constraints.append(ConstraintDef(kind="unique", name=None, columns=(name,)))
        autoincrement = kwargs.get("autoincrement", "auto")
        column = ColumnDef(
            name=name,
            type=col_type,
            nullable=nullable,
            default=default,
            primary_key=primary_key,
            unique=unique,
            references=references,
            check=check,
            identity=identity,
            generated=generated,
        )
        return ColumnRead(column, constraints, autoincrement)

    def serial(self, reads: list[ColumnRead], pk: set[str], table: str,
                schema: str | None, fk_columns: frozenset[str] = frozenset(),
                ) -> list[ColumnRead]:
        """SQLAlchemy renders the table's autoincrement column as SERIAL (a single integer
        primary-key column without a default, identity or foreign key, or one marked
        ``autoincrement=True``); give it the default PostgreSQL stores for a serial."""
        out: list[ColumnRead] = []
        for read in reads:
            col = read.column
            explicit = read.autoincrement is True
            auto = (read.autoincrement == "auto" and len(pk) == 1
                    and col.references is None and col.name not in fk_columns)
            if (
                col.name in pk
                and (explicit or auto)
                and col.type in ("integer", "bigint", "smallint")
                and col.default is None
                and not col.identity
                and col.generated is None
            ):
                col = replace_column(col, nullable=False,
                                      default=serial_default(schema, table, col.name))
                read = ColumnRead(col, read.constraints, read.autoincrement)
            out.append(read)
        return out

    def _inline_fk(self, node: Node, column: str, emit: Emit) -> ConstraintDef | None:
        args, kwargs, _ = self.node_args(node)
        target = text_of(args[0] if args else kwargs.get("column"))
        if target is None or "." not in target:
            emit.notes.append(("a ForeignKey target is not known statically", node.call))
            return None
        table, ref_column = target.rsplit(".", 1)
        ref = ForeignKeyRef(
            table=bare_public(table),
            columns=(ref_column,),
            on_delete=action_text(text_of(kwargs.get("ondelete"))),
            on_update=action_text(text_of(kwargs.get("onupdate"))),
        )
        return ConstraintDef(kind="foreign_key", name=text_of(kwargs.get("name")),
                             columns=(column,), references=ref,
                             deferrable=kwargs.get("deferrable") is True)

    def constraint(self, node: Node, emit: Emit,
                       own_columns: tuple[str, ...] = ()) -> ConstraintDef | None:
        kind = last_part(node.qual)
        args, kwargs, unknown = self.node_args(node)
        if unknown:
            emit.notes.append((f"`{kind}` arguments not known statically", node.call))
        name_value = kwargs.get("name")
        name = text_of(name_value)
        if name_value is not None and name is None:
            emit.notes.append((f"the name of a `{kind}` is not known statically", node.call))
        deferrable = kwargs.get("deferrable") is True
        if kind in ("PrimaryKeyConstraint", "UniqueConstraint"):
            columns = [self.ev.column_name(a) for a in args]
            if any(c is None for c in columns):
                emit.notes.append((f"`{kind}` columns are not known statically", node.call))
            ckind: ConstraintKind = "primary_key" if kind == "PrimaryKeyConstraint" else "unique"
            return ConstraintDef(kind=ckind, name=name,
                                 columns=tuple(c for c in columns if c is not None),
                                 deferrable=deferrable)
        if kind == "ForeignKeyConstraint":
            local = self.ev.names(args[0] if args else kwargs.get("columns"))
            remote = self.ev.names(args[1] if len(args) > 1 else kwargs.get("refcolumns"))
            if local is None or remote is None or not remote or "." not in remote[0]:
                emit.notes.append(("`ForeignKeyConstraint` columns are not known statically",
                                   node.call))
                return None
            ref_table = bare_public(remote[0].rsplit(".", 1)[0])
            ref = ForeignKeyRef(
                table=ref_table,
                columns=tuple(r.rsplit(".", 1)[-1] for r in remote),
                on_delete=action_text(text_of(kwargs.get("ondelete"))),
                on_update=action_text(text_of(kwargs.get("onupdate"))),
            )
            return ConstraintDef(kind="foreign_key", name=name, columns=local, references=ref,
                                 deferrable=deferrable)
        if kind == "CheckConstraint":
            expression = sql_text(args[0] if args else kwargs.get("sqltext"))
            if expression is None:
                emit.notes.append(("a CHECK condition is not SQL text known statically",
                                   node.call))
                return None
            return self.sql.check(name, expression, own_columns)
        if kind == "ExcludeConstraint":
            columns_ex: list[str] = []
            for element in args:
                first = element.items[0] if isinstance(element, Seq) and element.items else None
                column = self.ev.column_name(first) if first is not None else None
                if column is not None:
                    columns_ex.append(column)
            where = kwargs.get("where")
            return ConstraintDef(kind="exclude", name=name, columns=tuple(columns_ex),
                                 expression=sql_text(where) if where is not None else None,
                                 deferrable=deferrable)
        emit.notes.append((f"`{kind}` inside create_table is not understood", node.call))
        return None

    def table_index(self, node: Node, table: str, schema: str | None,
                  emit: Emit) -> CreateIndex | None:
        args, kwargs, unknown = self.node_args(node)
        if unknown:
            emit.notes.append(("`Index` arguments not known statically", node.call))
        name_value = args[0] if args else kwargs.get("name")
        name = text_of(name_value)
        if name_value is not None and name is None:
            emit.notes.append(("an index name is not known statically", node.call))
            return None
        save = emit.loc
        emit.loc = self.src.loc(node.call)
        try:
            index = self.index(name, table, args[1:], kwargs, schema, emit)
        finally:
            emit.loc = save
        if index.name is None and index.elements and not index.elements[0].is_expression:
            index = replace_index(index, f"ix_{table}_{index.elements[0].expression}")
        return index

    def index(
        self,
        name: str | None,
        table: str,
        items: list[object],
        options: dict[str, object],
        schema: str | None,
        emit: Emit,
    ) -> CreateIndex:
        elements: list[IndexElement] = []
        for item in items:
            elements.extend(self._index_elements(item, emit))
        ops = options.get("postgresql_ops")
        if isinstance(ops, Dict):
            opclasses = {text_of(k): text_of(v) for k, v in ops.items}
            elements = [
                replace_element(e, opclasses[e.expression])
                if opclasses.get(e.expression) else e
                for e in elements
            ]
        include_value = options.get("postgresql_include")
        include: tuple[str, ...] = ()
        if include_value is not None:
            names = self.ev.names(include_value)
            if names is None:
                emit.notes.append(("`postgresql_include` is not known statically", emit.node))
            else:
                include = names
        where_value = options.get("postgresql_where")
        where: str | None = None
        if where_value is not None:
            where = sql_text(where_value)
            if where is None:
                emit.notes.append(("`postgresql_where` is not SQL text known statically",
                                   emit.node))
        using = options.get("postgresql_using")
        method = (text_of(using) or "btree").lower() if using is not None else "btree"
        if using is not None and text_of(using) is None:
            emit.notes.append(("`postgresql_using` is not known statically", emit.node))

        def flag(key: str) -> bool:
            return options.get(key) is True

        return CreateIndex(
            loc=emit.loc,
            phase=emit.phase,
            source="python",
            via=emit.via,
            name=name,
            table=table,
            elements=tuple(elements),
            unique=flag("unique"),
            include=include,
            where=where,
            method=method,
            concurrently=flag("postgresql_concurrently"),
            if_not_exists=flag("if_not_exists"),
            schema=schema,
        )

    def _index_elements(self, item: object, emit: Emit) -> list[IndexElement]:
        if isinstance(item, Text):
            return [IndexElement(expression=item.text)]
        if isinstance(item, TextClause):
            elements = self.sql.index_elements(item.text.text)
            if elements is not None:
                return elements
            return [IndexElement(expression=item.text.text, is_expression=True)]
        if isinstance(item, Node):
            last = last_part(item.qual)
            args, _kw, _ = self.node_args(item)
            if last in ("desc", "asc") and args:
                inner = self._index_elements(args[0], emit)
                if len(inner) == 1:
                    return [replace_desc(inner[0], last == "desc")]
            if last in ("column", "literal_column") and args:
                text = text_of(args[0])
                if text is not None:
                    if last == "literal_column":
                        return self._index_elements(TextClause(FixedText(text, (0, 0))), emit)
                    return [IndexElement(expression=text)]
            method = item.call.func
            if isinstance(method, ast.Attribute) and method.attr in ("desc", "asc"):
                inner_value = self.ev.value(method.value, item.env)
                inner = self._index_elements(inner_value, emit)
                if len(inner) == 1:
                    return [replace_desc(inner[0], method.attr == "desc")]
        emit.notes.append(("an index element is not known statically", emit.node))
        return []

    def column_type(self, value: object) -> tuple[str | None, EnumInfo | None, str | None]:
        """A SQLAlchemy type as a normalised SQL type, its enum (if any), and a problem."""
        args: list[object]
        kwargs: dict[str, object]
        node: Node | None
        if isinstance(value, ModuleName):
            qual, args, kwargs, node = value.qual, [], {}, None
        elif isinstance(value, Node):
            qual = value.qual
            args, kwargs, _ = self.node_args(value)
            node = value
        else:
            return None, None, "the type is not known statically"
        last = last_part(qual)
        lower = last.lower()
        if lower == "enum":
            if node is None:
                return None, None, "`Enum` without values or name"
            info = self.enum_info(node)
            if info is None:
                return None, None, "the enum type is not known statically"
            if kwargs.get("native_enum") is False:
                values = info.values or ()
                length = kwargs.get("length")
                if not isinstance(length, int) and not values:
                    # VARCHAR(longest label): labels of an enum class are not known here
                    return None, None, None
                size = length if isinstance(length, int) else max(len(v) for v in values)
                return normalize_type("varchar", (size,)), None, None
            if info.name is None:
                return None, None, "the enum type has no name"
            return info.name, info, None
        if lower == "array":
            item = args[0] if args else kwargs.get("item_type")
            item_type, _enum, problem = self.column_type(item)
            if item_type is None:
                return None, None, problem or "the array item type is not known statically"
            dims = kwargs.get("dimensions")
            count = dims if isinstance(dims, int) and dims > 0 else 1
            return item_type + "[]" * count, None, None
        sql_name = _SA_TYPES.get(lower)
        if sql_name is None:
            if qual.startswith("sqlalchemy."):
                sql_name = lower
            else:
                return None, None, f"type `{last}` is not a SQLAlchemy type b03lint knows"
        mods: list[int | str] = []
        timezone = False
        if sql_name in ("varchar", "char", "bit"):
            length = args[0] if args else kwargs.get("length")
            if isinstance(length, int) and not isinstance(length, bool):
                mods = [length]
        elif sql_name == "numeric":
            precision = args[0] if args else kwargs.get("precision")
            scale = args[1] if len(args) > 1 else kwargs.get("scale")
            if isinstance(precision, int) and not isinstance(precision, bool):
                mods = [precision]
                if isinstance(scale, int) and not isinstance(scale, bool):
                    mods.append(scale)
        elif sql_name in ("timestamp", "time"):
            tz = args[0] if args else kwargs.get("timezone")
            timezone = tz is True
            precision = kwargs.get("precision")
            if isinstance(precision, int) and not isinstance(precision, bool):
                mods = [precision]
        elif sql_name == "double precision" and lower == "float":
            precision = args[0] if args else kwargs.get("precision")
            if isinstance(precision, int) and not isinstance(precision, bool) and precision <= 24:
                sql_name = "real"
        return normalize_type(sql_name, tuple(mods), timezone=timezone), None, None

    def enum_info(self, node: Node) -> EnumInfo | None:
        args, kwargs, unknown = self.node_args(node)
        if unknown:
            return None
        values: tuple[str, ...] | None
        texts = [text_of(a) for a in args]
        name = text_of(kwargs.get("name"))
        if args and all(t is not None for t in texts):
            values = tuple(t for t in texts if t is not None)
        elif not args:
            values = () if kwargs.get("create_type") is False else None
            if node.qual.endswith("ENUM") and name is not None and kwargs.get("create_type") \
                    is False:
                values = ()
        else:
            values = None
            if len(args) == 1 and isinstance(args[0], Func):
                if name is None:  # SQLAlchemy names the type after the class
                    name = args[0].name.lower()
                if "values_callable" not in kwargs:  # else the values are computed
                    values = _enum_members(args[0])
        schema = text_of(kwargs.get("schema"))
        create = kwargs.get("create_type") is not False
        return EnumInfo(name=name, values=values, schema=schema, create=create, node=node.call)

    def server_default(self, value: object) -> tuple[str | None, bool]:
        """A ``server_default`` as SQL text; ``(None, True)`` for an explicit None."""
        if value is None:
            return None, True
        if isinstance(value, Text):
            return "'" + value.text.replace("'", "''") + "'", True
        if isinstance(value, TextClause):
            return value.text.text, True
        if isinstance(value, bool):
            return ("true" if value else "false"), True
        if isinstance(value, (int, float)):
            return f"'{value}'", True
        if isinstance(value, Node):
            qual = value.qual
            last = last_part(qual)
            if ".func." in qual:
                args, _kw, unknown = self.node_args(value)
                rendered = [self._sql_literal(a) for a in args]
                if unknown or any(r is None for r in rendered):
                    return None, False
                return f"{last}({', '.join(r for r in rendered if r is not None)})", True
            if last in ("true", "false", "null"):
                return last if last != "null" else "NULL", True
            if last in ("literal_column", "DefaultClause"):
                args, _kw, _ = self.node_args(value)
                if args:
                    inner = args[0]
                    if last == "literal_column" and isinstance(inner, Text):
                        return inner.text, True
                    return self.server_default(inner)
            if last == "FetchedValue":
                return None, True
        return None, False

    def _sql_literal(self, value: object) -> str | None:
        if isinstance(value, Text):
            return "'" + value.text.replace("'", "''") + "'"
        if isinstance(value, TextClause):
            return value.text.text
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (int, float)):
            return str(value)
        if isinstance(value, Node):
            default, ok = self.server_default(value)
            return default if ok else None
        return None


    def construct_ddl(
        self,
        owner: Node,
        method: str,
        call: ast.Call,
        env: Env,
        phase: Phase,
        out: list[Operation],
    ) -> bool:
        """``sa.Enum(...).create(op.get_bind())`` / ``postgresql.ENUM(...).drop(bind)``."""
        via = f"{last_part(owner.qual)}.{method}"
        if last_part(owner.qual).lower() == "enum":
            info = self.enum_info(owner)
            if info is not None and info.name is not None:
                loc = self.src.loc(call)
                if method == "create":
                    if info.values is None:
                        unresolved(
                            self.src, out, phase, call,
                            f"values of enum type `{info.name}` come from a Python class "
                            "and are not read",
                        )
                        return False
                    out.append(CreateEnumType(loc=loc, phase=phase, via=via, name=info.name,
                                              values=info.values, schema=info.schema))
                else:
                    checkfirst = self.ev.keyword(call, "checkfirst", env)
                    out.append(DropType(loc=loc, phase=phase, via=via, name=info.name,
                                        if_exists=checkfirst is True, schema=info.schema))
                return True
        unresolved(
            self.src, out, phase, call,
            f"`.{method}()` on a SQLAlchemy `{last_part(owner.qual)}` object is not read",
        )
        return False


def action_text(value: str | None) -> str | None:
    """A foreign-key action as the SQL reader spells it; None for NO ACTION."""
    text = " ".join(value.upper().split()) if value else None
    return None if text == "NO ACTION" else text


def replace_column(column: ColumnDef, **changes: Any) -> ColumnDef:
    return replace(column, **changes)


def bare_public(table: str) -> str:
    return table[len("public."):] if table.startswith("public.") else table


def replace_index(index: CreateIndex, name: str) -> CreateIndex:
    return replace(index, name=name)


def replace_element(element: IndexElement, opclass: str | None) -> IndexElement:
    return replace(element, opclass=opclass)


def replace_desc(element: IndexElement, descending: bool) -> IndexElement:
    return replace(element, descending=descending)


def _enum_members(cls: Func) -> tuple[str, ...] | None:
    """The member names of an ``enum.Enum`` subclass defined in the file (what
    ``sa.Enum(TheClass)`` stores by default), or None when it is not one read statically."""
    node = cls.node
    if not isinstance(node, ast.ClassDef) or not any(
            (isinstance(b, ast.Name) and b.id.endswith("Enum"))
            or (isinstance(b, ast.Attribute) and b.attr.endswith("Enum")) for b in node.bases):
        return None
    names: list[str] = []
    for stmt in node.body:
        targets = (stmt.targets if isinstance(stmt, ast.Assign)
                   else [stmt.target] if isinstance(stmt, ast.AnnAssign) and stmt.value else [])
        for target in targets:
            if not isinstance(target, ast.Name):
                return None  # `a, b = ...` and the like: not read
            if not target.id.startswith("_"):
                names.append(target.id)
    return tuple(names) or None
