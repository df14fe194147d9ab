"""Static strings that remember where each of their characters is written.

A :class:`Text` is a string the reader knows statically (a literal, a constant, a
concatenation, a ``.format`` or f-string result, a ``textwrap.dedent``); ``position(i)``
maps character ``i`` back to the ``(line, column)`` of the ``.py`` file, so that findings
inside embedded SQL sit at the SQL's own line. The transformations here (dedent, strip,
replacing bind parameters) keep that map.
"""

from __future__ import annotations

import ast
import re
import textwrap
from bisect import bisect_right

from b03lint.readers.python.source import Pos, Source


class Text:
    """A statically known string, and where each of its characters is written.

    ``position(i)`` is the ``(line, column)`` in the file of character ``i``;
    ``position(len(text))`` is just after the last character (an exclusive end)."""

    __slots__ = ("at", "text")

    def __init__(self, text: str, at: Pos) -> None:
        self.text = text
        self.at = at  # start of the expression that produced the text

    def position(self, index: int) -> Pos:
        if not self.text:
            return self.at
        if index >= len(self.text):
            return self._end()
        return self._pos(max(index, 0))

    def _pos(self, index: int) -> Pos:
        return self.at

    def _end(self) -> Pos:
        line, column = self._pos(len(self.text) - 1)
        return (line, column + 1)


class FixedText(Text):
    """Text whose characters cannot be mapped exactly: everything maps to its start."""

    __slots__ = ()

    def _end(self) -> Pos:
        return self.at


class LiteralText(Text):
    """A string literal (possibly implicitly concatenated): mapped exactly, computed lazily."""

    __slots__ = ("_map", "_node", "_source")

    def __init__(self, text: str, at: Pos, node: ast.Constant, source: Source) -> None:
        super().__init__(text, at)
        self._node = node
        self._source = source
        self._map: list[Pos] | None = None

    def _mapped(self) -> list[Pos]:
        if self._map is None:
            self._map = self._source.literal_map(self._node) or []
        return self._map

    def _pos(self, index: int) -> Pos:
        mapped = self._mapped()
        return mapped[index] if mapped else self.at

    def _end(self) -> Pos:
        mapped = self._mapped()
        return mapped[len(self.text)] if mapped else self.at


class ConcatText(Text):
    __slots__ = ("_flat", "_parts")

    def __init__(self, parts: list[Text], at: Pos) -> None:
        super().__init__("".join(p.text for p in parts), at)
        self._parts = parts
        self._flat: tuple[list[int], list[Text]] | None = None

    def _leaves(self) -> tuple[list[int], list[Text]]:
        """The non-empty texts that are not concatenations, left to right, with their
        offsets: computed once and iteratively, since ``X = X + "..."`` written a few
        hundred times nests concatenations deeper than the recursion limit (and walking
        down on every lookup would be quadratic)."""
        if self._flat is None:
            offsets: list[int] = []
            leaves: list[Text] = []
            total = 0
            stack: list[Text] = [self]
            while stack:
                node = stack.pop()
                if isinstance(node, ConcatText):
                    stack.extend(reversed(node._parts))
                elif node.text:
                    offsets.append(total)
                    leaves.append(node)
                    total += len(node.text)
            self._flat = (offsets, leaves)
        return self._flat

    def _pos(self, index: int) -> Pos:
        offsets, leaves = self._leaves()
        k = bisect_right(offsets, index) - 1
        return leaves[k].position(index - offsets[k])

    def _end(self) -> Pos:
        _offsets, leaves = self._leaves()
        return leaves[-1].position(len(leaves[-1].text)) if leaves else self.at


class MappedText(Text):
    """Text derived from another by dropping characters (dedent, strip)."""

    __slots__ = ("_inner", "_map")

    def __init__(self, text: str, inner: Text, index_map: list[int]) -> None:
        super().__init__(text, inner.at)
        self._inner = inner
        self._map = index_map

    def _pos(self, index: int) -> Pos:
        return self._inner.position(self._map[index]) if self._map else self.at

    def _end(self) -> Pos:
        return self._inner.position(self._map[-1] + 1) if self._map else self.at


