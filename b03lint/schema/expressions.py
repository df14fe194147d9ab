"""What an expression of a table (a CHECK, an index key or predicate, a policy, a generated
column) refers to, and the same expression after a column was renamed.

PostgreSQL stores these expressions by column number, not by name: renaming a column
changes how every expression that uses it prints (``pg_get_constraintdef``,
``pg_get_indexdef``, ``pg_get_expr``), and dropping a column drops, or refuses to drop, what
uses it. The replay needs both facts from the expression text, so the text is parsed with
PostgreSQL's grammar (pglast) and edited in place at the positions the parser reports:
nothing else of the author's spelling changes.

Text that does not parse as one expression gives ``None`` (what it refers to is not known)
and is left as it is by the renames.

Importing pglast and parsing is most of what a pre-commit run's replay costs on a real
history that drops columns under partial or expression indexes (onyx: 180 M of 1,380 M
instructions for the import alone). The answers depend on the text only, so within
:func:`remembering` they are taken from, and added to, a memo that outlives the run (the
parse cache's, see :func:`b03lint.sqlmemo.expression_memo`): the next run asks it first.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from b03lint.schema.model import quote_ident

if TYPE_CHECKING:
    from b03lint.readers.memo import SqlMemo

F = TypeVar("F", bound=Callable[..., Any])
#: the memo of the run in progress (:func:`remembering`), or None
_MEMO: list[SqlMemo | None] = [None]


@contextlib.contextmanager
def remembering(memo: SqlMemo | None) -> Iterator[None]:
    """While the block runs, the answers of :func:`referenced_columns`,
    :func:`rename_column` and :func:`rename_type` come from ``memo`` when it holds them,
    and go to it when they are computed."""
    outer = _MEMO[0]
    _MEMO[0] = memo
    try:
        yield
    finally:
        _MEMO[0] = outer


def _remembered(valid: Callable[[object], bool]) -> Callable[[F], F]:
    """Ask the run's memo before computing; ``valid``: the shape an answer must have (a
    memo entry of any other shape is computed again and replaced)."""
    def wrap(compute: F) -> F:
        name = compute.__name__

        @functools.wraps(compute)
        def remembered(*args: str | None) -> Any:
            memo = _MEMO[0]
            if memo is None:
                return compute(*args)
            # each argument length-prefixed: no two questions spell the same key
            key = memo.key("".join([f"expression.{name}",
                                    *("-" if a is None else f":{len(a)}:{a}" for a in args)]))
            hit = memo.take(key)
            if isinstance(hit, tuple) and len(hit) == 1 and valid(hit[0]):
                return hit[0]
            value = compute(*args)
            memo.keep(key, (value,))
            return value

        return remembered  # type: ignore[return-value]

    return wrap


def _names_or_none(value: object) -> bool:
    return value is None or (isinstance(value, frozenset)
                             and all(isinstance(v, str) for v in value))


def _text(value: object) -> bool:
    return isinstance(value, str)

_PREFIX = "SELECT "
_IDENT = r'(?:"(?:[^"]|"")*"|[^\W\d][\w$]*)'
_QUALIFIED_RE = re.compile(rf"{_IDENT}(?:\s*\.\s*{_IDENT})*")
_PART_RE = re.compile(_IDENT)


def _unquote(part: str) -> str:
    if part.startswith('"'):
        return part[1:-1].replace('""', '"')
    return part.lower()


@functools.lru_cache(maxsize=4096)
def _parse(expr: str) -> Any:
    """The expression node of ``SELECT <expr>``; None if ``expr`` is not one expression."""
    from pglast import ast

    from b03lint.readers.sql import parse_sql

    try:
        stmts = parse_sql(_PREFIX + expr)
    except Exception:
        return None
    if len(stmts) != 1 or not isinstance(stmts[0].stmt, ast.SelectStmt):
        return None
    select = stmts[0].stmt
    targets = select.targetList or ()
    if select.fromClause or select.whereClause or len(targets) != 1 or targets[0].name:
        return None
    return targets[0].val


def _walk(node: Any, in_subquery: bool = False) -> Iterator[tuple[Any, bool]]:
    """Every node below ``node`` with whether it sits inside a sub-SELECT."""
    from pglast import ast

    if isinstance(node, tuple | list):
        for item in node:
            yield from _walk(item, in_subquery)
        return
    if not isinstance(node, ast.Node):
        return
    yield node, in_subquery
    inner = in_subquery or isinstance(node, ast.SubLink | ast.RangeSubselect)
    for attr in node:
        yield from _walk(getattr(node, attr), inner)


def _fields(ref: Any) -> list[str] | None:
    from pglast import ast

    out = []
    for f in ref.fields or ():
        if not isinstance(f, ast.String):
            return None  # t.* or a subscript
        out.append(str(f.sval))
    return out


def _own_column(fields: list[str], table: str | None, in_subquery: bool) -> str | None:
    """The column of ``table`` a reference names, None when it names something else (a
    qualified column of another table, an unqualified name inside a sub-SELECT)."""
    if len(fields) == 1:
        return None if in_subquery else fields[0]
    if table is not None and len(fields) >= 2 and fields[-2] == table.split(".")[-1]:
        return fields[-1]
    return None


@functools.lru_cache(maxsize=4096)
@_remembered(_names_or_none)
def referenced_columns(expr: str, table: str | None = None) -> frozenset[str] | None:
    """The columns of ``table`` that ``expr`` uses (None when it does not parse)."""
    from pglast import ast

    node = _parse(expr)
    if node is None:
        return None
    out: set[str] = set()
    for sub, in_subquery in _walk(node):
        if isinstance(sub, ast.ColumnRef):
            fields = _fields(sub)
            if fields is None:
                continue
            column = _own_column(fields, table, in_subquery)
            if column is not None:
                out.add(column)
    return frozenset(out)


def _char_index(text: str, encoded: bytes, offset: int, byte_offsets: bool) -> int:
    if not byte_offsets or text.isascii():
        return offset
    return len(encoded[:offset].decode("utf-8", "ignore"))


@functools.lru_cache(maxsize=1)
def _byte_offsets() -> bool:
    from b03lint.readers.sql import parse_sql

    stmts = parse_sql("SELECT '\u00e9'; SELECT 1")
    return int(stmts[1].stmt_location or 0) == len("SELECT '\u00e9'; ".encode())


def rename_column(expr: str, old: str, new: str, table: str | None = None) -> str:
    """``expr`` with every reference to ``table``'s column ``old`` renamed to ``new``, as
    PostgreSQL prints it after ``RENAME COLUMN``. Unparseable text comes back unchanged."""
    if not _may_name(expr, old):
        return expr
    return _rename_column(expr, old, new, table)


def _may_name(expr: str, name: str) -> bool:
    """False when ``expr`` cannot spell the identifier ``name`` (in ASCII: neither bare,
    in any case, nor quoted), so nothing in it refers to ``name``."""
    if not (expr.isascii() and name.isascii()):
        return True
    return name.replace('"', '""').lower() in expr.lower()


@_remembered(_text)
def _rename_column(expr: str, old: str, new: str, table: str | None) -> str:
    from pglast import ast

    node = _parse(expr)
    if node is None:
        return expr
    text = _PREFIX + expr
    encoded = text.encode()
    byte_offsets = _byte_offsets()
    edits: list[tuple[int, int, str]] = []
    for sub, in_subquery in _walk(node):
        if not isinstance(sub, ast.ColumnRef) or sub.location is None:
            continue
        fields = _fields(sub)
        if fields is None or _own_column(fields, table, in_subquery) != old:
            continue
        at = _char_index(text, encoded, int(sub.location), byte_offsets)
        match = _QUALIFIED_RE.match(text, at)
        if match is None:
            continue
        parts = list(_PART_RE.finditer(text, at, match.end()))
        if not parts or _unquote(parts[-1].group()) != old:
            continue
        last = parts[-1]
        edits.append((last.start(), last.end(), quote_ident(new)))
    return _edit(expr, edits)


def _edit(expr: str, edits: list[tuple[int, int, str]]) -> str:
    text = _PREFIX + expr
    for start, end, replacement in sorted(edits, reverse=True):
        text = text[:start] + replacement + text[end:]
    return text[len(_PREFIX):]


def rename_type(expr: str, old: str, new: str) -> str:
    """``expr`` with every use of type ``old`` (a cast, ``'a'::old``) naming ``new``, as
    PostgreSQL prints it after ``ALTER TYPE old RENAME TO new``."""
    if old.split(".")[-1] not in expr:
        return expr
    return _rename_type(expr, old, new)


@_remembered(_text)
def _rename_type(expr: str, old: str, new: str) -> str:
    from pglast import ast

    node = _parse(expr)
    if node is None:
        return expr
    text = _PREFIX + expr
    encoded = text.encode()
    edits: list[tuple[int, int, str]] = []
    for sub, _inner in _walk(node):
        if not isinstance(sub, ast.TypeName) or sub.location is None:
            continue
        names = [str(n.sval) for n in sub.names or () if isinstance(n, ast.String)]
        if not names or names[-1] != old.split(".")[-1] or (
                len(names) > 1 and names[-2] not in ("public", *old.split(".")[:-1])):
            continue
        at = _char_index(text, encoded, int(sub.location), _byte_offsets())
        match = _QUALIFIED_RE.match(text, at)
        if match is None:
            continue
        parts = list(_PART_RE.finditer(text, at, match.end()))
        if parts and _unquote(parts[-1].group()) == names[-1]:
            edits.append((parts[-1].start(), parts[-1].end(), quote_ident(new)))
    return _edit(expr, edits)


def string_literal(expr: str) -> str | None:
    """The value of ``expr`` when it is a string literal, possibly cast (``'a'::status``)."""
    from pglast import ast

    node = _parse(expr)
    while isinstance(node, ast.TypeCast):
        node = node.arg
    if isinstance(node, ast.A_Const) and not node.isnull and isinstance(node.val, ast.String):
        return str(node.val.sval)
    return None


def drop_literal_casts(expr: str, types: frozenset[str]) -> str:
    """``expr`` without the ``::type`` casts of string literals to one of ``types``.

    PostgreSQL resolves an untyped literal to the type of the column it is compared with and
    stores the cast: ``status = 'new'`` prints as ``status = 'new'::status`` for an enum
    column. For an enum type (``types``) the cast cannot change the value, so the two
    spellings are one expression."""
    from pglast import ast

    if not types or "::" not in expr:
        return expr
    node = _parse(expr)
    if node is None:
        return expr
    text = _PREFIX + expr
    encoded = text.encode()
    edits: list[tuple[int, int, str]] = []
    for sub, _inner in _walk(node):
        if not (isinstance(sub, ast.TypeCast) and isinstance(sub.arg, ast.A_Const)
                and isinstance(sub.arg.val, ast.String) and sub.typeName is not None
                and sub.location is not None and sub.typeName.location is not None
                and not sub.typeName.typmods and not sub.typeName.arrayBounds):
            continue
        names = [str(n.sval) for n in sub.typeName.names or () if isinstance(n, ast.String)]
        if not names or bare(".".join(names)) not in types:
            continue
        at = _char_index(text, encoded, int(sub.location), _byte_offsets())
        if not text.startswith("::", at):
            continue  # CAST(... AS type): left as written
        type_at = _char_index(text, encoded, int(sub.typeName.location), _byte_offsets())
        match = _QUALIFIED_RE.match(text, type_at)
        if match is not None:
            edits.append((at, match.end(), ""))
    return _edit(expr, edits)


def bare(name: str) -> str:
    """A name after the default search path: ``public.x`` is ``x``."""
    return name[len("public."):] if name.startswith("public.") else name


_NEXTVAL_RE = re.compile(
    r"""nextval\(\s*'((?:[^']|'')+)'\s*(?:::\s*regclass\s*)?\)""", re.IGNORECASE)


def canonical_nextval(expr: str) -> str:
    """``nextval('public.s')``, ``nextval('s'::regclass)`` and the like as PostgreSQL
    stores a default drawing from sequence ``s`` of the search path: ``nextval('s'::regclass)``."""
    if "nextval" not in expr.lower():
        return expr
    return _NEXTVAL_RE.sub(lambda m: f"nextval('{bare(m.group(1))}'::regclass)", expr)
