"""Expressions on their own: CHECK analysis (a column restricted to a set of values),
the canonical spelling of expressions and defaults used to compare SQL, SQLAlchemy and
the catalog, and index elements (``created_at DESC``, ``lower(email)``)."""

from __future__ import annotations

import functools
import re
from collections.abc import Collection
from typing import TYPE_CHECKING, Any, Literal

from pglast import ast, enums
from pglast.parser import ParseError

from b03lint.operations import IndexElement
from b03lint.readers.sql.deparse import deparse, name_list, type_spelling
from b03lint.readers.sql.lexer import DETAIL_RE, events, sanitize
from b03lint.readers.sql.parse import parse_sql

if TYPE_CHECKING:
    from dataclasses import dataclass as record
else:  # the same classes, made without dataclasses' start-up cost (b03lint.records)
    from b03lint.records import record


@record(frozen=True, slots=True)
class CheckInfo:
    """A CHECK expression, analysed.

    ``expression`` is the input deparsed in this module's one spelling (case, whitespace,
    parentheses and type names settled; ``IN`` stays ``IN``) -- exactly what
    ``ConstraintDef.expression`` holds when :func:`read_sql` reads the same CHECK, so readers
    agree; compare expressions of different origins with :func:`normalize_expression`,
    which also rewrites the catalog's forms. When the expression
    restricts one column to a set of constants (``col IN ('a', 'b')``,
    ``col = ANY (ARRAY['a', 'b'])``, the catalog's
    ``(col)::text = ANY ((ARRAY['a'::varchar, ...])::text[])``, or ``col = 'a' OR col = 'b'``,
    optionally ``OR col IS NULL``, which a CHECK allows anyway) ``column`` and ``values`` (in
    written order) hold it; otherwise both are None.
    """

    expression: str
    column: str | None = None
    values: tuple[str, ...] | None = None


# =========================================================================== CHECK analysis


def _strip_casts(node: Any) -> Any:
    while isinstance(node, ast.TypeCast):
        node = node.arg
    return node


def _column_of(node: Any) -> str | None:
    node = _strip_casts(node)
    if isinstance(node, ast.ColumnRef):
        fields = node.fields or ()
        if fields and all(isinstance(f, ast.String) for f in fields):
            return str(fields[-1].sval)
    return None


def _const_value(node: Any) -> str | None:
    node = _strip_casts(node)
    if not isinstance(node, ast.A_Const) or node.isnull:
        return None
    val = node.val
    if isinstance(val, ast.String):
        return str(val.sval)
    if isinstance(val, ast.Integer):
        return str(val.ival or 0)
    if isinstance(val, ast.Float):
        return str(val.fval)
    if isinstance(val, ast.Boolean):
        return "true" if val.boolval else "false"
    return None


def operator_name(node: Any) -> str:
    return ".".join(name_list(node.name))


def value_set(node: Any) -> tuple[str, tuple[str, ...]] | None:
    """(column, values) when ``node`` restricts one column to a set of constants."""
    if isinstance(node, ast.A_Expr) and operator_name(node) == "=":
        column = _column_of(node.lexpr)
        if column is None:
            return None
        items: Any
        if node.kind == enums.A_Expr_Kind.AEXPR_IN:
            items = node.rexpr
        elif node.kind == enums.A_Expr_Kind.AEXPR_OP_ANY:
            array = _strip_casts(node.rexpr)
            if not isinstance(array, ast.A_ArrayExpr):
                return None
            items = array.elements
        elif node.kind == enums.A_Expr_Kind.AEXPR_OP:
            items = (node.rexpr,)
        else:
            return None
        values = [_const_value(item) for item in items or ()]
        if not values or any(v is None for v in values):
            return None
        return column, tuple(v for v in values if v is not None)
    if isinstance(node, ast.BoolExpr) and node.boolop == enums.BoolExprType.OR_EXPR:
        column_seen: str | None = None
        collected: list[str] = []
        nulls: list[str | None] = []
        for arg in node.args or ():
            if isinstance(arg, ast.NullTest) and arg.nulltesttype == enums.NullTestType.IS_NULL:
                # a CHECK passes for NULL anyway: "col IS NULL OR col IN (...)" is the set
                nulls.append(_column_of(arg.arg))
                continue
            part = value_set(arg)
            if part is None or (column_seen is not None and part[0] != column_seen):
                return None
            column_seen = part[0]
            collected.extend(part[1])
        if column_seen is None or any(n != column_seen for n in nulls):
            return None
        return column_seen, tuple(collected)
    return None