def dedent(inner: Text) -> Text:
    """``textwrap.dedent`` that keeps the character map (falls back to the start)."""
    expected = textwrap.dedent(inner.text)
    lines = inner.text.split("\n")
    margin: str | None = None
    for line in lines:
        if not line.strip(" \t"):
            continue
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if margin is None:
            margin = indent
        else:
            common = 0
            for x, y in zip(margin, indent, strict=False):
                if x != y:
                    break
                common += 1
            margin = margin[:common]
    margin = margin or ""
    out: list[str] = []
    index_map: list[int] = []
    offset = 0
    for number, line in enumerate(lines):
        if line and not line.strip(" \t"):
            skip = len(line)
        elif margin and line.startswith(margin):
            skip = len(margin)
        else:
            skip = 0
        out.append(line[skip:])
        index_map.extend(range(offset + skip, offset + len(line)))
        if number < len(lines) - 1:
            out.append("\n")
            index_map.append(offset + len(line))
        offset += len(line) + 1
    text = "".join(out)
    if text != expected:
        return FixedText(expected, inner.at)
    return MappedText(text, inner, index_map)


#: SQLAlchemy's own patterns for ``text()``: a ``:name`` bind parameter, and ``\\:``
#: escaping a literal colon
_SA_BIND_RE = re.compile(r"(?<![:\w\x5c]):(\w+)(?!:)")
_SA_BIND_ESCAPE_RE = re.compile(r"\x5c(:[\w\$]*)(?![:\w\$])")
#: the pyformat / format parameters of psycopg and psycopg2, and ``%%``
_IN_BEFORE = re.compile(r"\bin\s*$", re.IGNORECASE)
_DRIVER_PARAM_RE = re.compile(r"%\(\w+\)s|%s|%%")


def rewrite(inner: Text, edits: list[tuple[int, int, str]]) -> Text:
    """Replace spans of ``inner`` (sorted, not overlapping), keeping the character map:
    each replacement character maps to the replaced span (its start, then along)."""
    if not edits:
        return inner
    text = inner.text
    out: list[str] = []
    index_map: list[int] = []
    last = 0
    for start, stop, replacement in edits:
        out.append(text[last:start])
        index_map.extend(range(last, start))
        out.append(replacement)
        index_map.extend(min(start + k, stop - 1) for k in range(len(replacement)))
        last = stop
    out.append(text[last:])
    index_map.extend(range(last, len(text)))
    return MappedText("".join(out), inner, index_map)


def _param(length: int) -> str:
    """A PostgreSQL parameter reference padded to ``length`` (so columns stay put)."""
    return "$1".ljust(max(length, 2))


def sa_text_params(inner: Text) -> Text:
    text = inner.text
    if ":" not in text:
        return inner
    edits = [(m.start(), m.start() + 1, "") for m in _SA_BIND_ESCAPE_RE.finditer(text)]
    escaped = {m.start() + 1 for m in _SA_BIND_ESCAPE_RE.finditer(text)}
    for m in _SA_BIND_RE.finditer(text):
        if m.start() in escaped:
            continue
        length = m.end() - m.start()
        if _IN_BEFORE.search(text, max(0, m.start() - 40), m.start()):
            # `IN :names` with an expanding bind parameter: SQLAlchemy renders a list
            edits.append((m.start(), m.end(), "($1)".ljust(length)))
        else:
            edits.append((m.start(), m.end(), _param(length)))
    return rewrite(inner, sorted(edits))


def driver_params(inner: Text) -> Text:
    if "%" not in inner.text:
        return inner
    edits = [
        (m.start(), m.end(), "%" if m.group() == "%%" else _param(m.end() - m.start()))
        for m in _DRIVER_PARAM_RE.finditer(inner.text)
    ]
    return rewrite(inner, edits)


def strip_text(inner: Text, how: str, chars: str | None) -> Text:
    text = inner.text
    start, end = 0, len(text)
    if how in ("strip", "lstrip"):
        start = len(text) - len(text.lstrip(chars))
    if how in ("strip", "rstrip"):
        end = len(text.rstrip(chars))
    end = max(start, end)
    return MappedText(text[start:end], inner, list(range(start, end)))
