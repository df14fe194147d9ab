"""PostgreSQL text -> :mod:`b03lint.operations`, with PostgreSQL's own grammar (pglast).

Used for the SQL inside ``op.execute(...)`` / ``sa.text(...)`` (the Python migration
reader hands the string and a ``position`` callback), for the canonical schema file, and by
the live-database introspection to analyse CHECK expressions and defaults read from the
catalog.

Public interface
----------------

- :func:`read_sql` -- the reader. Multi-statement text is parsed once; on a syntax error the
  text is split with a small lexer (quotes, dollar quotes, nested comments) and every
  statement is parsed on its own, so the valid statements around a broken one still produce
  operations. A rejected statement becomes a blocking ``I003`` diagnostic.
- :func:`analyze_check`, :func:`normalize_expression`, :func:`normalize_default`,
  :func:`parse_index_elements`, :func:`split_statements` -- helpers for the other readers,
  the canonical loader and the live introspection.
- :func:`parse_sql` -- pglast's ``parse_sql`` behind two guards every parse here goes
  through: operator chains nested deeper than :data:`MAX_OPERATOR_DEPTH` (which crash
  pglast) and operator runs longer than :data:`MAX_OPERATOR_RUN` (quadratic in
  PostgreSQL's scanner) are a ``ParseError``, so an ``I003``, never a crash or a stall.

Conventions (what other modules can rely on)
--------------------------------------------

- Offsets are Python ``str`` indices. libpg_query reports UTF-8 byte offsets; pglast 8
  converts statement and node locations to character indices itself, and its
  ``ParseError`` position is PostgreSQL's character position. Whether the installed pglast
  converts is checked once at import (:data:`_PGLAST_BYTE_OFFSETS`); if it does not, the
  offsets are converted here. The tests pin this down with non-ASCII text in front of
  statements and errors.
- Every operation's ``loc`` runs from the statement's first token (leading whitespace and
  comments skipped) to its last token (the ``;`` excluded); ``end_column`` is exclusive.
  ``ALTER TABLE`` subcommands are located at their own text (``DROP COLUMN a``) when the
  subcommands can be matched to the top-level commas, otherwise at the statement.
  Operations found inside a ``DO`` block are located at the ``DO`` statement.
- Names: ``table`` / ``name`` fields hold the bare name and ``schema`` the qualifier as
  written (``public.t`` -> ``schema="public", table="t"``; ``t`` -> ``schema=None``). Fields
  without a schema companion (``ForeignKeyRef.table``, ``Truncate.tables``,
  ``DataChange.table``, ``OtherStatement.table``, ``Unresolved.table``) hold the bare name,
  qualified only when the schema is not ``public`` (``audit.events``).
- Types are normalised with :func:`b03lint.sqltypes.normalize_type` (``varchar(100)``,
  ``timestamptz``, ``numeric(5,4)[]``). ``serial``/``bigserial``/``smallserial`` become
  ``integer``/``bigint``/``smallint``, NOT NULL, with default
  ``nextval('<table>_<column>_seq'::regclass)`` -- the text PostgreSQL itself stores
  (name truncated to 63 characters the way PostgreSQL does; schema-qualified outside
  ``public``). ``GENERATED ... AS IDENTITY`` gives ``identity=True`` and NOT NULL.
- Expressions (defaults, CHECK, USING, WHERE, policy quals) are deparsed to one spelling:
  keywords and function names lower/upper-cased as pglast prints them, minimal parentheses,
  and casts printed as ``expr::type`` with the normalised type name (so ``'x'::character
  varying`` and ``'x'::varchar`` print alike). They are *not* otherwise rewritten; use
  :func:`normalize_expression` / :func:`normalize_default` to compare.
- ``ColumnDef.primary_key`` is True for a column of the primary key, whether declared on the
  column or as a table constraint (both imply NOT NULL); ``unique``/``references``/``check``
  reflect column-level declarations only. Every constraint, column-level or not, is also a
  :class:`ConstraintDef` in ``CreateTable.constraints``; for ``ADD COLUMN`` the column-level
  constraints are additionally emitted as :class:`AddConstraint` operations (same location),
  so the replay can treat ``constraints`` / ``AddConstraint`` as the truth.
- Foreign-key actions: ``"CASCADE"``, ``"RESTRICT"``, ``"SET NULL"``, ``"SET DEFAULT"``;
  ``None`` for NO ACTION (the default, written or not).
- Index elements: ``nulls`` is recorded only when it differs from the default for the
  direction (``DESC NULLS FIRST`` -> None, ``DESC NULLS LAST`` -> ``"last"``), which is how
  ``pg_get_indexdef`` prints them. ``method`` is lower case, ``btree`` when not written.
- ``OtherStatement.statement`` is the pglast node class name (``CreateFunctionStmt``), with
  the detail in parentheses where the class alone says little:
  ``AlterTableStmt(AT_ChangeOwner)``, ``DropStmt(OBJECT_FUNCTION)``,
  ``RenameStmt(OBJECT_TYPE)``, ``AlterEnumStmt(RENAME VALUE)``, ``DoStmt`` (a DO block that
  produced nothing else).
- ``DO`` blocks: the PL/pgSQL body is parsed. Plain SQL statements and ``EXECUTE`` of a
  constant string (literals and ``||`` of literals) become operations; nested
  ``BEGIN ... END`` blocks are flattened; in ``BEGIN ... EXCEPTION`` blocks the body is
  assumed to run (the rebuild-from-empty case) and handlers other than ``NULL``/``RAISE``
  become :class:`Unresolved`. ``IF``/``CASE``/loops, dynamic ``EXECUTE`` and other
  languages become :class:`Unresolved` (``table`` set when what they would touch is one
  table). A ``DO`` that yields nothing at all is an ``OtherStatement("DoStmt")``; a body
  PL/pgSQL rejects is an ``I003`` diagnostic plus an ``Unresolved``. Comments inside a
  dollar-quoted DO body are reported in ``SqlResult.comments`` like any other.
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import re
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from pglast import ast, enums, parse_plpgsql
from pglast.parser import ParseError
from pglast.parser import parse_sql as _pglast_parse_sql
from pglast.stream import RawStream

from b03lint.operations import (
    AddColumn,
    AddConstraint,
    AlterColumnDefault,
    AlterColumnNullable,
    AlterColumnType,
    AlterEnumAddValue,
    ColumnDef,
    ConstraintDef,
    CreateEnumType,
    CreateIndex,
    CreatePolicy,
    CreateSchema,
    CreateTable,
    DataChange,
    Diagnostic,
    DisableRLS,
    DropColumn,
    DropConstraint,
    DropIndex,
    DropPolicy,
    DropSchema,
    DropTable,
    DropType,
    EnableRLS,
    ForceRLS,
    ForeignKeyRef,
    IndexElement,
    Location,
    NoForceRLS,
    Operation,
    OtherStatement,
    Phase,
    RenameColumn,
    RenameConstraint,
    RenameIndex,
    RenameTable,
    Truncate,
    Unresolved,
    ValidateConstraint,
)
from b03lint.sqltypes import is_serial, normalize_type, serial_default

__all__ = [
    "CheckInfo",
    "SqlResult",
    "analyze_check",
    "normalize_default",
    "normalize_expression",
    "parse_index_elements",
    "parse_sql",
    "read_sql",
    "split_statements",
]

#: diagnostic code for SQL that PostgreSQL would reject
SYNTAX_ERROR_CODE = "I003"

Position = Callable[[int], tuple[int, int]]


@dataclass
class SqlResult:
    """What :func:`read_sql` found in one piece of SQL text."""

    operations: list[Operation] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    #: line -> text of the ``--`` / ``/* */`` comments on that line (markers included;
    #: several comments on one line are joined by a space; a block comment contributes its
    #: part to every line it spans). Comments inside string literals and dollar quotes are
    #: not comments, except inside the dollar-quoted body of a DO block.
    comments: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
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


# =========================================================================== lexer

_SPLIT_RE = re.compile(r"--|/\*|'|\"|\$|;")
_DETAIL_RE = re.compile(r"--|/\*|'|\"|\$|;|[(),\[\]]")
_BLOCK_RE = re.compile(r"/\*|\*/")
_ESCAPE_STRING_RE = re.compile(r"[\\']")
# (``\w`` is Unicode-aware; explicit \u0080-\U0010ffff ranges cost ~9 ms to compile)
_DOLLAR_TAG_RE = re.compile(r"\$(?:[^\W\d]\w*)?\$")
_WS_RE = re.compile(r"\s*")
_ATOMIC_RE = re.compile(r"\bbegin\s+atomic\b", re.IGNORECASE)
#: how many ``;``-separated pieces a BEGIN ATOMIC body may span in error recovery
_ATOMIC_MAX_PIECES = 64
_BAD_CHARS_RE = re.compile("[\x00\ud800-\udfff]")

#: the longest chain of binary operators (``1 + 1 + ...``, ``'a' || 'b' || ...``,
#: ``x::a::b...``) handed to pglast. Such a chain parses into a tree as deep as it is long,
#: and pglast converts the tree recursively in C: from about 24,000 levels (8 MB of stack)
#: the process dies of a segmentation fault, with no report at all. PostgreSQL refuses
#: statements far shallower than this limit (``max_stack_depth``).
MAX_OPERATOR_DEPTH = 10_000
#: text shorter than this cannot hold a chain that deep (an operator and an operand each
#: take a character at least), so it is not scanned
_DEPTH_SCAN_FROM = 2 * MAX_OPERATOR_DEPTH
#: PostgreSQL's scanner takes time quadratic in the length of a run of operator characters
#: that mixes them (``/*/*/*...``, ``+-+-...``, ``++++...``): 80,000 such characters take
#: six seconds, a megabyte a quarter of an hour. Longer runs are refused; a run of one
#: repeated character other than ``+`` (a ``-----`` or ``*****`` ruler) is scanned fast.
MAX_OPERATOR_RUN = 5_000
_OPERATOR_RUN_RE = re.compile(r"[~!@#^&|`?+\-*/%<>=]{" + str(MAX_OPERATOR_RUN + 1) + ",}")
_DEPTH_RE = re.compile(
    r"--|/\*|'|\"|\$|;|[(),\[\]]|::|\b(?:and|or)\b|(?:(?!--|/\*)[-+*/%^<>=|&#~!@?])+",
    re.IGNORECASE,
)


def _is_ident_char(ch: str) -> bool:
    return ch.isalnum() or ch in "_$" or ord(ch) >= 0x80


def _operator_depth(text: str) -> tuple[int, int]:
    """An upper estimate of how deep the deepest chain of binary operators in ``text``
    nests, and where it gets deepest. Parentheses nest (what is inside adds to the chain
    around it); a comma, AND, OR or ``;`` starts a new chain (PostgreSQL flattens AND/OR
    into one node and lists are flat). Strings, quoted names, dollar quotes and comments do
    not count."""
    stack = [0]
    total = deepest = where = 0
    skip_to = 0
    for tok, at, _end in _events(text, 0, len(text), _DEPTH_RE):
        if tok == "comment" or at < skip_to:
            continue
        if tok in "([":
            stack.append(0)
        elif tok in ")]":
            if len(stack) > 1:
                total -= stack.pop()
        elif tok in (",", ";") or tok.lower() in ("and", "or"):
            total -= stack[-1]
            stack[-1] = 0
            if tok == ";":
                total, stack = 0, [0]
        else:  # an operator
            skip_to = at + len(tok)
            stack[-1] += 1
            total += 1
            if total > deepest:
                deepest, where = total, at
    return deepest, where


def parse_sql(text: str) -> tuple[Any, ...]:
    """pglast's ``parse_sql``, refusing (with a :class:`ParseError`) text whose operators
    nest deeper than :data:`MAX_OPERATOR_DEPTH`, which would crash the process."""
    if len(text) > MAX_OPERATOR_RUN:
        for run in _OPERATOR_RUN_RE.finditer(text):
            chars = set(run.group())
            if len(chars) > 1 or "+" in chars:
                raise ParseError(f"a run of {len(run.group()):,} operator characters, more than "
                                 f"the {MAX_OPERATOR_RUN:,} b03lint's SQL parser reads in "
                                 "reasonable time", run.start())
    if len(text) >= _DEPTH_SCAN_FROM:
        depth, at = _operator_depth(text)
        if depth > MAX_OPERATOR_DEPTH:
            raise ParseError(f"operators nested about {depth:,} deep, more than the "
                             f"{MAX_OPERATOR_DEPTH:,} b03lint's SQL parser can read safely", at)
    stmts: tuple[Any, ...] = _pglast_parse_sql(text)
    return stmts


def _block_comment_end(text: str, at: int, end: int) -> int:
    depth, pos = 1, at + 2
    while depth:
        m = _BLOCK_RE.search(text, pos, end)
        if m is None:
            return end
        depth += 1 if m.group() == "/*" else -1
        pos = m.end()
    return pos


def _quoted_end(text: str, pos: int, end: int, quote: str) -> int:
    """End (exclusive) of a ``'...'`` or ``"..."`` token whose body starts at ``pos``."""
    while True:
        q = text.find(quote, pos, end)
        if q < 0:
            return end
        if q + 1 < end and text[q + 1] == quote:
            pos = q + 2
            continue
        return q + 1


def _escape_string_end(text: str, pos: int, end: int) -> int:
    while True:
        m = _ESCAPE_STRING_RE.search(text, pos, end)
        if m is None:
            return end
        if m.group() == "\\":
            pos = m.end() + 1
            continue
        q = m.start()
        if q + 1 < end and text[q + 1] == "'":
            pos = q + 2
            continue
        return q + 1


def _events(
    text: str, start: int, end: int, pattern: re.Pattern[str] = _SPLIT_RE
) -> Iterator[tuple[str, int, int]]:
    """Yield ``("comment", start, end)`` and punctuation events (``;``, and with
    :data:`_DETAIL_RE` also ``( ) [ ] ,``) outside string literals, quoted identifiers,
    dollar quotes and comments. Unterminated constructs run to ``end``; never raises."""
    pos = start
    search = pattern.search
    while pos < end:
        m = search(text, pos, end)
        if m is None:
            return
        tok, at = m.group(), m.start()
        if tok == "--":
            nl = text.find("\n", at, end)
            stop = end if nl < 0 else nl
            yield "comment", at, at + len(text[at:stop].rstrip())
            pos = stop
        elif tok == "/*":
            stop = _block_comment_end(text, at, end)
            yield "comment", at, at + len(text[at:stop].rstrip())
            pos = stop
        elif tok == "'":
            escape = (
                at > start
                and text[at - 1] in "eE"
                and (at - 1 == start or not _is_ident_char(text[at - 2]))
            )
            pos = _escape_string_end(text, at + 1, end) if escape else _quoted_end(
                text, at + 1, end, "'"
            )
        elif tok == '"':
            pos = _quoted_end(text, at + 1, end, '"')
        elif tok == "$":
            if at > start and _is_ident_char(text[at - 1]):
                pos = at + 1
                continue
            tm = _DOLLAR_TAG_RE.match(text, at, end)
            if tm is None:
                pos = at + 1
                continue
            tag = tm.group()
            close = text.find(tag, tm.end(), end)
            pos = end if close < 0 else close + len(tag)
        else:
            yield tok, at, at + 1
            pos = at + 1


class _Lexed(NamedTuple):
    statements: list[tuple[int, int]]
    comments: list[tuple[int, int]]


def _skip_ws_comments(text: str, pos: int, end: int) -> int:
    while True:
        m = _WS_RE.match(text, pos, end)
        pos = m.end() if m else pos
        if text.startswith("--", pos) and pos < end:
            nl = text.find("\n", pos, end)
            pos = end if nl < 0 else nl
        elif text.startswith("/*", pos) and pos < end:
            pos = _block_comment_end(text, pos, end)
        else:
            return min(pos, end)


def _trim_end(text: str, start: int, end: int, comment_starts: dict[int, int]) -> int:
    """``end`` moved back over trailing whitespace and comments (not before ``start``)."""
    while end > start:
        stripped = start + len(text[start:end].rstrip())
        if stripped in comment_starts and comment_starts[stripped] >= start:
            end = comment_starts[stripped]
            continue
        return stripped
    return start


def _lex(text: str) -> _Lexed:
    statements: list[tuple[int, int]] = []
    comments: list[tuple[int, int]] = []
    piece = 0
    for kind, s, e in _events(text, 0, len(text)):
        if kind == "comment":
            comments.append((s, e))
        else:  # ";"
            statements.append((piece, s))
            piece = e
    statements.append((piece, len(text)))
    return _Lexed(statements, comments)


def split_statements(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` character spans of the statements in ``text``: split at ``;``
    outside quotes, dollar quotes and comments, each span trimmed of surrounding whitespace
    and comments (the ``;`` is not included); empty statements are dropped. Never raises,
    also not on unterminated quotes."""
    lexed = _lex(text)
    ends = {e: s for s, e in lexed.comments}
    spans = []
    for s, e in lexed.statements:
        first = _skip_ws_comments(text, s, e)
        if first >= e:
            continue
        spans.append((first, _trim_end(text, first, e, ends)))
    return spans


