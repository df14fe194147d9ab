"""pglast's parser behind the guards every parse here goes through, and the offsets it
reports.

:func:`parse_sql` refuses (with a ``ParseError``, so an ``I003``, never a crash or a stall)
operator chains nested deeper than :data:`MAX_OPERATOR_DEPTH`, which crash pglast, and
operator runs longer than :data:`MAX_OPERATOR_RUN`, which are quadratic in PostgreSQL's
scanner. The guards live here, in the layer they protect. Whether the installed pglast
reports UTF-8 byte offsets or character indices is checked once, at import
(:data:`PGLAST_BYTE_OFFSETS`), and :func:`offset_converter` maps them to ``str`` indices.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from pglast.parser import ParseError
from pglast.parser import split as _split

from b03lint.readers.sql.fastparse import parse_sql as _pglast_parse_sql
from b03lint.readers.sql.lexer import events

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


def _operator_depth(text: str) -> tuple[int, int]:
    """An upper estimate of how deep the deepest chain of binary operators in ``text``
    nests, and where it gets deepest. Parentheses nest (what is inside adds to the chain
    around it); a comma, AND, OR or ``;`` starts a new chain (PostgreSQL flattens AND/OR
    into one node and lists are flat). Strings, quoted names, dollar quotes and comments do
    not count."""
    stack = [0]
    total = deepest = where = 0
    skip_to = 0
    for tok, at, _end in events(text, 0, len(text), _DEPTH_RE):
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


#: the characters of which every operator counted by :func:`_operator_depth` has one at
#: least (``::`` is counted apart)
_OPERATOR_CHARS = "-+*/%^<>=|&#~!@?"


def _operator_bound(text: str) -> int:
    """An upper bound of :func:`_operator_depth` found in C: every operator the scan counts
    holds one operator character at least or is a ``::``, so a text with fewer of those
    than the limit cannot nest deeper (a schema dump of 3,000 tables has a few thousand;
    the scan, in Python, was a tenth of reading one)."""
    return sum(map(text.count, _OPERATOR_CHARS)) + text.count("::")


def _guard(text: str) -> None:
    """Refuse (``ParseError``) what would stall or crash pglast (see the module doc)."""
    """pglast's ``parse_sql`` (its tree built from the C parser's JSON:
    :mod:`~b03lint.readers.sql.fastparse`), refusing (with a :class:`ParseError`) text whose operators
    nest deeper than :data:`MAX_OPERATOR_DEPTH`, which would crash the process."""
    if len(text) > MAX_OPERATOR_RUN:
        for run in _OPERATOR_RUN_RE.finditer(text):
            chars = set(run.group())
            if len(chars) > 1 or "+" in chars:
                raise ParseError(f"a run of {len(run.group()):,} operator characters, more than "
                                 f"the {MAX_OPERATOR_RUN:,} b03lint's SQL parser reads in "
                                 "reasonable time", run.start())
    if len(text) >= _DEPTH_SCAN_FROM and _operator_bound(text) > MAX_OPERATOR_DEPTH:
        depth, at = _operator_depth(text)
        if depth > MAX_OPERATOR_DEPTH:
            raise ParseError(f"operators nested about {depth:,} deep, more than the "
                             f"{MAX_OPERATOR_DEPTH:,} b03lint's SQL parser can read safely", at)


def parse_sql(text: str) -> tuple[Any, ...]:
    """pglast's ``parse_sql`` (its tree built from the C parser's JSON:
    :mod:`~b03lint.readers.sql.fastparse`), refusing (with a :class:`ParseError`) text
    whose operators nest deeper than :data:`MAX_OPERATOR_DEPTH`, which would crash the
    process."""
    _guard(text)
    stmts: tuple[Any, ...] = _pglast_parse_sql(text)
    return stmts


def statement_spans(text: str) -> list[tuple[int, int]]:
    """Where each statement of ``text`` is (character offsets, without the surrounding
    whitespace and ``;``), as PostgreSQL's parser splits it (pglast's ``split``, in C:
    no syntax tree is kept); ``ParseError`` when ``text`` does not parse, as from
    :func:`parse_sql`. Parsing a long text statement by statement keeps one statement's
    tree in memory at a time instead of the whole file's."""
    _guard(text)
    try:
        spans = [(s.start, s.stop) for s in _split(text, with_parser=True, only_slices=True)]
    except ParseError:
        parse_sql(text)  # the error exactly as a whole parse reports it
        raise
    return spans


def _pglast_reports_bytes() -> bool:
    """Whether this pglast gives libpg_query's UTF-8 byte offsets for statement and node
    locations (pglast 8 converts them to character indices; checked once, at import)."""
    try:
        stmts = parse_sql("SELECT '\u00e9'; SELECT 1")
    except Exception:  # pragma: no cover - cannot happen with a working pglast
        return False
    return int(stmts[1].stmt_location or 0) == len("SELECT '\u00e9'; ".encode())


PGLAST_BYTE_OFFSETS = _pglast_reports_bytes()


def char_offset(text: str, byte_offset: int) -> int:
    """Character index in ``text`` of a UTF-8 byte offset into it."""
    return len(text.encode("utf-8")[:byte_offset].decode("utf-8", "ignore"))


def offset_converter(text: str) -> Callable[[int], int]:
    """Maps pglast's offsets into ``text`` to character indices."""
    if not PGLAST_BYTE_OFFSETS or text.isascii():
        return _identity
    return functools.partial(char_offset, text)


def _identity(offset: int) -> int:
    return offset


def error_offset(exc: ParseError) -> int | None:
    """Character offset of a ParseError (pglast reports character indices), or None for
    errors at the end of input."""
    if len(exc.args) > 1 and isinstance(exc.args[1], int):
        return int(exc.args[1])
    return None
