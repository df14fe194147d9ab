"""The canonical schema's YAML mirror (``db/schema/canonical_schema.yaml``), format version 1.

The format is documented in ``docs/canonical-yaml.md``. :func:`load_canonical_yaml` reads it
strictly into the same :class:`~b03lint.schema.model.Schema` the canonical SQL and the replay
produce: every unknown key, wrong type, dangling reference (a constraint, index, policy,
foreign key or invariant naming a table or column that does not exist) raises
:class:`~b03lint.schema.errors.CanonicalError` naming the line and the path inside the
document. Names left out get PostgreSQL's default names, so the YAML and the SQL of one
schema give equal ``Schema`` objects.

:func:`check_invariants` evaluates the declared structural invariants (guide section 4.3)
against any ``Schema`` (the replayed chain, the canonical SQL, a live catalog).

This module is on the ``check`` path: pglast is imported only inside the functions that
need it (CHECK analysis, index keys).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from b03lint.operations import ConstraintDef, ForeignKeyRef, IndexElement, Location
from b03lint.schema.depends import complete
from b03lint.schema.errors import CanonicalError
from b03lint.schema.invariants import (
    ALL_TENANT_SCOPED,
    INVARIANT_KINDS,
    InvariantKind,
    check_invariant,
    check_invariants,
)
from b03lint.schema.model import (
    Column,
    Index,
    Invariant,
    Origin,
    Policy,
    Schema,
    Table,
    default_index_name,
    quote_ident,
    quote_literal,
)
from b03lint.schema.replay import constraint_from_def
from b03lint.sqltypes import normalize_type
from b03lint.yamlio import Node, Reader, YamlError, parse

FORMAT_VERSION = 1

TOP_KEYS = ("version", "tables", "enums", "invariants")
TABLE_KEYS = ("schema", "tenant_scoped", "columns", "primary_key", "unique", "foreign_keys",
              "checks", "indexes", "rls", "policies")
COLUMN_KEYS = ("type", "nullable", "default", "identity")
PK_KEYS = ("name", "columns", "deferrable")
UNIQUE_KEYS = ("name", "columns", "deferrable")
FK_KEYS = ("name", "columns", "references", "on_delete", "on_update", "deferrable",
           "not_valid")
REF_KEYS = ("table", "columns")
CHECK_KEYS = ("name", "expression", "columns", "column", "values", "not_valid")
INDEX_KEYS = ("name", "columns", "include", "unique", "where", "method")
ELEMENT_KEYS = ("column", "expression", "order", "nulls", "opclass")
RLS_KEYS = ("enabled", "forced")
POLICY_KEYS = ("name", "command", "permissive", "roles", "using", "with_check")
INVARIANT_KEYS = ("id", "description", "kind", "object", "expect")

FK_ACTIONS = {"cascade": "CASCADE", "restrict": "RESTRICT", "set null": "SET NULL",
              "set default": "SET DEFAULT", "no action": None}
POLICY_COMMANDS = ("all", "select", "insert", "update", "delete")
# =========================================================================== loading


def _origin(path: str, node: Node, what: str) -> Origin:
    return Origin(Location(path, node.line, 0), None, what)



def enum_check_expression(column: str, values: Iterable[str]) -> str:
    """The CHECK expression an enum check declared by ``column`` + ``values`` stands for,
    spelled as the SQL reader spells ``CHECK (col IN (...))``."""
    return f"{quote_ident(column)} IN ({', '.join(quote_literal(v) for v in values)})"


class _Loader:
    def __init__(self, shown: str):
        self.path = shown
        self.r = Reader(shown)

    def err(self, node: Node, message: str) -> YamlError:
        return self.r.error(node, message)

    # ------------------------------------------------------------------ scalars

    def name(self, node: Node, what: str = "name") -> str:
        value = self.r.string(node)
        if not value.strip():
            raise self.err(node, f"{what} must not be empty")
        if value != value.strip():
            raise self.err(node, f"{what} {value!r} has leading or trailing whitespace")
        return value

    def text(self, node: Node | None) -> str | None:
        """SQL text (an expression, a predicate); None for null/absent."""
        if node is None or node.value is None:
            return None
        if not isinstance(node.value, str):
            raise self.err(node, f"expected SQL text as a string, found {node.value!r}")
        value = node.value.strip()
        if not value:
            raise self.err(node, "SQL text must not be empty (write null for none)")
        return value

    def free_mapping(self, node: Node) -> dict[str, Node]:
        """A mapping whose keys are names (tables, columns, enums), not format keys."""
        if node.value is None:
            return {}
        if not isinstance(node.value, dict):
            return self.r.mapping(node)  # raises "expected a mapping"
        return dict(node.value)

    def flag(self, node: Node | None, default: bool) -> bool:
        return default if node is None else self.r.boolean(node)

    def names(self, node: Node, what: str, *, allow_empty: bool = False) -> tuple[str, ...]:
        items = self.r.sequence(node)
        if not items and not allow_empty:
            raise self.err(node, f"{what} must not be empty")
        out: list[str] = []
        for item in items:
            value = self.name(item, what)
            if value in out:
                raise self.err(item, f"{value!r} is listed twice")
            out.append(value)
        return tuple(out)

    def columns_of(self, node: Node, table: Table, what: str = "column",
                   *, allow_empty: bool = False) -> tuple[str, ...]:
        cols = self.names(node, what, allow_empty=allow_empty)
        for item, col in zip(self.r.sequence(node), cols, strict=True):
            self.need_column(item, table, col)
        return cols

    def need_column(self, node: Node, table: Table, column: str) -> None:
        if column not in table.columns:
            raise self.err(node, f"column {column!r} is not a column of table {table.name} "
                                 f"(columns: {', '.join(table.columns) or 'none'})")

    # ------------------------------------------------------------------ document

    def load(self, text: str) -> Schema:
        root = parse(text, self.path)
        if root.value is None:
            raise self.err(root, "the canonical YAML is empty (expected `version: 1` and "
                                 "`tables:`)")
        top = self.r.mapping(root, required=("version", "tables"), optional=TOP_KEYS)
        if self.r.integer(top["version"]) != FORMAT_VERSION:
            raise self.err(top["version"], f"unsupported canonical YAML version "
                                           f"{top['version'].value} (expected "
                                           f"{FORMAT_VERSION})")
        schema = Schema(label="canonical YAML", path=self.path)
        tables = self.free_mapping(top["tables"])
        # first every table and its columns, so references may point forward
        bodies: dict[str, tuple[Node, dict[str, Node]]] = {}
        for tname, tnode in tables.items():
            self.name(Node(tname, tnode.line, tnode.where), "table name")
            body = self.r.mapping(tnode, required=("columns",), optional=TABLE_KEYS)
            table = Table(name=tname, origin=_origin(self.path, tnode, f"table {tname}"))
            if "schema" in body:
                table.schema = self.name(body["schema"], "schema")
            if "tenant_scoped" in body:
                table.tenant_scoped = self.r.boolean(body["tenant_scoped"])
            self.columns(table, body["columns"])
            schema.tables[tname] = table
            bodies[tname] = (tnode, body)
        if "enums" in top:
            self.enums(schema, top["enums"])
        for tname, (_tnode, body) in bodies.items():
            self.table_parts(schema, schema.tables[tname], body)
        if "invariants" in top:
            schema.invariants = self.invariants(schema, top["invariants"])
        complete(schema)
        return schema

    def enums(self, schema: Schema, node: Node) -> None:
        for name, values_node in self.free_mapping(node).items():
            self.name(Node(name, values_node.line, values_node.where), "enum name")
            schema.enums[name] = self.names(values_node, "enum value")

    def columns(self, table: Table, node: Node) -> None:
        for cname, cnode in self.free_mapping(node).items():
            self.name(Node(cname, cnode.line, cnode.where), "column name")
            spec = self.r.mapping(cnode, required=("type",), optional=COLUMN_KEYS)
            type_text = self.r.string(spec["type"])
            if not type_text.strip():
                raise self.err(spec["type"], "type must not be empty")
            default_node = spec.get("default")
            default: str | None
            if default_node is None or default_node.value is None:
                default = None
            elif isinstance(default_node.value, bool):
                default = "true" if default_node.value else "false"
            elif isinstance(default_node.value, int):
                default = str(default_node.value)
            elif isinstance(default_node.value, float):
                raise self.err(default_node, f"YAML reads this default as the number "
                                             f"{default_node.value!r}; quote the SQL text "
                                             "exactly as written (for example '1.000')")
            else:
                default = self.text(default_node)
            identity = self.flag(spec.get("identity"), False)
            nullable = self.flag(spec.get("nullable"), True)
            if identity and "nullable" in spec and nullable:
                raise self.err(spec["nullable"], "an identity column is always NOT NULL")
            if identity and default is not None:
                raise self.err(default_node or cnode, "an identity column cannot also have "
                                                      "a default")
            table.columns[cname] = Column(
                name=cname, type=normalize_type(type_text), nullable=nullable and not identity,
                default=default, identity=identity,
                origin=_origin(self.path, cnode, f"column {table.name}.{cname}"))

    # ------------------------------------------------------------------ constraints

    def add(self, table: Table, node: Node, cdef: ConstraintDef) -> None:
        con = constraint_from_def(table.name, cdef, _origin(
            self.path, node, f"{cdef.kind.replace('_', ' ')} constraint on {table.name}"))
        if con.name in table.constraints:
            first = table.constraints[con.name].origin
            where = f" (first at line {first.loc.line})" if first else ""
            raise self.err(node, f"constraint {con.name} is declared twice on {table.name}"
                                 f"{where}")
        table.constraints[con.name] = con

    def optional_name(self, m: dict[str, Node]) -> str | None:
        return self.name(m["name"]) if m.get("name") is not None and \
            m["name"].value is not None else None

    def table_parts(self, schema: Schema, table: Table, body: dict[str, Node]) -> None:
        if "primary_key" in body:
            node = body["primary_key"]
            m = self.r.mapping(node, required=("columns",), optional=PK_KEYS)
            cols = self.columns_of(m["columns"], table)
            for item, col in zip(self.r.sequence(m["columns"]), cols, strict=True):
                if _declares_nullable(body["columns"], col):
                    raise self.err(item, f"primary-key column {col} is declared "
                                         "`nullable: true`; a primary key is always NOT NULL")
                table.columns[col].nullable = False
            self.add(table, node, ConstraintDef(
                kind="primary_key", name=self.optional_name(m), columns=cols,
                deferrable=self.flag(m.get("deferrable"), False)))
        for node in self.items(body.get("unique")):
            m = self.r.mapping(node, required=("columns",), optional=UNIQUE_KEYS)
            self.add(table, node, ConstraintDef(
                kind="unique", name=self.optional_name(m),
                columns=self.columns_of(m["columns"], table),
                deferrable=self.flag(m.get("deferrable"), False)))
        for node in self.items(body.get("foreign_keys")):
            self.foreign_key(schema, table, node)
        for node in self.items(body.get("checks")):
            self.check(table, node)
        for node in self.items(body.get("indexes")):
            self.index(schema, table, node)
        if "rls" in body:
            m = self.r.mapping(body["rls"], optional=RLS_KEYS)
            table.rls_enabled = self.flag(m.get("enabled"), False)
            table.rls_forced = self.flag(m.get("forced"), False)
            table.rls_origin = _origin(self.path, body["rls"], f"row level security of "
                                                                f"{table.name}")
        for node in self.items(body.get("policies")):
            self.policy(table, node)

    def items(self, node: Node | None) -> list[Node]:
        if node is None or node.value is None:
            return []
        return self.r.sequence(node)

    def foreign_key(self, schema: Schema, table: Table, node: Node) -> None:
        m = self.r.mapping(node, required=("columns", "references"), optional=FK_KEYS)
        cols = self.columns_of(m["columns"], table)
        ref = self.r.mapping(m["references"], required=("table",), optional=REF_KEYS)
        ref_name = self.name(ref["table"], "referenced table")
        target = _find_table(schema, ref_name)
        if target is None:
            raise self.err(ref["table"], f"foreign key references table {ref_name!r}, which "
                                         "is not in `tables`")
        ref_cols: tuple[str, ...] = ()
        if "columns" in ref:
            ref_cols = self.columns_of(ref["columns"], target, "referenced column",
                                       allow_empty=True)
        if ref_cols and len(ref_cols) != len(cols):
            raise self.err(ref["columns"], f"the foreign key has {len(cols)} column(s) but "
                                           f"references {len(ref_cols)}")
        actions: dict[str, str | None] = {}
        for key in ("on_delete", "on_update"):
            action_node = m.get(key)
            if action_node is None or action_node.value is None:
                actions[key] = None
                continue
            word = " ".join(self.r.string(action_node).lower().replace("_", " ").split())
            if word not in FK_ACTIONS:
                raise self.err(action_node, f"expected one of CASCADE, RESTRICT, SET NULL, "
                                            f"SET DEFAULT, NO ACTION, found "
                                            f"{action_node.value!r}")
            actions[key] = FK_ACTIONS[word]
        self.add(table, node, ConstraintDef(
            kind="foreign_key", name=self.optional_name(m), columns=cols,
            references=ForeignKeyRef(table=ref_name, columns=ref_cols,
                                     on_delete=actions["on_delete"],
                                     on_update=actions["on_update"]),
            deferrable=self.flag(m.get("deferrable"), False),
            not_valid=self.flag(m.get("not_valid"), False)))

    def check(self, table: Table, node: Node) -> None:
        from b03lint.readers.sql import analyze_check

        m = self.r.mapping(node, optional=CHECK_KEYS)
        expression = self.text(m.get("expression"))
        columns: tuple[str, ...] = ()
        if "columns" in m:
            columns = self.columns_of(m["columns"], table, allow_empty=True)
            if len(columns) > 1:
                raise self.err(m["columns"], "`columns` of a CHECK names the one column it "
                                             "was declared on (`a integer CHECK (...)`)")
        enum_column: str | None = None
        enum_values: tuple[str, ...] | None = None
        if "values" in m or "column" in m:
            if "column" not in m:
                raise self.err(node, "an enum CHECK with `values` needs `column`")
            if "values" not in m:
                raise self.err(m["column"], "an enum CHECK with `column` needs `values`")
            enum_column = self.name(m["column"], "column")
            self.need_column(m["column"], table, enum_column)
            enum_values = self.names(m["values"], "value")
            if expression is None:
                expression = enum_check_expression(enum_column, enum_values)
            else:
                info = analyze_check(expression)
                if info.column != enum_column or set(info.values or ()) != set(enum_values):
                    found = (f"restricts {info.column} to ({', '.join(info.values)})"
                             if info.column and info.values else "is not a value list")
                    raise self.err(m["expression"], f"the expression {found}, but `column` / "
                                                    f"`values` say {enum_column} in "
                                                    f"({', '.join(enum_values)})")
        elif expression is None:
            raise self.err(node, "a CHECK needs `expression`, or `column` and `values`")
        else:
            info = analyze_check(expression)
            if info.column is not None and info.values is not None:
                if info.column not in table.columns:
                    raise self.err(m["expression"], f"the expression names column "
                                                    f"{info.column!r}, which is not a column "
                                                    f"of table {table.name}")
                enum_column, enum_values = info.column, info.values
        self.add(table, node, ConstraintDef(
            kind="check", name=self.optional_name(m), columns=columns, expression=expression,
            enum_column=enum_column, enum_values=enum_values,
            not_valid=self.flag(m.get("not_valid"), False)))

    # ------------------------------------------------------------------ indexes, policies

    def element(self, table: Table, node: Node) -> IndexElement:
        from b03lint.readers.sql import parse_index_elements

        if isinstance(node.value, str):
            try:
                parsed = parse_index_elements(node.value)
            except ValueError as exc:
                raise self.err(node, f"not an index key: {exc}") from None
            if len(parsed) != 1:
                raise self.err(node, "one index key per list item (found "
                                     f"{len(parsed)}); write each key as its own item")
            element = parsed[0]
        else:
            m = self.r.mapping(node, optional=ELEMENT_KEYS)
            if ("column" in m) == ("expression" in m):
                raise self.err(node, "an index key needs exactly one of `column` and "
                                     "`expression`")
            if "column" in m:
                element = IndexElement(expression=self.name(m["column"], "column"))
            else:
                text = self.text(m["expression"]) or ""
                try:
                    parsed = parse_index_elements(f"({text})")
                except ValueError as exc:
                    raise self.err(m["expression"], f"not an index expression: {exc}") \
                        from None
                element = parsed[0]
            descending = False
            if "order" in m:
                descending = self.r.choice(m["order"], ("asc", "desc")) == "desc"
            nulls: Literal["first", "last"] | None = None
            if "nulls" in m:
                written = self.r.choice(m["nulls"], ("first", "last"))
                # recorded only when it differs from the default for the direction, as the
                # SQL reader and pg_get_indexdef do
                if written == "first" and not descending:
                    nulls = "first"
                elif written == "last" and descending:
                    nulls = "last"
            opclass = self.name(m["opclass"], "opclass") if "opclass" in m else None
            element = IndexElement(expression=element.expression, descending=descending,
                                   nulls=nulls, is_expression=element.is_expression,
                                   opclass=opclass)
        if not element.is_expression:
            self.need_column(node, table, element.expression)
        return element

    def index(self, schema: Schema, table: Table, node: Node) -> None:
        m = self.r.mapping(node, required=("columns",), optional=INDEX_KEYS)
        keys = self.r.sequence(m["columns"])
        if not keys:
            raise self.err(m["columns"], "an index needs at least one key")
        elements = tuple(self.element(table, k) for k in keys)
        include = self.columns_of(m["include"], table, allow_empty=True) \
            if "include" in m else ()
        method = "btree"
        if "method" in m:
            method = self.name(m["method"], "method").lower()
        name = self.optional_name(m) or default_index_name(
            table.name, tuple(e.expression for e in elements if not e.is_expression))
        if name in schema.indexes:
            first = schema.indexes[name]
            line = f" (first at line {first.origin.loc.line})" if first.origin else ""
            raise self.err(m.get("name") or node, f"index {name} is declared twice{line}")
        schema.indexes[name] = Index(
            name=name, table=table.name, elements=elements,
            unique=self.flag(m.get("unique"), False), include=include,
            where=self.text(m.get("where")), method=method,
            origin=_origin(self.path, node, f"index {name}"))

    def policy(self, table: Table, node: Node) -> None:
        m = self.r.mapping(node, required=("name",), optional=POLICY_KEYS)
        name = self.name(m["name"], "policy name")
        if name in table.policies:
            raise self.err(m["name"], f"policy {name} is declared twice on {table.name}")
        command = "all"
        if "command" in m:
            command = self.r.string(m["command"]).lower()
            if command not in POLICY_COMMANDS:
                raise self.err(m["command"], f"expected one of {', '.join(POLICY_COMMANDS)}, "
                                             f"found {m['command'].value!r}")
        roles: tuple[str, ...] = ("public",)
        if "roles" in m:
            roles = self.names(m["roles"], "role")
        table.policies[name] = Policy(
            name=name, table=table.name, command=command,
            permissive=self.flag(m.get("permissive"), True), roles=roles,
            using=self.text(m.get("using")), with_check=self.text(m.get("with_check")),
            origin=_origin(self.path, node, f"policy {name} on {table.name}"))

    # ------------------------------------------------------------------ invariants

    def invariants(self, schema: Schema, node: Node) -> list[Invariant]:
        out: list[Invariant] = []
        seen: dict[str, int] = {}
        for item in self.items(node):
            m = self.r.mapping(item, required=("id", "kind", "object"),
                               optional=INVARIANT_KEYS)
            ident = self.name(m["id"], "id")
            if ident in seen:
                raise self.err(m["id"], f"invariant id {ident} is used twice (first at line "
                                        f"{seen[ident]})")
            seen[ident] = m["id"].line
            kind_name = self.r.choice(m["kind"], tuple(INVARIANT_KINDS))
            kind = INVARIANT_KINDS[kind_name]
            obj = self.name(m["object"], "object")
            self.invariant_object(schema, kind, obj, m["object"])
            expect: list[tuple[str, Any]] = []
            if "expect" in m and m["expect"].value is not None:
                em = self.r.mapping(m["expect"], required=kind.required,
                                    optional=kind.optional)
                for key, value_node in em.items():
                    expect.append((key, self.expect_value(schema, kind, obj, key,
                                                          value_node)))
            elif kind.required:
                raise self.err(item, f"invariant kind {kind_name} needs `expect` with "
                                     f"{', '.join(kind.required)}")
            out.append(Invariant(
                id=ident, description=self.r.optional_string(m.get("description")) or "",
                kind=kind_name, object=obj, expect=tuple(expect),
                origin=_origin(self.path, item, f"invariant {ident}")))
        return out

    def invariant_object(self, schema: Schema, kind: InvariantKind, obj: str,
                         node: Node) -> None:
        if kind.object == "index":
            if obj not in schema.indexes:
                raise self.err(node, f"index {obj!r} is not declared in `tables`")
            return
        if kind.object == "table":
            if obj != ALL_TENANT_SCOPED and obj not in schema.tables:
                raise self.err(node, f"table {obj!r} is not in `tables` (or write "
                                     f"{ALL_TENANT_SCOPED!r} for every tenant-scoped table)")
            return
        table_name, dot, rest = obj.partition(".")
        if not dot or not rest:
            raise self.err(node, f"expected `table.{kind.object}`, found {obj!r}")
        table = schema.tables.get(table_name)
        if table is None:
            raise self.err(node, f"table {table_name!r} is not in `tables`")
        if kind.object == "column":
            self.need_column(node, table, rest)
        elif rest not in table.constraints:
            raise self.err(node, f"constraint {rest!r} is not declared on table {table_name} "
                                 f"(constraints: {', '.join(table.constraints) or 'none'})")

    def expect_value(self, schema: Schema, kind: InvariantKind, obj: str, key: str,
                     node: Node) -> Any:
        if key in ("nullable", "forced", "policy"):
            return self.r.boolean(node)
        if key == "type":
            return normalize_type(self.r.string(node))
        if key == "kind":
            return self.r.choice(node, ("check", "unique", "primary_key", "foreign_key",
                                        "exclude"))
        if key == "table":
            name = self.name(node, "table")
            if name not in schema.tables:
                raise self.err(node, f"table {name!r} is not in `tables`")
            return name
        if key == "constraint":
            name = self.name(node, "constraint")
            table = schema.tables[obj.partition(".")[0]]
            if name not in table.constraints:
                raise self.err(node, f"constraint {name!r} is not declared on table "
                                     f"{table.name}")
            return name
        if key == "values":
            return self.names(node, "value")
        if key == "include":
            return self.names(node, "column", allow_empty=True)
        if key == "columns":
            from b03lint.readers.sql import parse_index_elements

            keys = self.names(node, "index key")
            for item, text in zip(self.r.sequence(node), keys, strict=True):
                try:
                    if len(parse_index_elements(text)) != 1:
                        raise ValueError("one key per item")
                except ValueError as exc:
                    raise self.err(item, f"not an index key: {exc}") from None
            return keys
        raise self.err(node, f"unexpected key {key!r}")  # pragma: no cover - guarded above


def _declares_nullable(columns_node: Node, column: str) -> bool:
    spec = columns_node.value.get(column) if isinstance(columns_node.value, dict) else None
    if spec is None or not isinstance(spec.value, dict):
        return False
    flag = spec.value.get("nullable")
    return flag is not None and flag.value is True


def _find_table(schema: Schema, name: str) -> Table | None:
    found = schema.tables.get(name)
    if found is not None:
        return found
    for table in schema.tables.values():
        if table.schema and f"{table.schema}.{table.name}" == name:
            return table
    return None


def load_canonical_yaml(text: str, shown: str) -> Schema:
    """Read canonical YAML text into a :class:`Schema`; ``shown`` is the path used in
    origins and errors. Raises :class:`CanonicalError` (with the line, and the path inside
    the document in the message) for anything that is not valid format-1 YAML."""
    try:
        return _Loader(shown).load(text)
    except YamlError as exc:
        raise CanonicalError(str(exc), exc.path, exc.line) from None


__all__ = [
    "ALL_TENANT_SCOPED",
    "FORMAT_VERSION",
    "INVARIANT_KINDS",
    "InvariantKind",
    "check_invariant",
    "check_invariants",
    "enum_check_expression",
    "load_canonical_yaml",
    "quote_ident",
    "quote_literal",
]