def _line_position(text: str) -> Position:
    starts = [0]
    starts.extend(m.end() for m in re.finditer("\n", text))

    def position(offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(starts, offset)
        return line, offset - starts[line - 1]

    return position


def _sanitize(text: str) -> str:
    """Same length, but safe for libpg_query (no NUL, no lone surrogates)."""
    return _BAD_CHARS_RE.sub(" ", text) if _BAD_CHARS_RE.search(text) else text


# =========================================================================== deparse


def _parent(node: Any) -> Any:
    anc = getattr(node, "ancestors", None)
    if anc is None:
        return None
    try:
        parent = abs(anc)
    except Exception:  # pragma: no cover - defensive, pglast internals
        return None
    return None if parent is None else parent.node


class _Printer(RawStream):
    """pglast's RawStream, but casts as ``expr::type`` and type names normalised."""

    def print_node(self, node: Any, is_name: bool = False, is_symbol: bool = False) -> None:
        if isinstance(node, ast.TypeCast) and not isinstance(_parent(node), ast.VariableSetStmt):
            type_name = _type_name(node.typeName)
            if type_name is not None:
                arg = node.arg
                simple = isinstance(
                    arg, (ast.ColumnRef, ast.FuncCall, ast.TypeCast, ast.A_ArrayExpr,
                          ast.ParamRef, ast.SQLValueFunction)
                ) or (isinstance(arg, ast.A_Const) and not _is_negative_number(arg))
                if simple:
                    self.print_node(arg)
                else:
                    self.write("(")
                    self.print_node(arg)
                    self.write(")")
                self.write("::" + type_name)
                self.separator()
                return
        if isinstance(node, ast.Boolean):  # as the catalog prints them
            self.write("true" if node.boolval else "false")
            self.separator()
            return
        if isinstance(node, ast.TypeName):
            type_name = _type_name(node)
            if type_name is not None:
                self.write(type_name)
                self.separator()
                return
        super().print_node(node, is_name, is_symbol)


def _is_negative_number(node: Any) -> bool:
    val = getattr(node, "val", None)
    if isinstance(val, ast.Integer):
        return bool((val.ival or 0) < 0)
    if isinstance(val, ast.Float):
        return str(val.fval or "").startswith("-")
    return False


def _deparse(node: Any) -> str:
    """SQL text of an expression node, in the module's one spelling (pglast's own printer
    if ours fails; a placeholder naming the node if that fails too -- never raises)."""
    if node is None:
        return ""
    for printer in (_Printer, RawStream):
        try:
            text: str = printer()(node)
        except Exception:
            continue
        return text
    return f"<{type(node).__name__}>"


def _deparse_opt(node: Any) -> str | None:
    return None if node is None else _deparse(node)


# =========================================================================== names & types

_INTERVAL_FULL_RANGE = 0x7FFF
_INTERVAL_RANGES = {
    1 << 2: "year",
    1 << 1: "month",
    1 << 3: "day",
    1 << 10: "hour",
    1 << 11: "minute",
    1 << 12: "second",
    (1 << 2) | (1 << 1): "year to month",
    (1 << 3) | (1 << 10): "day to hour",
    (1 << 3) | (1 << 10) | (1 << 11): "day to minute",
    (1 << 3) | (1 << 10) | (1 << 11) | (1 << 12): "day to second",
    (1 << 10) | (1 << 11): "hour to minute",
    (1 << 10) | (1 << 11) | (1 << 12): "hour to second",
    (1 << 11) | (1 << 12): "minute to second",
}


def _sval(node: Any) -> str:
    if isinstance(node, ast.String):
        return str(node.sval)
    if isinstance(node, str):
        return node
    return _deparse(node)


def _names(nodes: Any) -> list[str]:
    return [_sval(n) for n in nodes or ()]


def _qual(schema: str | None, name: str) -> str:
    return name if schema in (None, "public") else f"{schema}.{name}"


def _split_names(names: list[str]) -> tuple[str | None, str]:
    """``[catalog.]schema.name`` -> (schema, name)."""
    if len(names) >= 2:
        return names[-2], names[-1]
    return None, names[-1] if names else ""


def _rv(rv: Any) -> tuple[str | None, str]:
    if rv is None:
        return None, ""
    return rv.schemaname, str(rv.relname)


def _rv_qual(rv: Any) -> str:
    schema, name = _rv(rv)
    return _qual(schema, name)


def _const_int(node: Any) -> int | None:
    val = getattr(node, "val", None)
    if isinstance(val, ast.Integer):
        return int(val.ival or 0)
    return None


def _type_name(tn: Any) -> str | None:
    """Normalised spelling of a pglast ``TypeName`` (None for ``%TYPE`` and the like)."""
    if tn is None or tn.pct_type:
        return None
    names = _names(tn.names)
    if not names:
        return None
    if len(names) == 2 and names[0] == "public":
        names = names[1:]
    name = ".".join(names)
    arrays = "[]" * len(tn.arrayBounds or ())
    typmods = list(tn.typmods or ())
    if name == "pg_catalog.interval" and typmods:
        mask = _const_int(typmods[0])
        text = "interval"
        if mask is not None and mask != _INTERVAL_FULL_RANGE and mask in _INTERVAL_RANGES:
            text += " " + _INTERVAL_RANGES[mask]
        if len(typmods) > 1:
            text += f"({_deparse(typmods[1])})"
        return text + arrays
    mods: list[int | str] = []
    for mod in typmods:
        number = _const_int(mod)
        mods.append(number if number is not None else _deparse(mod))
    return normalize_type(name + arrays, tuple(mods))


_FK_ACTIONS = {"c": "CASCADE", "r": "RESTRICT", "n": "SET NULL", "d": "SET DEFAULT"}


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


def _op_name(node: Any) -> str:
    return ".".join(_names(node.name))


def _value_set(node: Any) -> tuple[str, tuple[str, ...]] | None:
    """(column, values) when ``node`` restricts one column to a set of constants."""
    if isinstance(node, ast.A_Expr) and _op_name(node) == "=":
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
            part = _value_set(arg)
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


def _parse_expr(expr: str) -> Any:
    """The expression node of ``SELECT <expr>``, or None if ``expr`` is not one
    expression."""
    text = expr.strip()
    match = re.fullmatch(r"(?is)check\s*(\(.*\))\s*(?:not\s+valid)?", text)
    if match:
        text = match.group(1)
    if not text:
        return None
    try:
        stmts = parse_sql("SELECT " + _sanitize(text))
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


def _is_string_const(node: Any) -> bool:
    return isinstance(node, ast.A_Const) and not node.isnull and isinstance(node.val, ast.String)


def _plain_type(tn: Any) -> str | None:
    """Normalised type of a cast when it has no typmods, else None."""
    if tn is None or tn.typmods:
        return None
    return _type_name(tn)


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
        if target in _TEXT_TYPES and _is_string_const(arg):
            return arg
        if target in {"text[]", "varchar[]"} and isinstance(arg, ast.A_ArrayExpr) and all(
            _is_string_const(e) for e in arg.elements or ()
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
        op = _op_name(node)
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
    if isinstance(node, ast.FuncCall) and not node.args and _names(node.funcname) in (
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
    node = _parse_expr(expr)
    if node is None:
        return _collapse(expr)
    try:
        return _deparse(_canon(node, text_columns))
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
    node = _parse_expr(expr)
    if node is None:
        return _collapse(expr)
    try:
        node = _canon(node, frozenset())
        # the default is coerced to the column's type anyway: a cast of a literal (to that
        # type, which is what the catalog adds) says nothing more
        while isinstance(node, ast.TypeCast) and isinstance(node.arg, ast.A_Const):
            node = node.arg
        if _is_string_const(node):
            value = str(node.val.sval)
            if column_type == "boolean" and value.strip().lower() in _BOOL_WORDS:
                return "true" if _BOOL_WORDS[value.strip().lower()] else "false"
            if _NUMBER_RE.fullmatch(value):
                return value
        return _deparse(node)
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
    node = _parse_expr(expr)
    if node is None:
        return CheckInfo(_collapse(expr))
    found = _value_set(node)
    expression = _deparse(node)
    if found is None:
        return CheckInfo(expression)
    return CheckInfo(expression, found[0], found[1])


def _index_element(elem: Any) -> IndexElement:
    if elem.name:
        expression, is_expression = str(elem.name), False
    else:
        column = _column_of_plain(elem.expr)
        if column is not None:
            expression, is_expression = column, False
        else:
            expression, is_expression = _deparse(elem.expr), True
    descending = elem.ordering == enums.SortByDir.SORTBY_DESC
    nulls: Literal["first", "last"] | None = None
    if elem.nulls_ordering == enums.SortByNulls.SORTBY_NULLS_FIRST and not descending:
        nulls = "first"
    elif elem.nulls_ordering == enums.SortByNulls.SORTBY_NULLS_LAST and descending:
        nulls = "last"
    opclass_names = _names(elem.opclass)
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
    for kind, _, _ in _events(text, 0, len(text), _DETAIL_RE):
        depth += {"(": 1, ")": -1}.get(kind, 0)
        if depth < 0 or kind == ";":
            raise ValueError(f"not a list of index elements: {text!r}")
    try:
        stmts = parse_sql(f"CREATE INDEX b03lint_x ON b03lint_t ({_sanitize(text)})")
    except ParseError as exc:
        raise ValueError(str(exc.args[0]) if exc.args else str(exc)) from None
    if len(stmts) != 1 or not isinstance(stmts[0].stmt, ast.IndexStmt):
        raise ValueError(f"not a list of index elements: {text!r}")
    stmt = stmts[0].stmt
    if stmt.whereClause is not None or stmt.indexIncludingParams:
        raise ValueError(f"not a list of index elements: {text!r}")
    return tuple(_index_element(e) for e in stmt.indexParams or ())


# =========================================================================== the reader


def _role_name(role: Any) -> str:
    kind = role.roletype
    if kind == enums.RoleSpecType.ROLESPEC_CSTRING:
        return str(role.rolename)
    return {
        enums.RoleSpecType.ROLESPEC_PUBLIC: "public",
        enums.RoleSpecType.ROLESPEC_CURRENT_USER: "current_user",
        enums.RoleSpecType.ROLESPEC_CURRENT_ROLE: "current_role",
        enums.RoleSpecType.ROLESPEC_SESSION_USER: "session_user",
    }.get(kind, str(role.rolename or kind))


def _constant_string(expr: str) -> str | None:
    """The value of a PL/pgSQL expression made only of string literals and ``||``."""
    try:
        stmts = parse_sql("SELECT " + expr)
    except ParseError:
        return None
    if len(stmts) != 1 or not isinstance(stmts[0].stmt, ast.SelectStmt):
        return None
    targets = stmts[0].stmt.targetList or ()
    if len(targets) != 1 or stmts[0].stmt.fromClause:
        return None

    def value(node: Any) -> str | None:
        if _is_string_const(node):
            return str(node.val.sval)
        if isinstance(node, ast.A_Expr) and node.kind == enums.A_Expr_Kind.AEXPR_OP and (
            _op_name(node) == "||"
        ):
            left, right = value(node.lexpr), value(node.rexpr)
            if left is not None and right is not None:
                return left + right
        return None

    return value(targets[0].val)


class _Reader:
    def __init__(
        self, text: str, path: str, position: Position, phase: Phase, via: str
    ) -> None:
        self.text = text
        self.path = path
        self.position = position
        self.phase = phase
        self.via = via
        self.result = SqlResult()
        self.comment_starts: dict[int, int] = {}

    # ------------------------------------------------------------------ plumbing

    def loc(self, start: int, end: int | None = None) -> Location:
        line, col = self.position(start)
        if end is None:
            return Location(self.path, line, col)
        end_line, end_col = self.position(end)
        return Location(self.path, line, col, end_line, end_col)

    def kw(self, loc: Location) -> dict[str, Any]:
        return {"loc": loc, "phase": self.phase, "source": "sql", "via": self.via}

    def error(self, message: str, offset: int) -> None:
        self.result.diagnostics.append(
            Diagnostic(
                code=SYNTAX_ERROR_CODE,
                message=f"SQL syntax error: {message}",
                loc=self.loc(offset),
                severity="blocking",
            )
        )

    # ------------------------------------------------------------------ driver

    def run(self) -> SqlResult:
        text = self.text
        lexed = _lex(text)
        self.comment_starts = {e: s for s, e in lexed.comments}
        self.collect_comments(lexed.comments)
        parse_text = _sanitize(text)
        try:
            stmts = parse_sql(parse_text)
        except Exception as exc:  # ParseError, or anything pglast did not foresee
            before = len(self.result.diagnostics)
            self.recover(parse_text, lexed)
            if isinstance(exc, ParseError) and len(self.result.diagnostics) == before:
                # PostgreSQL rejects the text, yet no piece alone showed why (an unterminated
                # comment swallows the rest, which the pieces do not see): say it anyway
                self.piece_error(exc, 0, len(text))
        else:
            self.emit_all(stmts, 0, len(text))
        return self.result

    def collect_comments(self, comments: list[tuple[int, int]]) -> None:
        found = self.result.comments
        text = self.text
        for start, stop in comments:
            seg = start
            while True:
                nl = text.find("\n", seg, stop)
                seg_end = stop if nl < 0 else nl
                part = text[seg:seg_end].strip()
                if part:
                    line = self.position(seg)[0]
                    found[line] = f"{found[line]} {part}" if line in found else part
                if nl < 0:
                    break
                seg = nl + 1

    def emit_all(self, stmts: tuple[Any, ...], base: int, limit: int) -> None:
        """Emit the statements pglast parsed from ``self.text[base:limit]``."""
        to_char = _offset_converter(self.text[base:limit])
        for raw in stmts:
            location = int(raw.stmt_location or 0)
            length = int(raw.stmt_len or 0)
            start = base + to_char(location)
            end = base + to_char(location + length) if length else limit
            first = _skip_ws_comments(self.text, start, end)
            last = _trim_end(self.text, first, end, self.comment_starts)
            self.emit(raw.stmt, first, last, lambda o: base + to_char(o))

    def recover(self, parse_text: str, lexed: _Lexed) -> None:
        # each piece keeps its ";", so errors read as PostgreSQL reports them in context
        pieces = [
            (s, e + 1 if parse_text.startswith(";", e) else e) for s, e in lexed.statements
            if _skip_ws_comments(self.text, s, e) < e
        ]
        i = 0
        while i < len(pieces):
            s, e = pieces[i]
            try:
                stmts = parse_sql(parse_text[s:e])
            except ParseError as exc:
                merged = self.merge_atomic(parse_text, pieces, i, exc)
                if merged is not None:
                    i = merged
                    continue
                self.piece_error(exc, s, e)
                i += 1
                continue
            except Exception as exc:  # not a syntax error: pglast failed on valid input
                first = _skip_ws_comments(self.text, s, e)
                last = _trim_end(self.text, first, e, self.comment_starts)
                self.result.operations.append(Unresolved(
                    reason=f"pglast could not read this statement: {exc!r}",
                    snippet=self.text[first:last][:300], **self.kw(self.loc(first, last)),
                ))
                i += 1
                continue
            self.emit_all(stmts, s, e)
            i += 1

    def merge_atomic(
        self, parse_text: str, pieces: list[tuple[int, int]], i: int, exc: ParseError
    ) -> int | None:
        """``CREATE FUNCTION ... BEGIN ATOMIC a; b; END`` has ``;`` inside: join pieces until
        it parses. Returns the index of the next piece, or None."""
        s, e = pieces[i]
        if _error_offset(exc) is not None or not _ATOMIC_RE.search(parse_text, s, e):
            return None
        for j in range(i + 1, min(len(pieces), i + 1 + _ATOMIC_MAX_PIECES)):
            end = pieces[j][1]
            try:
                stmts = parse_sql(parse_text[s:end])
            except ParseError as again:
                if _error_offset(again) is None:
                    continue
                return None
            self.emit_all(stmts, s, end)
            return j + 1
        return None

    def piece_error(self, exc: ParseError, start: int, end: int) -> None:
        message = str(exc.args[0]) if exc.args else str(exc)
        offset = _error_offset(exc)
        if offset is None:
            first = _skip_ws_comments(self.text, start, end)
            at = max(first, _trim_end(self.text, first, end, self.comment_starts) - 1)
        else:
            at = start + offset
        self.error(message, at)

    # ------------------------------------------------------------------ statements

    def emit(self, node: Any, start: int, end: int, offset: Callable[[int], int]) -> None:
        """Emit one statement spanning ``self.text[start:end]``; ``offset`` maps a node
        location to an offset in ``self.text``."""
        loc = self.loc(start, end)
        try:
            if isinstance(node, ast.AlterTableStmt):
                ops = self.alter_table(node, loc, self.subcommand_locs(node, end, offset))
            elif isinstance(node, ast.DoStmt):
                ops = self.do_block(node, loc, offset)
            else:
                ops = self.statement(node, loc)
        except Exception as exc:  # a pglast shape we did not foresee: say so, don't crash
            ops = [Unresolved(
                reason=f"b03lint could not interpret {type(node).__name__}: {exc!r}",
                snippet=self.text[start:end][:300], **self.kw(loc),
            )]
        self.result.operations.extend(ops)

    def statement(self, node: Any, loc: Location) -> list[Operation]:
        """Operations of one statement; ``loc`` for all of them."""
        kw = self.kw(loc)
        if isinstance(node, ast.CreateStmt):
            return self.create_table(node, loc)
        if isinstance(node, ast.AlterTableStmt):
            return self.alter_table(node, loc, None)
        if isinstance(node, ast.IndexStmt):
            schema, table = _rv(node.relation)
            return [CreateIndex(
                name=node.idxname or None, table=table, schema=schema,
                elements=tuple(_index_element(e) for e in node.indexParams or ()),
                unique=bool(node.unique),
                include=tuple(
                    str(e.name) if e.name else _deparse(e.expr)
                    for e in node.indexIncludingParams or ()
                ),
                where=_deparse_opt(node.whereClause),
                method=str(node.accessMethod or "btree").lower(),
                concurrently=bool(node.concurrent),
                if_not_exists=bool(node.if_not_exists),
                **kw,
            )]
        if isinstance(node, ast.DropStmt):
            return self.drop(node, loc)
        if isinstance(node, ast.RenameStmt):
            return self.rename(node, loc)
        if isinstance(node, ast.TruncateStmt):
            return [Truncate(
                tables=tuple(_rv_qual(rv) for rv in node.relations or ()),
                cascade=node.behavior == enums.DropBehavior.DROP_CASCADE,
                **kw,
            )]
        if isinstance(node, ast.InsertStmt):
            return [DataChange(verb="insert", table=_rv_qual(node.relation), has_where=True, **kw)]
        if isinstance(node, ast.UpdateStmt):
            return [DataChange(
                verb="update", table=_rv_qual(node.relation),
                has_where=node.whereClause is not None, **kw,
            )]
        if isinstance(node, ast.DeleteStmt):
            return [DataChange(
                verb="delete", table=_rv_qual(node.relation),
                has_where=node.whereClause is not None, **kw,
            )]
        if isinstance(node, ast.CreatePolicyStmt):
            schema, table = _rv(node.table)
            return [CreatePolicy(
                name=str(node.policy_name), table=table, schema=schema,
                command=str(node.cmd_name or "all").lower(),
                permissive=bool(node.permissive),
                roles=tuple(_role_name(r) for r in node.roles or ()) or ("public",),
                using=_deparse_opt(node.qual),
                with_check=_deparse_opt(node.with_check),
                **kw,
            )]
        if isinstance(node, ast.CreateEnumStmt):
            schema, name = _split_names(_names(node.typeName))
            return [CreateEnumType(
                name=name, schema=schema, values=tuple(_names(node.vals)), **kw
            )]
        if isinstance(node, ast.AlterEnumStmt):
            schema, name = _split_names(_names(node.typeName))
            if node.oldVal:
                return [OtherStatement(statement="AlterEnumStmt(RENAME VALUE)", **kw)]
            neighbor = node.newValNeighbor or None
            return [AlterEnumAddValue(
                name=name, schema=schema, value=str(node.newVal),
                before=None if node.newValIsAfter else neighbor,
                after=neighbor if node.newValIsAfter else None,
                if_not_exists=bool(node.skipIfNewValExists),
                **kw,
            )]
        if isinstance(node, ast.CreateSchemaStmt):
            ops: list[Operation] = [CreateSchema(
                name=str(node.schemaname or (node.authrole and node.authrole.rolename) or ""),
                if_not_exists=bool(node.if_not_exists), **kw,
            )]
            for element in node.schemaElts or ():
                ops.extend(self.statement(element, loc))
            return ops
        if isinstance(node, ast.DoStmt):
            return self.do_block(node, loc)
        into = getattr(node, "into", None) or getattr(node, "intoClause", None)
        if (isinstance(node, ast.CreateTableAsStmt | ast.SelectStmt) and into is not None
                and isinstance(getattr(into, "rel", None), ast.RangeVar)
                and getattr(node, "objtype", None) != enums.ObjectType.OBJECT_MATVIEW):
            # a table whose columns come from a query: its shape is not known statically
            return [Unresolved(reason="CREATE TABLE ... AS / SELECT INTO: the table's columns "
                                      "come from a query", table=_rv_qual(into.rel),
                               **kw)]
        relation = getattr(node, "relation", None)
        other_table = _rv_qual(relation) if isinstance(relation, ast.RangeVar) else None
        return [OtherStatement(statement=type(node).__name__, table=other_table, **kw)]

    # ------------------------------------------------------------------ CREATE TABLE

    def column(
        self, cd: Any, schema: str | None, table: str
    ) -> tuple[ColumnDef, list[ConstraintDef]]:
        name = str(cd.colname)
        names = _names(cd.typeName.names) if cd.typeName is not None else []
        serial = len(names) == 1 and is_serial(names[0])
        column = ColumnDef(
            name=name,
            type=_type_name(cd.typeName),
            nullable=not cd.is_not_null,
        )
        checks: list[str] = []
        constraints: list[ConstraintDef] = []
        ct = enums.ConstrType
        for con in cd.constraints or ():
            kind = con.contype
            if kind == ct.CONSTR_NOTNULL:
                column = dataclasses.replace(column, nullable=False)
            elif kind == ct.CONSTR_NULL:
                column = dataclasses.replace(column, nullable=True)
            elif kind == ct.CONSTR_DEFAULT:
                column = dataclasses.replace(column, default=_deparse(con.raw_expr))
            elif kind == ct.CONSTR_IDENTITY:
                column = dataclasses.replace(column, identity=True, nullable=False)
            elif kind in (ct.CONSTR_ATTR_DEFERRABLE, ct.CONSTR_ATTR_DEFERRED,
                          ct.CONSTR_ATTR_NOT_DEFERRABLE):
                if constraints:
                    constraints[-1] = dataclasses.replace(
                        constraints[-1], deferrable=kind != ct.CONSTR_ATTR_NOT_DEFERRABLE
                    )
            else:
                made = self.constraint(con, (name,))
                if made is None:
                    continue
                constraints.append(made)
                if made.kind == "primary_key":
                    column = dataclasses.replace(column, primary_key=True, nullable=False)
                elif made.kind == "unique":
                    column = dataclasses.replace(column, unique=True)
                elif made.kind == "foreign_key":
                    column = dataclasses.replace(column, references=made.references)
                elif made.kind == "check" and made.expression is not None:
                    checks.append(made.expression)
        if checks:
            check = checks[0] if len(checks) == 1 else " AND ".join(f"({c})" for c in checks)
            column = dataclasses.replace(column, check=check)
        if serial:
            column = dataclasses.replace(
                column, nullable=False,
                default=column.default or serial_default(schema, table, name),
            )
        return column, constraints

    def constraint(self, con: Any, own_columns: tuple[str, ...] = ()) -> ConstraintDef | None:
        ct = enums.ConstrType
        kind = con.contype
        common: dict[str, Any] = {
            "name": con.conname or None,
            "not_valid": bool(con.skip_validation),
            "deferrable": bool(con.deferrable or con.initdeferred),
        }
        if kind == ct.CONSTR_PRIMARY:
            return ConstraintDef(
                kind="primary_key", columns=tuple(_names(con.keys)) or own_columns, **common
            )
        if kind == ct.CONSTR_UNIQUE:
            return ConstraintDef(
                kind="unique", columns=tuple(_names(con.keys)) or own_columns, **common
            )
        if kind == ct.CONSTR_FOREIGN:
            ref = ForeignKeyRef(
                table=_rv_qual(con.pktable),
                columns=tuple(_names(con.pk_attrs)),
                on_delete=_FK_ACTIONS.get(str(con.fk_del_action or "")),
                on_update=_FK_ACTIONS.get(str(con.fk_upd_action or "")),
            )
            return ConstraintDef(
                kind="foreign_key", columns=tuple(_names(con.fk_attrs)) or own_columns,
                references=ref, **common,
            )
        if kind == ct.CONSTR_CHECK:
            found = _value_set(con.raw_expr)
            return ConstraintDef(
                kind="check", columns=own_columns, expression=_deparse(con.raw_expr),
                enum_column=found[0] if found else None,
                enum_values=found[1] if found else None,
                **common,
            )
        if kind == ct.CONSTR_EXCLUSION:
            parts, columns = [], []
            for elem, ops in con.exclusions or ():
                element = _index_element(elem)
                columns.append(element.expression)
                key = element.expression if not element.is_expression else f"({element.expression})"
                parts.append(f"{key} WITH {'.'.join(_names(ops))}")
            text = f"USING {con.access_method or 'btree'} ({', '.join(parts)})"
            if con.where_clause is not None:
                text += f" WHERE ({_deparse(con.where_clause)})"
            return ConstraintDef(
                kind="exclude", columns=tuple(columns), expression=text, **common
            )
        return None

    def create_table(self, node: Any, loc: Location) -> list[Operation]:
        kw = self.kw(loc)
        schema, table = _rv(node.relation)
        columns: list[ColumnDef] = []
        constraints: list[ConstraintDef] = []
        extra: list[Operation] = []
        for element in node.tableElts or ():
            if isinstance(element, ast.ColumnDef):
                column, cons = self.column(element, schema, table)
                columns.append(column)
                constraints.extend(cons)
            elif isinstance(element, ast.Constraint):
                made = self.constraint(element)
                if made is not None:
                    constraints.append(made)
            elif isinstance(element, ast.TableLikeClause):
                extra.append(Unresolved(
                    reason="CREATE TABLE ... (LIKE ...) copies columns from another table",
                    snippet=f"LIKE {_rv_qual(element.relation)}",
                    table=_qual(schema, table), **kw,
                ))
        if node.inhRelations:
            how = "PARTITION OF" if node.partbound is not None else "INHERITS"
            extra.append(Unresolved(
                reason=f"CREATE TABLE ... {how} takes columns from another table",
                snippet=f"{how} {', '.join(_rv_qual(r) for r in node.inhRelations)}",
                table=_qual(schema, table), **kw,
            ))
        pk_columns = {c for con in constraints if con.kind == "primary_key" for c in con.columns}
        columns = [
            dataclasses.replace(c, primary_key=True, nullable=False)
            if c.name in pk_columns else c
            for c in columns
        ]
        return [CreateTable(
            table=table, schema=schema, columns=tuple(columns),
            constraints=tuple(constraints), if_not_exists=bool(node.if_not_exists), **kw,
        ), *extra]

    # ------------------------------------------------------------------ ALTER TABLE

    def subcommand_locs(
        self, node: Any, end: int, offset: Callable[[int], int]
    ) -> list[Location] | None:
        """One location per subcommand: the text between top-level commas after the table
        name. None when that does not line up with the parsed subcommands."""
        cmds = node.cmds or ()
        if len(cmds) < 1 or node.relation is None or node.relation.location is None:
            return None
        text = self.text
        name_at = offset(int(node.relation.location))
        m = _QUALIFIED_NAME_RE.match(text, name_at, end)
        if m is None:
            return None
        pos = _skip_ws_comments(text, m.end(), end)
        if text.startswith("*", pos):
            pos = _skip_ws_comments(text, pos + 1, end)
        spans: list[tuple[int, int]] = []
        depth, piece = 0, pos
        for kind, s, e in _events(text, pos, end, _DETAIL_RE):
            if kind in ("(", "["):
                depth += 1
            elif kind in (")", "]"):
                depth = max(0, depth - 1)
            elif kind == "," and depth == 0:
                spans.append((piece, s))
                piece = e
        spans.append((piece, end))
        if len(spans) != len(cmds):
            return None
        locs = []
        for s, e in spans:
            first = _skip_ws_comments(text, s, e)
            locs.append(self.loc(first, _trim_end(text, first, e, self.comment_starts)))
        return locs

    def alter_table(
        self, node: Any, loc: Location, sub_locs: list[Location] | None
    ) -> list[Operation]:
        schema, table = _rv(node.relation)
        if node.objtype != enums.ObjectType.OBJECT_TABLE:
            detail = getattr(node.objtype, "name", str(node.objtype))
            return [OtherStatement(
                statement=f"AlterTableStmt({detail})", table=None, **self.kw(loc)
            )]
        ops: list[Operation] = []
        at = enums.AlterTableType
        for index, cmd in enumerate(node.cmds or ()):
            kw = self.kw(sub_locs[index] if sub_locs else loc)
            sub = cmd.subtype
            base: dict[str, Any] = {"table": table, "schema": schema, **kw}
            if sub == at.AT_AddColumn:
                column, cons = self.column(cmd.def_, schema, table)
                ops.append(AddColumn(column=column, if_not_exists=bool(cmd.missing_ok), **base))
                ops.extend(AddConstraint(constraint=c, **base) for c in cons)
            elif sub == at.AT_DropColumn:
                ops.append(DropColumn(column=str(cmd.name), if_exists=bool(cmd.missing_ok), **base))
            elif sub == at.AT_AlterColumnType:
                cd = cmd.def_
                ops.append(AlterColumnType(
                    column=str(cmd.name), new_type=_type_name(cd.typeName),
                    using=_deparse_opt(cd.raw_default), **base,
                ))
            elif sub in (at.AT_SetNotNull, at.AT_DropNotNull):
                ops.append(AlterColumnNullable(
                    column=str(cmd.name), nullable=sub == at.AT_DropNotNull, **base
                ))
            elif sub == at.AT_ColumnDefault:
                ops.append(AlterColumnDefault(
                    column=str(cmd.name), default=_deparse_opt(cmd.def_), **base
                ))
            elif sub == at.AT_AddConstraint:
                made = self.constraint(cmd.def_)
                if made is None:
                    ops.append(OtherStatement(
                        statement="AlterTableStmt(AT_AddConstraint)",
                        table=_qual(schema, table), **kw,
                    ))
                else:
                    ops.append(AddConstraint(constraint=made, **base))
            elif sub == at.AT_DropConstraint:
                ops.append(DropConstraint(
                    name=str(cmd.name), if_exists=bool(cmd.missing_ok),
                    cascade=cmd.behavior == enums.DropBehavior.DROP_CASCADE, **base,
                ))
            elif sub == at.AT_ValidateConstraint:
                ops.append(ValidateConstraint(name=str(cmd.name), **base))
            elif sub == at.AT_EnableRowSecurity:
                ops.append(EnableRLS(**base))
            elif sub == at.AT_DisableRowSecurity:
                ops.append(DisableRLS(**base))
            elif sub == at.AT_ForceRowSecurity:
                ops.append(ForceRLS(**base))
            elif sub == at.AT_NoForceRowSecurity:
                ops.append(NoForceRLS(**base))
            else:
                detail = getattr(sub, "name", str(sub))
                ops.append(OtherStatement(
                    statement=f"AlterTableStmt({detail})", table=_qual(schema, table), **kw
                ))
        return ops

    # ------------------------------------------------------------------ DROP / RENAME

    def drop(self, node: Any, loc: Location) -> list[Operation]:
        kw = self.kw(loc)
        ot = enums.ObjectType
        kind = node.removeType
        if_exists = bool(node.missing_ok)
        cascade = node.behavior == enums.DropBehavior.DROP_CASCADE
        ops: list[Operation] = []
        for obj in node.objects or ():
            if kind == ot.OBJECT_TYPE:
                names = _names(obj.names) if isinstance(obj, ast.TypeName) else _names(obj)
            elif isinstance(obj, (tuple, list)):
                names = _names(obj)
            else:
                names = [_sval(obj)]
            if kind == ot.OBJECT_TABLE:
                schema, name = _split_names(names)
                ops.append(DropTable(
                    table=name, schema=schema, if_exists=if_exists, cascade=cascade, **kw
                ))
            elif kind == ot.OBJECT_INDEX:
                schema, name = _split_names(names)
                ops.append(DropIndex(
                    name=name, schema=schema, concurrently=bool(node.concurrent),
                    if_exists=if_exists, cascade=cascade, **kw,
                ))
            elif kind == ot.OBJECT_SCHEMA:
                ops.append(DropSchema(name=names[-1], if_exists=if_exists, cascade=cascade, **kw))
            elif kind == ot.OBJECT_TYPE:
                schema, name = _split_names(names)
                ops.append(DropType(
                    name=name, schema=schema, if_exists=if_exists, cascade=cascade, **kw
                ))
            elif kind == ot.OBJECT_POLICY:
                schema, table = _split_names(names[:-1])
                ops.append(DropPolicy(
                    name=names[-1], table=table, schema=schema, if_exists=if_exists, **kw
                ))
        if ops:
            return ops
        detail = getattr(kind, "name", str(kind))
        owner: str | None = None
        if kind in (ot.OBJECT_TRIGGER, ot.OBJECT_RULE) and node.objects:
            names = _names(node.objects[0])
            if len(names) >= 2:
                schema, bare = _split_names(names[:-1])
                owner = _qual(schema, bare)
        return [OtherStatement(statement=f"DropStmt({detail})", table=owner, **kw)]

    def rename(self, node: Any, loc: Location) -> list[Operation]:
        kw = self.kw(loc)
        ot = enums.ObjectType
        kind = node.renameType
        schema, name = _rv(node.relation)
        new_name = str(node.newname)
        if kind == ot.OBJECT_TABLE:
            return [RenameTable(table=name, new_name=new_name, schema=schema, **kw)]
        if kind == ot.OBJECT_COLUMN and node.relationType == ot.OBJECT_TABLE:
            return [RenameColumn(
                table=name, column=str(node.subname), new_name=new_name, schema=schema, **kw
            )]
        if kind == ot.OBJECT_INDEX:
            return [RenameIndex(name=name, new_name=new_name, schema=schema, **kw)]
        if kind == ot.OBJECT_TABCONSTRAINT:
            return [RenameConstraint(
                table=name, name=str(node.subname), new_name=new_name, schema=schema, **kw
            )]
        detail = getattr(kind, "name", str(kind))
        table = _qual(schema, name) if node.relation is not None else None
        return [OtherStatement(statement=f"RenameStmt({detail})", table=table, **kw)]

    # ------------------------------------------------------------------ DO blocks

    def do_block(
        self, node: Any, loc: Location, offset: Callable[[int], int] | None = None
    ) -> list[Operation]:
        """Operations of a DO statement, all at ``loc``. With ``offset`` (the DO is in
        ``self.text``), comments inside a dollar-quoted body join ``comments``: a waiver
        written next to the statement it excuses, inside the body, is still seen."""
        kw = self.kw(loc)
        body: str | None = None
        language = "plpgsql"
        for arg in node.args or ():
            if arg.defname == "as":
                body = _sval(arg.arg)
                if offset is not None and arg.location is not None:
                    self.body_comments(offset(int(arg.location)), body)
            elif arg.defname == "language":
                language = _sval(arg.arg).lower()
        snippet = (body or "").strip()[:300]
        if body is None:
            return [Unresolved(reason="DO block without a body", **kw)]
        if language != "plpgsql":
            return [Unresolved(
                reason=f"DO block in language {language} is not analysed", snippet=snippet, **kw
            )]
        tag = "$b03lint$"
        while tag in body:
            tag = tag[:-1] + "_$"
        source = f"CREATE FUNCTION b03lint_do() RETURNS void LANGUAGE plpgsql AS {tag}{body}{tag}"
        try:
            tree = parse_plpgsql(_sanitize(source))
        except ParseError as exc:
            message = str(exc.args[0]) if exc.args else str(exc)
            self.result.diagnostics.append(Diagnostic(
                code=SYNTAX_ERROR_CODE,
                message=f"SQL syntax error: PL/pgSQL in DO block: {message}",
                loc=Location(loc.path, loc.line, loc.column),
                severity="blocking",
            ))
            return [Unresolved(reason=f"DO block PL/pgSQL does not parse: {message}",
                               snippet=snippet, **kw)]
        ops: list[Operation] = []
        try:
            action = tree[0]["PLpgSQL_function"]["action"]
        except (IndexError, KeyError, TypeError):
            action = None
        if action is not None:
            self.plpgsql([action], body, loc, ops)
        if not ops:
            ops.append(OtherStatement(statement="DoStmt", **kw))
        return ops

    def body_comments(self, at: int, body: str) -> None:
        tag = _DOLLAR_TAG_RE.match(self.text, at)
        if tag is None:
            return  # a '...' body: its text differs from the source ('' escapes); skip
        start, end = tag.end(), tag.end() + len(body)
        if end > len(self.text):
            return
        self.collect_comments(
            [(s, e) for kind, s, e in _events(self.text, start, end) if kind == "comment"]
        )

    def plpgsql(
        self, statements: list[Any], body: str, loc: Location, ops: list[Operation]
    ) -> None:
        """Append the operations of PL/pgSQL ``statements`` (parse_plpgsql's JSON) to
        ``ops``; what cannot be flattened honestly becomes :class:`Unresolved`."""
        kw = self.kw(loc)
        lines = body.splitlines()
        for item in statements:
            if not isinstance(item, dict) or len(item) != 1:
                continue
            ((kind, data),) = item.items()
            if kind == "PLpgSQL_stmt_block":
                self.plpgsql(data.get("body") or [], body, loc, ops)
                handlers = (data.get("exceptions") or {}).get("PLpgSQL_exception_block") or {}
                for handler in handlers.get("exc_list") or []:
                    exception = handler.get("PLpgSQL_exception") or {}
                    actions = exception.get("action") or []
                    inner: list[Operation] = []
                    self.plpgsql(actions, body, loc, inner)
                    if inner:
                        conditions = " OR ".join(
                            str((c.get("PLpgSQL_condition") or {}).get("condname", "?"))
                            for c in exception.get("conditions") or []
                        )
                        first: Any = next(iter(actions[0].values()), {}) if actions else {}
                        snippet = f"EXCEPTION WHEN {conditions} THEN " + _line_at(
                            lines, first.get("lineno") if isinstance(first, dict) else None
                        )
                        ops.append(Unresolved(
                            reason="EXCEPTION handler in DO block runs only if the block fails",
                            snippet=snippet.strip()[:300], table=_one_table(inner), **kw,
                        ))
            elif kind == "PLpgSQL_stmt_execsql":
                query = data["sqlstmt"]["PLpgSQL_expr"]["query"]
                ops.extend(self.embedded(query, loc, f"statement in DO block: {query}"))
            elif kind == "PLpgSQL_stmt_dynexecute":
                query = data["query"]["PLpgSQL_expr"]["query"]
                constant = _constant_string(query)
                if constant is None:
                    ops.append(Unresolved(
                        reason="EXECUTE of a string built at run time in DO block",
                        snippet=f"EXECUTE {query}"[:300], **kw,
                    ))
                else:
                    ops.extend(self.embedded(constant, loc, f"EXECUTE in DO block: {constant}"))
            elif kind in _PLPGSQL_NO_SCHEMA_EFFECT:
                continue
            else:
                inner = []
                for key in ("then_body", "else_body", "body"):
                    if isinstance(data.get(key), list):
                        self.plpgsql(data[key], body, loc, inner)
                for part in data.get("elsif_list") or []:
                    elsif = part.get("PLpgSQL_if_elsif") or {}
                    self.plpgsql(elsif.get("stmts") or [], body, loc, inner)
                for part in data.get("case_when_list") or []:
                    when = part.get("PLpgSQL_case_when") or {}
                    self.plpgsql(when.get("stmts") or [], body, loc, inner)
                label = _PLPGSQL_LABELS.get(kind, kind.removeprefix("PLpgSQL_stmt_").upper())
                ops.append(Unresolved(
                    reason=f"{label} in DO block: what runs depends on run-time state",
                    snippet=_line_at(lines, data.get("lineno")) or label,
                    table=_one_table(inner), **kw,
                ))

    def embedded(self, sql: str, loc: Location, what: str) -> list[Operation]:
        """Operations of SQL found inside a DO block, all at ``loc``."""
        try:
            stmts = parse_sql(_sanitize(sql))
        except ParseError as exc:
            message = str(exc.args[0]) if exc.args else str(exc)
            self.result.diagnostics.append(Diagnostic(
                code=SYNTAX_ERROR_CODE, message=f"SQL syntax error: {message} ({what[:120]})",
                loc=Location(loc.path, loc.line, loc.column), severity="blocking",
            ))
            return [Unresolved(reason=f"unparsable {what[:120]}", snippet=sql[:300],
                               **self.kw(loc))]
        ops: list[Operation] = []
        for raw in stmts:
            ops.extend(self.statement(raw.stmt, loc))
        return ops


#: PL/pgSQL statements that cannot change the schema b03lint models (PERFORM and CALL
#: run a function, which is as opaque as a top-level SELECT f() -- an OtherStatement there)
_PLPGSQL_NO_SCHEMA_EFFECT = {
    "PLpgSQL_stmt_raise", "PLpgSQL_stmt_return", "PLpgSQL_stmt_assign",
    "PLpgSQL_stmt_getdiag", "PLpgSQL_stmt_assert", "PLpgSQL_stmt_perform",
    "PLpgSQL_stmt_call", "PLpgSQL_stmt_commit", "PLpgSQL_stmt_rollback",
    "PLpgSQL_stmt_open", "PLpgSQL_stmt_fetch", "PLpgSQL_stmt_close",
}
_PLPGSQL_LABELS = {
    "PLpgSQL_stmt_if": "IF", "PLpgSQL_stmt_case": "CASE", "PLpgSQL_stmt_loop": "LOOP",
    "PLpgSQL_stmt_while": "WHILE loop", "PLpgSQL_stmt_fori": "FOR loop",
    "PLpgSQL_stmt_fors": "FOR loop", "PLpgSQL_stmt_forc": "FOR loop",
    "PLpgSQL_stmt_dynfors": "FOR ... EXECUTE loop", "PLpgSQL_stmt_foreach_a": "FOREACH loop",
    "PLpgSQL_stmt_exit": "EXIT/CONTINUE", "PLpgSQL_stmt_return_query": "RETURN QUERY",
}
_QUALIFIED_NAME_RE = re.compile(
    r'(?:"(?:[^"]|"")*"|[^\W\d][\w$]*)(?:\s*\.\s*(?:"(?:[^"]|"")*"|[^\W\d][\w$]*))*'
)


def _line_at(lines: list[str], lineno: Any) -> str:
    if isinstance(lineno, int) and 1 <= lineno <= len(lines):
        return lines[lineno - 1].strip()[:300]
    return ""


def _one_table(ops: list[Operation]) -> str | None:
    tables = {op.table_name for op in ops if op.table_name}
    if len(tables) == 1:
        return tables.pop()
    return None


def _pglast_reports_bytes() -> bool:
    """Whether this pglast gives libpg_query's UTF-8 byte offsets for statement and node
    locations (pglast 8 converts them to character indices; checked once, at import)."""
    try:
        stmts = parse_sql("SELECT '\u00e9'; SELECT 1")
    except Exception:  # pragma: no cover - cannot happen with a working pglast
        return False
    return int(stmts[1].stmt_location or 0) == len("SELECT '\u00e9'; ".encode())


_PGLAST_BYTE_OFFSETS = _pglast_reports_bytes()


def _char_offset(text: str, byte_offset: int) -> int:
    """Character index in ``text`` of a UTF-8 byte offset into it."""
    return len(text.encode("utf-8")[:byte_offset].decode("utf-8", "ignore"))


def _offset_converter(text: str) -> Callable[[int], int]:
    """Maps pglast's offsets into ``text`` to character indices."""
    if not _PGLAST_BYTE_OFFSETS or text.isascii():
        return _identity
    return functools.partial(_char_offset, text)


def _identity(offset: int) -> int:
    return offset


def _error_offset(exc: ParseError) -> int | None:
    """Character offset of a ParseError (pglast reports character indices), or None for
    errors at the end of input."""
    if len(exc.args) > 1 and isinstance(exc.args[1], int):
        return int(exc.args[1])
    return None


def read_sql(
    text: str,
    *,
    path: str,
    position: Position | None = None,
    phase: Phase = "upgrade",
    via: str = "sql",
) -> SqlResult:
    """Read PostgreSQL ``text`` into operations, diagnostics and comments.

    :param path: the file the text belongs to (for every ``Location``)
    :param position: maps a character offset in ``text`` to ``(line, column)`` in that file
        (1-based line, 0-based column); by default the lines of ``text`` itself
    :param phase: stamped on every operation (``upgrade``/``downgrade``/``module``)
    :param via: stamped on every operation (e.g. ``op.execute``)

    Never raises for bad SQL: a statement PostgreSQL rejects is an ``I003`` diagnostic
    located at the error, and the statements around it are still read.
    """
    return _Reader(text, path, position or _line_position(text), phase, via).run()
