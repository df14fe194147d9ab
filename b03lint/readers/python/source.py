"""The decoded source of one migration: its lines, columns in characters (``ast`` gives
UTF-8 byte offsets), snippets, and where each character of a string literal is written.

Decoding (the ``coding:`` cookie, a BOM, bad bytes) and parsing with ``ast`` live here
too: what goes wrong there is a fatal :class:`Diagnostic` with the line, never a traceback.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
import unicodedata
import warnings
from itertools import repeat

from b03lint.operations import Diagnostic, Location

Pos = tuple[int, int]

#: how many characters of source an Unresolved snippet keeps
SNIPPET_LIMIT = 200

NEWLINE = re.compile(r"\r\n|\r|\n")


def clip(text: str, limit: int = SNIPPET_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Source:
    """The decoded source split in lines, with byte-to-character column conversion."""

    def __init__(self, text: str, path: str) -> None:
        self.text = text
        self.path = path
        self.lines = NEWLINE.split(text)
        #: every column is then its byte offset (most migrations: no line is looked at)
        self.ascii = text.isascii()

    def col(self, line: int, byte_col: int) -> int:
        if self.ascii or not 1 <= line <= len(self.lines):
            return byte_col
        s = self.lines[line - 1]
        if s.isascii():
            return byte_col
        return len(s.encode("utf-8")[:byte_col].decode("utf-8", "replace"))

    def start(self, node: ast.AST) -> Pos:
        line = getattr(node, "lineno", 1)
        return (line, self.col(line, getattr(node, "col_offset", 0)))

    def loc(self, node: ast.AST) -> Location:
        line, col = self.start(node)
        end_line = getattr(node, "end_lineno", None)
        end_col = getattr(node, "end_col_offset", None)
        if end_line is not None and end_col is not None:
            end_col = self.col(end_line, end_col)
        return Location(self.path, line, col, end_line, end_col)

    def span(self, first: ast.AST, last: ast.AST) -> Location:
        a, b = self.loc(first), self.loc(last)
        return Location(self.path, a.line, a.column, b.end_line, b.end_column)

    def segment(self, node: ast.AST) -> str:
        loc = self.loc(node)
        if loc.end_line is None or loc.end_column is None:
            return ""
        if loc.line == loc.end_line:
            return self.lines[loc.line - 1][loc.column : loc.end_column]
        parts = [self.lines[loc.line - 1][loc.column :]]
        parts.extend(self.lines[loc.line : loc.end_line - 1])
        parts.append(self.lines[loc.end_line - 1][: loc.end_column])
        return "\n".join(parts)

    def snippet(self, node: ast.AST) -> str:
        text = self.segment(node)
        if len(text) > SNIPPET_LIMIT:
            text = text[: SNIPPET_LIMIT - 1] + "…"
        return text

    def literal_map(self, node: ast.Constant) -> list[Pos] | None:
        """Where each character of a string literal's value is written, or None when the
        raw source could not be walked exactly (then callers use the literal's start)."""
        if node.end_lineno is None or node.end_col_offset is None:
            return None
        first, a0 = self.start(node)
        last = node.end_lineno
        b_last = self.col(last, node.end_col_offset)
        slices: list[str] = []
        where: list[Pos] = []
        for ln in range(first, last + 1):
            line = self.lines[ln - 1]
            a = a0 if ln == first else 0
            b = b_last if ln == last else len(line)
            slices.append(line[a:b])
            where.extend(zip(repeat(ln), range(a, b)))
            if ln != last:
                where.append((ln, b))
        seg = "\n".join(slices)
        simple = _plain_literal_body(seg, node.value)
        if simple is not None:  # one literal, no escape: its characters are its source's
            start, size = simple
            return [*where[start:start + size], where[start + size] if size else where[0]]
        scanned = _scan_string_literals(seg, where)
        if scanned is None or scanned[0] != node.value:
            return None
        return scanned[1]  # one position per character, then the exclusive end


def _plain_literal_body(seg: str, value: object) -> tuple[int, int] | None:
    """Where the value of ``seg`` is, as ``(offset, length)``, when ``seg`` is one string
    literal with no backslash whose text between the quotes is ``value`` itself (most
    literals): then each character is written where it stands. None otherwise."""
    if "\\" in seg or not isinstance(value, str):
        return None
    j = 0
    while j < len(seg) and seg[j].isalpha():
        j += 1
    if j > 1 or seg[:j].lower() not in ("", "r", "u") or j >= len(seg) or seg[j] not in "'\"":
        return None
    quote = seg[j] * 3 if seg.startswith(seg[j] * 3, j) else seg[j]
    start, stop = j + len(quote), len(seg) - len(quote)
    if stop < start or not seg.endswith(quote) or seg[start:stop] != value:
        return None
    return start, stop - start


_SIMPLE_ESCAPES = {
    "\\": "\\", "'": "'", '"': '"', "a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r",
    "t": "\t", "v": "\v",
}
_HEX_ESCAPES = {"x": 2, "u": 4, "U": 8}


def _scan_string_literals(seg: str, where: list[Pos]) -> tuple[str, list[Pos]] | None:
    """Decode one or more adjacent str literals from raw source, keeping each decoded
    character's source position. None for anything unexpected (bytes, f-strings)."""
    out: list[str] = []
    pos: list[Pos] = []
    after: Pos | None = None  # just after the last decoded character
    i, n = 0, len(seg)
    while i < n:
        ch = seg[i]
        if ch in " \t\f\n\\":
            i += 1
            continue
        if ch == "#":
            while i < n and seg[i] != "\n":
                i += 1
            continue
        j = i
        while j < n and seg[j].isalpha():
            j += 1
        prefix = seg[i:j].lower()
        if any(c not in "ru" for c in prefix) or j >= n or seg[j] not in "'\"":
            return None
        raw = "r" in prefix
        quote = seg[j] * 3 if seg.startswith(seg[j] * 3, j) else seg[j]
        k = j + len(quote)
        emitted = len(out)
        while True:
            if k >= n:
                return None
            if seg.startswith(quote, k):
                if len(out) > emitted:
                    after = where[k]
                k += len(quote)
                break
            c = seg[k]
            if c != "\\":
                out.append(c)
                pos.append(where[k])
                k += 1
                continue
            if k + 1 >= n:
                return None
            nxt = seg[k + 1]
            if raw:
                out.extend((c, nxt))
                pos.extend((where[k], where[k + 1]))
                k += 2
            elif nxt == "\n":
                k += 2
            elif nxt in _SIMPLE_ESCAPES:
                out.append(_SIMPLE_ESCAPES[nxt])
                pos.append(where[k])
                k += 2
            elif nxt in "01234567":
                m = k + 1
                while m < n and m < k + 4 and seg[m] in "01234567":
                    m += 1
                out.append(chr(int(seg[k + 1 : m], 8)))
                pos.append(where[k])
                k = m
            elif nxt in _HEX_ESCAPES:
                width = _HEX_ESCAPES[nxt]
                digits = seg[k + 2 : k + 2 + width]
                try:
                    out.append(chr(int(digits, 16)))
                except ValueError:
                    return None
                pos.append(where[k])
                k += 2 + width
            elif nxt == "N" and k + 2 < n and seg[k + 2] == "{":
                end = seg.find("}", k + 3)
                if end < 0:
                    return None
                try:
                    out.append(unicodedata.lookup(seg[k + 3 : end]))
                except KeyError:
                    return None
                pos.append(where[k])
                k = end + 1
            else:  # unknown escape: both characters are kept
                out.extend((c, nxt))
                pos.extend((where[k], where[k + 1]))
                k += 2
        i = k
    pos.append(after if after is not None else (where[0] if where else (1, 0)))
    return "".join(out), pos


def decode(path: str, data: bytes, diagnostics: list[Diagnostic]) -> str | None:
    """The file's text, as Python decodes it; None (with a fatal diagnostic) when it cannot be."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        if "invalid or missing encoding declaration" in str(exc):
            encoding = "utf-8"  # bad bytes in the first lines: located below
        else:  # an unknown encoding, or a cookie that contradicts the BOM
            first = data.split(b"\n", 1)[0]
            line = 1 if b"coding" in first else 2
            diagnostics.append(
                Diagnostic(
                    code="I002",
                    message=f"cannot decode {path}: {exc}",
                    loc=Location(path, line),
                    fatal=True,
                )
            )
            return None
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        start = exc.start + (3 if encoding == "utf-8-sig" else 0)
        line = data.count(b"\n", 0, start) + 1
        column = start - (data.rfind(b"\n", 0, start) + 1)
        name = "utf-8" if encoding in ("utf-8", "utf-8-sig") else encoding
        diagnostics.append(
            Diagnostic(
                code="I002",
                message=f"cannot decode {path} as {name}: {exc.reason} "
                f"(byte 0x{data[start]:02x} at offset {start})"
                if start < len(data)
                else f"cannot decode {path} as {name}: {exc.reason}",
                loc=Location(path, line, column),
                fatal=True,
            )
        )
        return None
    except LookupError as exc:  # pragma: no cover - detect_encoding validates names
        diagnostics.append(
            Diagnostic(code="I002", message=f"cannot decode {path}: {exc}",
                       loc=Location(path, 1), fatal=True)
        )
        return None

def parse(path: str, text: str, diagnostics: list[Diagnostic]) -> ast.Module | None:
    """The module's syntax tree; None (with a fatal diagnostic) for a syntax error."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(text, filename=path)
    except SyntaxError as exc:
        line = exc.lineno or 1
        column = max((exc.offset or 1) - 1, 0)
        end_line = exc.end_lineno if exc.end_lineno and exc.end_lineno >= line else None
        end_column = max(exc.end_offset - 1, 0) if end_line and exc.end_offset else None
        diagnostics.append(
            Diagnostic(
                code="I001",
                message=f"syntax error: {exc.msg}",
                loc=Location(path, line, column, end_line, end_column),
                fatal=True,
            )
        )
    except (RecursionError, MemoryError, ValueError, OverflowError) as exc:
        diagnostics.append(
            Diagnostic(
                code="I001",
                message=f"cannot parse {path}: {type(exc).__name__}: {exc}",
                loc=Location(path, 1),
                fatal=True,
            )
        )
    return None