# =========================================================================== expression helpers

_TEXT_TYPES = {"text", "varchar"}
_INT_LITERAL_TYPES = {"integer", "bigint", "smallint", "numeric", "real", "double precision"}
_NUMBER_RE = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?")
_BOOL_WORDS = {
    "t": True, "true": True, "y": True, "yes": True, "on": True, "1": True,
    "f": False, "false": False, "n": False, "no": False, "off": False, "0": False,
}


def parse_expr(expr: str) -> Any:
    """The expression node of ``SELECT <expr>``, or None if ``expr`` is not one
    expression."""
    text = expr.strip()
    match = re.fullmatch(r"(?is)check\s*(\(.*\))\s*(?:not\s+valid)?", text)
    if match:
        text = match.group(1)
    if not text:
        return None
    try:
        stmts = parse_sql("SELECT " + sanitize(text))
    except Exception:
        return None
    if len(stmts) != 1:
        return None
    select = stmts[0].stmt
    if not isinstance(select, ast.SelectStmt) or select.fromClause or select.whereClause:
        return None
    targets = select.targetList or ()
    if len(targets) != 1 or targets[0].name:
        return None
    return targets[0].val


def _collapse(expr: str) -> str:
    return " ".join(expr.split())


def is_string_const(node: Any) -> bool:
    return isinstance(node, ast.A_Const) and not node.isnull and isinstance(node.val, ast.String)


def _plain_type(tn: Any) -> str | None:
    """Normalised type of a cast when it has no typmods, else None."""
    if tn is None or tn.typmods:
        return None
    return type_spelling(tn)


def _canon(node: Any, text_columns: Collection[str]) -> Any:
    """Rewrite ``node`` (freshly parsed, so mutated in place) to canonical form."""
    if isinstance(node, ast.Node):
        for attr in node:
            value = getattr(node, attr)
            if isinstance(value, ast.Node):
                setattr(node, attr, _canon(value, text_columns))
            elif isinstance(value, tuple) and any(isinstance(v, ast.Node) for v in value):
                setattr(node, attr, tuple(
                    _canon(v, text_columns) if isinstance(v, ast.Node) else v for v in value
                ))
    if isinstance(node, ast.TypeCast):
        target = _plain_type(node.typeName)
        arg = node.arg
        if target in _TEXT_TYPES and is_string_const(arg):
            return arg
        if target in {"text[]", "varchar[]"} and isinstance(arg, ast.A_ArrayExpr) and all(
            is_string_const(e) for e in arg.elements or ()
        ):
            return arg
        if target in _INT_LITERAL_TYPES and isinstance(arg, ast.A_Const) and isinstance(
            arg.val, ast.Integer
        ):
            return arg
        if target == "numeric" and isinstance(arg, ast.A_Const) and isinstance(arg.val, ast.Float):
            return arg
        if target in _TEXT_TYPES and text_columns and _column_of(arg) in text_columns:
            return arg
        return node
    if isinstance(node, ast.A_Expr) and node.kind == enums.A_Expr_Kind.AEXPR_IN:
        op = operator_name(node)
        kind = enums.A_Expr_Kind.AEXPR_OP_ANY if op == "=" else enums.A_Expr_Kind.AEXPR_OP_ALL
        return ast.A_Expr(
            kind=kind, name=node.name, lexpr=node.lexpr,
            rexpr=ast.A_ArrayExpr(elements=tuple(node.rexpr or ()), location=node.location),
            location=node.location,
        )
    if isinstance(node, ast.SQLValueFunction) and node.op == (
        enums.SQLValueFunctionOp.SVFOP_CURRENT_TIMESTAMP
    ):
        return _now_call()
    if isinstance(node, ast.FuncCall) and not node.args and name_list(node.funcname) in (
        ["transaction_timestamp"], ["pg_catalog", "transaction_timestamp"], ["pg_catalog", "now"]
    ):
        return _now_call()
    return node


