"""SQL text -> statements and comments, without parsing: a small lexer that knows
string literals (``'...'``, ``E'...'``), quoted names, dollar quotes and nested comments,
so that ``;`` inside any of them never splits a statement. Never raises, also not on
unterminated quotes. Used to recover around a statement PostgreSQL rejects, to find the
comments (waivers) and to locate ALTER TABLE subcommands."""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterator
from typing import NamedTuple

Position = Callable[[int], tuple[int, int]]

_SPLIT_RE = re.compile(r"--|/\*|'|\"|\$|;")
DETAIL_RE = re.compile(r"--|/\*|'|\"|\$|;|[(),\[\]]")
_BLOCK_RE = re.compile(r"/\*|\*/")
_ESCAPE_STRING_RE = re.compile(r"[\\']")
# (``\w`` is Unicode-aware; explicit \u0080-\U0010ffff ranges cost ~9 ms to compile)
DOLLAR_TAG_RE = re.compile(r"\$(?:[^\W\d]\w*)?\$")
_WS_RE = re.compile(r"\s*")
ATOMIC_RE = re.compile(r"\bbegin\s+atomic\b", re.IGNORECASE)
#: how many ``;``-separated pieces a BEGIN ATOMIC body may span in error recovery
ATOMIC_MAX_PIECES = 64
_BAD_CHARS_RE = re.compile("[\x00\ud800-\udfff]")


def _is_ident_char(ch: str) -> bool:
    return ch.isalnum() or ch in "_$" or ord(ch) >= 0x80


def block_comment_end(text: str, at: int, end: int) -> int:
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


def events(
    text: str, start: int, end: int, pattern: re.Pattern[str] = _SPLIT_RE
) -> Iterator[tuple[str, int, int]]:
    """Yield ``("comment", start, end)`` and punctuation events (``;``, and with
    :data:`DETAIL_RE` also ``( ) [ ] ,``) outside string literals, quoted identifiers,
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
            stop = block_comment_end(text, at, end)
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
            tm = DOLLAR_TAG_RE.match(text, at, end)
            if tm is None:
                pos = at + 1
                continue
            tag = tm.group()
            close = text.find(tag, tm.end(), end)
            pos = end if close < 0 else close + len(tag)
        else:
            yield tok, at, at + 1
            pos = at + 1


class Lexed(NamedTuple):
    statements: list[tuple[int, int]]
    comments: list[tuple[int, int]]


def skip_ws_comments(text: str, pos: int, end: int) -> int:
    while True:
        m = _WS_RE.match(text, pos, end)
        pos = m.end() if m else pos
        if text.startswith("--", pos) and pos < end:
            nl = text.find("\n", pos, end)
            pos = end if nl < 0 else nl
        elif text.startswith("/*", pos) and pos < end:
            pos = block_comment_end(text, pos, end)
        else:
            return min(pos, end)


def trim_end(text: str, start: int, end: int, comment_starts: dict[int, int]) -> int:
    """``end`` moved back over trailing whitespace and comments (not before ``start``)."""
    while end > start:
        stripped = start + len(text[start:end].rstrip())
        if stripped in comment_starts and comment_starts[stripped] >= start:
            end = comment_starts[stripped]
            continue
        return stripped
    return start


def lex(text: str) -> Lexed:
    statements: list[tuple[int, int]] = []
    comments: list[tuple[int, int]] = []
    piece = 0
    for kind, s, e in events(text, 0, len(text)):
        if kind == "comment":
            comments.append((s, e))
        else:  # ";"
            statements.append((piece, s))
            piece = e
    statements.append((piece, len(text)))
    return Lexed(statements, comments)


def split_statements(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` character spans of the statements in ``text``: split at ``;``
    outside quotes, dollar quotes and comments, each span trimmed of surrounding whitespace
    and comments (the ``;`` is not included); empty statements are dropped. Never raises,
    also not on unterminated quotes."""
    lexed = lex(text)
    ends = {e: s for s, e in lexed.comments}
    spans = []
    for s, e in lexed.statements:
        first = skip_ws_comments(text, s, e)
        if first >= e:
            continue
        spans.append((first, trim_end(text, first, e, ends)))
    return spans


def line_position(text: str) -> Position:
    starts = [0]
    starts.extend(m.end() for m in re.finditer("\n", text))

    def position(offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(starts, offset)
        return line, offset - starts[line - 1]

    return position


def sanitize(text: str) -> str:
    """Same length, but safe for libpg_query (no NUL, no lone surrogates)."""
    return _BAD_CHARS_RE.sub(" ", text) if _BAD_CHARS_RE.search(text) else text