def _now_call() -> Any:
    return ast.FuncCall(
        funcname=(ast.String(sval="now"),), agg_within_group=False, agg_star=False,
        agg_distinct=False, func_variadic=False,
        funcformat=enums.CoercionForm.COERCE_EXPLICIT_CALL,
    )


@functools.lru_cache(maxsize=4096)
def _normalize_expression_cached(expr: str, text_columns: frozenset[str]) -> str:
    node = parse_expr(expr)
    if node is None:
        return _collapse(expr)
    try:
        return deparse(_canon(node, text_columns))
    except Exception:
        return _collapse(expr)


def normalize_expression(expr: str, *, text_columns: Collection[str] = ()) -> str:
    """One canonical spelling of a SQL expression, for comparing expressions from SQL,
    SQLAlchemy and the catalog. ``CHECK (...)`` / ``NOT VALID`` wrappers (as
    ``pg_get_constraintdef`` prints them) are accepted.

    What it does, each step meaning-preserving:

    - parse and deparse: case of keywords and unquoted names, whitespace and redundant
      parentheses disappear (``NOW()`` == ``now()``, ``((a > 0))`` == ``a > 0``); casts
      print as ``x::type`` with normalised type names (``character varying`` == ``varchar``);
    - ``x IN (a, b)`` -> ``x = ANY (ARRAY[a, b])`` and ``NOT IN`` -> ``<> ALL (...)``,
      which is what PostgreSQL stores;
    - ``CURRENT_TIMESTAMP``, ``transaction_timestamp()`` -> ``now()`` (same function);
    - casts PostgreSQL adds to plain literals are dropped where the cast cannot change the
      value: a string literal to ``text``/``varchar`` (no length), an array of string literals
      to ``text[]``/``varchar[]``, an integer literal to an integer/numeric/float type, a
      decimal literal to ``numeric`` (no typmod);
    - casts of the columns named in ``text_columns`` to ``text``/``varchar`` are dropped: the
      caller asserts those columns are text-like, where the cast is a no-op (the catalog
      writes ``(status)::text`` for a varchar column).

    Text that is not a single expression comes back with whitespace collapsed.
    """
    return _normalize_expression_cached(expr, frozenset(text_columns))


@functools.lru_cache(maxsize=4096)
def _normalize_default_cached(expr: str, column_type: str | None) -> str:
    node = parse_expr(expr)
    if node is None:
        return _collapse(expr)
    try:
        node = _canon(node, frozenset())
        # the default is coerced to the column's type anyway: a cast of a literal (to that
        # type, which is what the catalog adds) says nothing more
        while isinstance(node, ast.TypeCast) and isinstance(node.arg, ast.A_Const):
            node = node.arg
        if is_string_const(node):
            value = str(node.val.sval)
            if column_type == "boolean" and value.strip().lower() in _BOOL_WORDS:
                return "true" if _BOOL_WORDS[value.strip().lower()] else "false"
            if _NUMBER_RE.fullmatch(value):
                return value
        return deparse(node)
    except Exception:
        return _collapse(expr)


def normalize_default(expr: str, *, column_type: str | None = None) -> str:
    """Canonical spelling of a column default, for comparing a migration's
    ``server_default`` with the canonical schema and the catalog.

    :func:`normalize_expression`, and then: a cast of a literal at the top is dropped (the
    default is coerced to the column type anyway, and the catalog adds exactly that cast:
    ``'pending'::character varying`` -> ``'pending'``, ``'{}'::jsonb`` -> ``'{}'``);
    a string literal spelling a plain number becomes the number (``'-1'::integer`` and ``-1``
    both give ``-1``; ``'007'`` stays a string, since it is not the same value as 7 for a
    text column); with ``column_type="boolean"`` the boolean words (``'t'``, ``'yes'``, ...)
    become ``true``/``false``. ``now()``, ``CURRENT_TIMESTAMP`` and
    ``transaction_timestamp()`` compare equal (one function); ``clock_timestamp()``,
    ``statement_timestamp()``, ``LOCALTIMESTAMP``, ``CURRENT_DATE`` stay distinct (they
    differ in meaning). ``nextval('s'::regclass)`` keeps its cast (both sides write it).
    """
    return _normalize_default_cached(expr, column_type)


@functools.lru_cache(maxsize=4096)
def analyze_check(expr: str) -> CheckInfo:
    """Analyse a CHECK expression (with or without the ``CHECK (...)`` wrapper); see
    :class:`CheckInfo`. Never raises: unparsable text gives ``column``/``values`` None."""
    node = parse_expr(expr)
    if node is None:
        return CheckInfo(_collapse(expr))
    found = value_set(node)
    expression = deparse(node)
    if found is None:
        return CheckInfo(expression)
    return CheckInfo(expression, found[0], found[1])


def index_element(elem: Any) -> IndexElement:
    if elem.name:
        expression, is_expression = str(elem.name), False
    else:
        column = _column_of_plain(elem.expr)
        if column is not None:
            expression, is_expression = column, False
        else:
            expression, is_expression = deparse(elem.expr), True
    descending = elem.ordering == enums.SortByDir.SORTBY_DESC
    nulls: Literal["first", "last"] | None = None
    if elem.nulls_ordering == enums.SortByNulls.SORTBY_NULLS_FIRST and not descending:
        nulls = "first"
    elif elem.nulls_ordering == enums.SortByNulls.SORTBY_NULLS_LAST and descending:
        nulls = "last"
    opclass_names = name_list(elem.opclass)
    if len(opclass_names) == 2 and opclass_names[0] == "pg_catalog":
        opclass_names = opclass_names[1:]
    return IndexElement(
        expression=expression,
        descending=descending,
        nulls=nulls,
        is_expression=is_expression,
        opclass=".".join(opclass_names) or None,
    )


def _column_of_plain(node: Any) -> str | None:
    if isinstance(node, ast.ColumnRef):
        fields = node.fields or ()
        if len(fields) == 1 and isinstance(fields[0], ast.String):
            return str(fields[0].sval)
    return None


def parse_index_elements(text: str) -> tuple[IndexElement, ...]:
    """Index keys from text such as ``created_at DESC`` or ``lower(email), id``
    (what goes between the parentheses of CREATE INDEX).

    :raises ValueError: when PostgreSQL would not accept the text as index keys (the
        message is PostgreSQL's); callers turn it into a diagnostic.
    """
    depth = 0
    for kind, _, _ in events(text, 0, len(text), DETAIL_RE):
        depth += {"(": 1, ")": -1}.get(kind, 0)
        if depth < 0 or kind == ";":
            raise ValueError(f"not a list of index elements: {text!r}")
    try:
        stmts = parse_sql(f"CREATE INDEX b03lint_x ON b03lint_t ({sanitize(text)})")
    except ParseError as exc:
        raise ValueError(str(exc.args[0]) if exc.args else str(exc)) from None
    if len(stmts) != 1 or not isinstance(stmts[0].stmt, ast.IndexStmt):
        raise ValueError(f"not a list of index elements: {text!r}")
    stmt = stmts[0].stmt
    if stmt.whereClause is not None or stmt.indexIncludingParams:
        raise ValueError(f"not a list of index elements: {text!r}")
    return tuple(index_element(e) for e in stmt.indexParams or ())


def always_true(where: Any) -> bool:
    """Whether a WHERE clause holds for every row: absent, ``true``, ``1 = 1``,
    ``'a' = 'a'``, or an AND of such / an OR with one of them (no column is read)."""
    if where is None:
        return True
    if isinstance(where, ast.A_Const):
        return isinstance(where.val, ast.Boolean) and bool(where.val.boolval)
    if isinstance(where, ast.BoolExpr):
        parts = [always_true(arg) for arg in where.args or ()]
        if where.boolop == enums.BoolExprType.AND_EXPR:
            return all(parts)
        if where.boolop == enums.BoolExprType.OR_EXPR:
            return any(parts)
        return False
    if (isinstance(where, ast.A_Expr) and where.kind == enums.A_Expr_Kind.AEXPR_OP
            and name_list(where.name) == ["="] and isinstance(where.lexpr, ast.A_Const)
            and isinstance(where.rexpr, ast.A_Const) and not where.lexpr.isnull):
        left, right = where.lexpr.val, where.rexpr.val
        return type(left) is type(right) and repr(left) == repr(right)
    return False
