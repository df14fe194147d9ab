"""Read an Alembic revision file statically: ``ast`` + ``tokenize``, never import or execute.

:func:`read_migration` turns one revision file into a :class:`~b03lint.operations.MigrationFile`:
the revision metadata (``revision``, ``down_revision``, ``branch_labels``, ``depends_on``),
the docstring's first line, every ``#`` comment by line, and the :class:`Operation` objects
that ``upgrade()`` and ``downgrade()`` perform.

How the body is read:

* every ``op.<name>(...)`` call (whatever name ``alembic.op`` is imported under) and every
  ``batch_op.<name>(...)`` inside ``with op.batch_alter_table(...) as batch_op:`` maps to the
  operation vocabulary;
* SQL handed to ``op.execute``, ``op.get_bind().execute``, ``conn.execute`` or
  ``conn.exec_driver_sql`` is resolved statically (literals, module constants, local
  variables holding literals, ``+`` and implicit concatenation, ``textwrap.dedent``,
  f-strings whose placeholders are themselves static) and handed to the SQL reader with a
  ``position`` callback that maps each character of the SQL back to the line and column of
  the ``.py`` file where it is written, so findings and waivers sit at the statement's own
  line;
* ``for x in <literal sequence>:`` loops are unrolled with the loop variable substituted;
* whatever could change the schema but cannot be known statically (a variable built at run
  time, a helper function, a loop over run-time data, a condition, a ``try``) becomes an
  :class:`Unresolved` operation at its location. Nothing is silently dropped.

Numbers in :class:`Location` are 1-based lines and 0-based *character* columns (``ast``
reports UTF-8 byte offsets; they are converted so that columns agree with the SQL reader's
and with what editors show).

What the reader models the way Alembic and SQLAlchemy really behave (checked against
Alembic's offline SQL output):

* ``op.create_table`` creates the enum types of its ``sa.Enum`` columns (a
  :class:`CreateEnumType` before the table, unless ``create_type=False``); ``op.add_column``
  and ``op.alter_column`` do *not* (PostgreSQL then fails with "type does not exist" unless
  the type was created first, e.g. with ``sa.Enum(...).create(op.get_bind())``, which is
  read as a :class:`CreateEnumType`).
* The table's autoincrement column (one integer primary-key column without default,
  identity or foreign key) is a SERIAL: NOT NULL with the ``nextval(...)`` default
  PostgreSQL stores, the same text the SQL reader gives ``serial``.
* ``CreateTable`` has the SQL reader's shape: primary-key columns are ``primary_key`` and
  NOT NULL, and every constraint, column-level ones included, is in ``constraints``.
  ``index=True`` gives ``ix_<table>_<column>`` (unique when ``unique=True`` too).
* A string given to ``op.execute`` is wrapped in ``sa.text()`` by Alembic: its ``:name``
  bind parameters are replaced by a parameter PostgreSQL's grammar accepts (same length,
  so positions hold); ``exec_driver_sql`` gets the driver's ``%(name)s`` / ``%s`` replaced.
* ``bind.dialect.name`` is ``"postgresql"``, so ``if bind.dialect.name == "postgresql":``
  is decided statically. A condition, ``try``, ``while`` or unknown loop gets an
  :class:`Unresolved` marker in front of the operations read inside it (naming their
  table when they all concern one); a block with no operation gets no marker.

The SQL reader (``b03lint.readers.sql``, which imports pglast) is imported lazily, only for a
file that has SQL, a CHECK constraint or a textual index element.
"""

from __future__ import annotations

import ast
import builtins
import hashlib
import importlib
import io
import re
import textwrap
import tokenize
import unicodedata
import warnings
from bisect import bisect_right
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol, cast

from b03lint.operations import (
    AddColumn,
    AddConstraint,
    AlterColumnDefault,
    AlterColumnNullable,
    AlterColumnType,
    ColumnDef,
    ConstraintDef,
    ConstraintKind,
    CreateEnumType,
    CreateIndex,
    CreateTable,
    DataChange,
    Diagnostic,
    DropColumn,
    DropConstraint,
    DropIndex,
    DropTable,
    DropType,
    ForeignKeyRef,
    IndexElement,
    Location,
    MigrationFile,
    Operation,
    OtherStatement,
    Phase,
    RenameColumn,
    RenameTable,
    Unresolved,
)
from b03lint.sqltypes import normalize_type, serial_default

__all__ = ["read_migration"]

Pos = tuple[int, int]

#: how many characters of source an Unresolved snippet keeps
SNIPPET_LIMIT = 200
#: loop iterations unrolled per file at most; beyond, loops are reported as Unresolved
UNROLL_LIMIT = 2000
#: expressions nested deeper than this are not evaluated
EVAL_DEPTH_LIMIT = 60
#: a string *computed* by the reader (``+``, ``*``, ``%``, ``.format``, f-strings, ``join``,
#: ``replace``, padding) may be at most this long, or twice the file's size when that is
#: more; literals written in the file are not limited. Beyond, the value is not known
#: statically: ``X = X + X`` twenty times in a 300-byte file would otherwise build 10 MB,
#: and thirty times 10 GB.
COMPUTED_TEXT_LIMIT = 1_000_000
#: a computed integer may have at most this many bits (``X = X * X`` squares it)
COMPUTED_INT_BITS = 4096
#: a computed list, tuple or dict may hold at most this many items (``L = L + L``)
COMPUTED_ITEMS_LIMIT = 100_000
#: characters of SQL handed to the SQL reader per file, at least; or this many times the
#: file's size when that is more. Executing one big constant in a loop or many times over
#: would otherwise read far more SQL than the file holds; what exceeds the budget is
#: reported as unresolved, never skipped silently.
SQL_BUDGET = 1_000_000
SQL_BUDGET_FACTOR = 2
#: a width or precision this long in a format spec is not evaluated (``'%0400000000d'``)
_HUGE_SPEC = re.compile(r"\d{5,}")
_HUGE_PERCENT = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(?:\*|\d{5,}|\d*\.(?:\*|\d{5,}))")

_NEWLINE = re.compile(r"\r\n|\r|\n")


def read_migration(path: str, data: bytes) -> MigrationFile:
    """Read one Alembic revision file statically.

    ``path`` is the display path used in every :class:`Location`; ``data`` the file's raw
    bytes. Never raises: unreadable input becomes a fatal :class:`Diagnostic`.
    """
    mf = MigrationFile(path=path, digest=hashlib.sha256(data).hexdigest())
    try:
        _Reader(path, data, mf).run()
    except (RecursionError, MemoryError) as exc:
        mf.diagnostics.append(
            Diagnostic(
                code="I001",
                message=f"cannot read {path}: the file is too deeply nested or too large "
                f"({type(exc).__name__})",
                loc=Location(path, 1),
                fatal=True,
            )
        )
    except Exception as exc:  # a bug of ours must not become a traceback for the user
        mf.diagnostics.append(
            Diagnostic(
                code="I000",
                message=f"internal error while reading {path}: {type(exc).__name__}: {exc}",
                loc=Location(path, 1),
                fatal=True,
            )
        )
    return mf


# =========================================================================== static values


class _Text:
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


class _FixedText(_Text):
    """Text whose characters cannot be mapped exactly: everything maps to its start."""

    __slots__ = ()

    def _end(self) -> Pos:
        return self.at


class _LiteralText(_Text):
    """A string literal (possibly implicitly concatenated): mapped exactly, computed lazily."""

    __slots__ = ("_map", "_node", "_source")

    def __init__(self, text: str, at: Pos, node: ast.Constant, source: _Source) -> None:
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


class _ConcatText(_Text):
    __slots__ = ("_flat", "_parts")

    def __init__(self, parts: list[_Text], at: Pos) -> None:
        super().__init__("".join(p.text for p in parts), at)
        self._parts = parts
        self._flat: tuple[list[int], list[_Text]] | None = None

    def _leaves(self) -> tuple[list[int], list[_Text]]:
        """The non-empty texts that are not concatenations, left to right, with their
        offsets: computed once and iteratively, since ``X = X + "..."`` written a few
        hundred times nests concatenations deeper than the recursion limit (and walking
        down on every lookup would be quadratic)."""
        if self._flat is None:
            offsets: list[int] = []
            leaves: list[_Text] = []
            total = 0
            stack: list[_Text] = [self]
            while stack:
                node = stack.pop()
                if isinstance(node, _ConcatText):
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


class _MappedText(_Text):
    """Text derived from another by dropping characters (dedent, strip)."""

    __slots__ = ("_inner", "_map")

    def __init__(self, text: str, inner: _Text, index_map: list[int]) -> None:
        super().__init__(text, inner.at)
        self._inner = inner
        self._map = index_map

    def _pos(self, index: int) -> Pos:
        return self._inner.position(self._map[index]) if self._map else self.at

    def _end(self) -> Pos:
        return self._inner.position(self._map[-1] + 1) if self._map else self.at


class _Unknown:
    """A value that cannot be known statically."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown()
_MISSING = object()


@dataclass(frozen=True, slots=True)
class _TextClause:
    """``sa.text("...")``: SQL text (a server default written this way is raw SQL)."""

    text: _Text


@dataclass(frozen=True, slots=True)
class _Seq:
    items: tuple[object, ...]


@dataclass(frozen=True, slots=True)
class _Dict:
    items: tuple[tuple[object, object], ...]


@dataclass(frozen=True, slots=True)
class _Module:
    """An imported module or a name inside one, by qualified name (``sqlalchemy.String``)."""

    qual: str


@dataclass(frozen=True, slots=True)
class _Table:
    """``sa.table("t", ...)`` / ``sa.Table("t", meta, ...)``."""

    name: str | None
    schema: str | None = None


@dataclass(frozen=True, slots=True)
class _Stmt:
    """A SQLAlchemy statement object: ``sa.update(t)``, ``t.insert().values(...)``."""

    verb: str
    table: str | None


@dataclass(frozen=True, slots=True)
class _Conn:
    """What ``op.get_bind()`` returns."""


@dataclass(frozen=True, slots=True)
class _Obj:
    """A harmless run-time object: a logger, a migration context, an inspector, a result."""

    kind: str


@dataclass(frozen=True, slots=True)
class _Func:
    """A function or class defined in the migration itself (a helper)."""

    name: str
    is_class: bool = False


@dataclass(frozen=True, slots=True)
class _Batch:
    """The ``batch_op`` of ``with op.batch_alter_table(...) as batch_op``."""

    table: str | None
    schema: str | None


@dataclass(frozen=True, slots=True)
class _Node:
    """A SQLAlchemy construct (``sa.Column(...)``, ``sa.String(50)``, ``sa.Index(...)``),
    interpreted where it is used, with the names in scope where it was written."""

    call: ast.Call
    env: _Env
    qual: str


class _Env:
    """A scope: the module's names, a function's, one iteration of an unrolled loop."""

    __slots__ = ("parent", "vars")

    def __init__(self, parent: _Env | None = None) -> None:
        self.vars: dict[str, object] = {}
        self.parent = parent

    def get(self, name: str) -> object:
        env: _Env | None = self
        while env is not None:
            if name in env.vars:
                return env.vars[name]
            env = env.parent
        return _MISSING


#: names that conventionally mean these modules when a file uses them without importing
_CONVENTIONAL = {
    "op": "alembic.op",
    "sa": "sqlalchemy",
    "postgresql": "sqlalchemy.dialects.postgresql",
}

_BUILTINS = frozenset(dir(builtins))
#: builtins that can run arbitrary code: calling them is never harmless
_UNSAFE_BUILTINS = frozenset(
    {"exec", "eval", "compile", "__import__", "globals", "locals", "vars", "setattr",
     "delattr", "breakpoint", "input", "getattr"}
)
#: modules whose functions never touch the database
_HARMLESS_MODULES = frozenset(
    {"logging", "warnings", "textwrap", "json", "datetime", "uuid", "time", "re", "math",
     "decimal", "enum", "typing", "string", "itertools", "functools", "collections",
     "hashlib", "random", "secrets", "base64", "sqlalchemy", "alembic.context", "os.path",
     "os.environ", "os.getenv", "pathlib", "dataclasses", "typing_extensions", "pprint",
     "sys.stderr", "sys.stdout"}
)
_SA_TEXT = frozenset({"sqlalchemy.text", "sqlalchemy.sql.text", "sqlalchemy.sql.expression.text"})
_SA_TABLE = frozenset(
    {"sqlalchemy.table", "sqlalchemy.sql.table", "sqlalchemy.sql.expression.table",
     "sqlalchemy.Table", "sqlalchemy.schema.Table", "sqlalchemy.sql.schema.Table"}
)
_SA_CONV = frozenset(
    {"alembic.op.f", "sqlalchemy.sql.naming.conv", "sqlalchemy.sql.elements.conv",
     "sqlalchemy.conv", "sqlalchemy.quoted_name", "sqlalchemy.sql.quoted_name",
     "sqlalchemy.sql.elements.quoted_name"}
)
#: op.* names that do not change anything by themselves
#: methods that run SQL on whatever object they are called
_EXECUTE_METHODS = frozenset({"execute", "exec_driver_sql", "executemany"})
_OP_HARMLESS = frozenset(
    {"get_bind", "get_context", "f", "inline_literal", "implementation_for",
     "register_operation", "batch_alter_table"}
)
_DROP_KINDS: dict[str, ConstraintKind] = {
    "primary": "primary_key",
    "primary_key": "primary_key",
    "unique": "unique",
    "foreignkey": "foreign_key",
    "foreign_key": "foreign_key",
    "check": "check",
    "exclude": "exclude",
}


def _qual_of(value: object) -> str | None:
    if isinstance(value, _Module):
        return value.qual
    if isinstance(value, _Node):
        return value.qual
    return None


def _last(qual: str) -> str:
    return qual.rsplit(".", 1)[-1]


def _in_modules(qual: str, modules: frozenset[str]) -> bool:
    return any(qual == m or qual.startswith(m + ".") for m in modules)


# =========================================================================== source text


class _Source:
    """The decoded source split in lines, with byte-to-character column conversion."""

    def __init__(self, text: str, path: str) -> None:
        self.text = text
        self.path = path
        self.lines = _NEWLINE.split(text)

    def col(self, line: int, byte_col: int) -> int:
        if not 1 <= line <= len(self.lines):
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
        chars: list[str] = []
        where: list[Pos] = []
        for ln in range(first, last + 1):
            line = self.lines[ln - 1]
            a = a0 if ln == first else 0
            b = b_last if ln == last else len(line)
            for c in range(a, b):
                chars.append(line[c])
                where.append((ln, c))
            if ln != last:
                chars.append("\n")
                where.append((ln, b))
        scanned = _scan_string_literals("".join(chars), where)
        if scanned is None or scanned[0] != node.value:
            return None
        return scanned[1]  # one position per character, then the exclusive end


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


def _dedent(inner: _Text) -> _Text:
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
        return _FixedText(expected, inner.at)
    return _MappedText(text, inner, index_map)


#: SQLAlchemy's own patterns for ``text()``: a ``:name`` bind parameter, and ``\\:``
#: escaping a literal colon
_SA_BIND_RE = re.compile(r"(?<![:\w\x5c]):(\w+)(?!:)")
_SA_BIND_ESCAPE_RE = re.compile(r"\x5c(:[\w\$]*)(?![:\w\$])")
#: the pyformat / format parameters of psycopg and psycopg2, and ``%%``
_DRIVER_PARAM_RE = re.compile(r"%\(\w+\)s|%s|%%")


def _rewrite(inner: _Text, edits: list[tuple[int, int, str]]) -> _Text:
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
    return _MappedText("".join(out), inner, index_map)


def _param(length: int) -> str:
    """A PostgreSQL parameter reference padded to ``length`` (so columns stay put)."""
    return "$1".ljust(max(length, 2))


def _sa_text_params(inner: _Text) -> _Text:
    text = inner.text
    if ":" not in text:
        return inner
    edits = [(m.start(), m.start() + 1, "") for m in _SA_BIND_ESCAPE_RE.finditer(text)]
    escaped = {m.start() + 1 for m in _SA_BIND_ESCAPE_RE.finditer(text)}
    edits += [(m.start(), m.end(), _param(m.end() - m.start()))
              for m in _SA_BIND_RE.finditer(text) if m.start() not in escaped]
    return _rewrite(inner, sorted(edits))


def _driver_params(inner: _Text) -> _Text:
    if "%" not in inner.text:
        return inner
    edits = [
        (m.start(), m.end(), "%" if m.group() == "%%" else _param(m.end() - m.start()))
        for m in _DRIVER_PARAM_RE.finditer(inner.text)
    ]
    return _rewrite(inner, edits)


def _strip(inner: _Text, how: str, chars: str | None) -> _Text:
    text = inner.text
    start, end = 0, len(text)
    if how in ("strip", "lstrip"):
        start = len(text) - len(text.lstrip(chars))
    if how in ("strip", "rstrip"):
        end = len(text.rstrip(chars))
    end = max(start, end)
    return _MappedText(text[start:end], inner, list(range(start, end)))


# =========================================================================== the reader


@dataclass(slots=True)
class _Bound:
    """The arguments of one op call, bound to their parameter names and evaluated."""

    values: dict[str, object] = field(default_factory=dict)
    nodes: dict[str, ast.expr] = field(default_factory=dict)
    varargs: list[object] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # what could not be bound

    def get(self, name: str, default: object = None) -> object:
        return self.values.get(name, default)


# positional parameters of each op (table-first form) and whether it takes *args
_OP_SIGNATURES: dict[str, tuple[tuple[str, ...], bool]] = {
    "create_table": (("table_name",), True),
    "drop_table": (("table_name",), False),
    "rename_table": (("old_table_name", "new_table_name"), False),
    "add_column": (("table_name", "column"), False),
    "drop_column": (("table_name", "column_name"), False),
    "alter_column": (("table_name", "column_name"), False),
    "create_index": (("index_name", "table_name", "columns"), False),
    "drop_index": (("index_name", "table_name"), False),
    "create_primary_key": (("constraint_name", "table_name", "columns"), False),
    "create_unique_constraint": (("constraint_name", "table_name", "columns"), False),
    "create_foreign_key": (
        ("constraint_name", "source_table", "referent_table", "local_cols", "remote_cols"),
        False,
    ),
    "create_check_constraint": (("constraint_name", "table_name", "condition"), False),
    "drop_constraint": (("constraint_name", "table_name", "type_"), False),
    "create_exclude_constraint": (("constraint_name", "table_name"), True),
    "execute": (("sqltext",), False),
    "bulk_insert": (("table", "rows", "multiinsert"), False),
    "create_table_comment": (("table_name", "comment"), False),
    "drop_table_comment": (("table_name",), False),
}
_TABLE_PARAMS = ("table_name", "source_table")


@dataclass(slots=True)
class _EnumInfo:
    name: str | None
    values: tuple[str, ...] | None
    schema: str | None
    create: bool
    node: ast.AST


@dataclass(slots=True)
class _ColumnRead:
    column: ColumnDef
    constraints: list[ConstraintDef]
    autoincrement: object


@dataclass(slots=True)
class _Emit:
    """Where the operations of one call go, and how they are labelled."""

    out: list[Operation]
    phase: Phase
    via: str
    loc: Location
    node: ast.AST
    table: str | None = None
    notes: list[tuple[str, ast.AST]] = field(default_factory=list)


class _Flow:
    """Signals of a statement list: how control leaves it."""

    NORMAL = 0
    BREAK = 1
    CONTINUE = 2
    RETURN = 3


class _Reader:
    def __init__(self, path: str, data: bytes, mf: MigrationFile) -> None:
        self.path = path
        self.data = data
        self.mf = mf
        self.src = _Source("", path)
        self.module_env = _Env()
        self._sql_module: object = None
        #: loop iterations left to unroll in this file (nested loops multiply)
        self._unroll_budget = UNROLL_LIMIT
        #: longest string a computation may produce in this file
        self._text_limit = max(COMPUTED_TEXT_LIMIT, 2 * len(data))
        #: characters of SQL still to be read in this file
        self._sql_budget = max(SQL_BUDGET, SQL_BUDGET_FACTOR * len(data))

    # ------------------------------------------------------------------ driver

    def run(self) -> None:
        text = self._decode()
        if text is None:
            return
        self.src = _Source(text, self.path)
        tree = self._parse(text)
        if tree is None:
            return
        self._collect_comments(text)
        self._read_module(tree)

    def _decode(self) -> str | None:
        path, data = self.path, self.data
        try:
            encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        except SyntaxError as exc:
            if "invalid or missing encoding declaration" in str(exc):
                encoding = "utf-8"  # bad bytes in the first lines: located below
            else:  # an unknown encoding, or a cookie that contradicts the BOM
                first = data.split(b"\n", 1)[0]
                line = 1 if b"coding" in first else 2
                self.mf.diagnostics.append(
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
            self.mf.diagnostics.append(
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
            self.mf.diagnostics.append(
                Diagnostic(code="I002", message=f"cannot decode {path}: {exc}",
                           loc=Location(path, 1), fatal=True)
            )
            return None

    def _parse(self, text: str) -> ast.Module | None:
        path = self.path
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return ast.parse(text, filename=path)
        except SyntaxError as exc:
            line = exc.lineno or 1
            column = max((exc.offset or 1) - 1, 0)
            end_line = exc.end_lineno if exc.end_lineno and exc.end_lineno >= line else None
            end_column = max(exc.end_offset - 1, 0) if end_line and exc.end_offset else None
            self.mf.diagnostics.append(
                Diagnostic(
                    code="I001",
                    message=f"syntax error: {exc.msg}",
                    loc=Location(path, line, column, end_line, end_column),
                    fatal=True,
                )
            )
        except (RecursionError, MemoryError, ValueError, OverflowError) as exc:
            self.mf.diagnostics.append(
                Diagnostic(
                    code="I001",
                    message=f"cannot parse {path}: {type(exc).__name__}: {exc}",
                    loc=Location(path, 1),
                    fatal=True,
                )
            )
        return None

    def _collect_comments(self, text: str) -> None:
        comments = self.mf.comments
        if "#" not in text:
            return  # no comment anywhere: spare the (pure Python, slow) tokenizer
        if "\r" in text:  # number lines the way ast does (a lone CR ends a line too)
            text = _NEWLINE.sub("\n", text)
        try:
            for tok in tokenize.generate_tokens(io.StringIO(text).readline):
                if tok.type == tokenize.COMMENT:
                    comments[tok.start[0]] = tok.string
        except (tokenize.TokenError, SyntaxError, ValueError):
            pass  # the file parsed with ast: keep the comments read so far

    def _merge_comments(self, extra: dict[int, str]) -> None:
        comments = self.mf.comments
        for line, text in extra.items():
            if line in comments and text not in comments[line]:
                comments[line] = f"{comments[line]} {text}"
            else:
                comments.setdefault(line, text)

    # ------------------------------------------------------------------ module level

    def _read_module(self, tree: ast.Module) -> None:
        mf = self.mf
        env = self.module_env
        doc = ast.get_docstring(tree, clean=True)
        if doc:
            first = doc.strip().splitlines()[0].strip() if doc.strip() else ""
            mf.message = first or None
        functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
        meta: dict[str, tuple[ast.expr, ast.stmt]] = {}
        #: the statement that last binds `upgrade` / `downgrade` (Python keeps the last)
        bound: dict[str, ast.stmt] = {}
        module_ops: list[Operation] = []
        for stmt in tree.body:
            for name in _binds(stmt, ("upgrade", "downgrade")):
                bound[name] = stmt
            if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                self._bind_import(stmt, env)
            elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                env.vars[stmt.name] = _Func(stmt.name)
                if stmt.name in ("upgrade", "downgrade"):
                    functions[stmt.name] = stmt
            elif isinstance(stmt, ast.ClassDef):
                env.vars[stmt.name] = _Func(stmt.name, is_class=True)
            elif isinstance(stmt, (ast.Assign, ast.AnnAssign)):
                for name, value in self._assignment_pairs(stmt):
                    if name in ("revision", "down_revision", "branch_labels", "depends_on"):
                        meta[name] = (value, stmt)
                    env.vars[name] = self._eval_safe(value, env)
                if isinstance(stmt, ast.Assign):
                    self._bind_unpacking(stmt, env)
            elif isinstance(stmt, ast.Expr) and not isinstance(stmt.value, ast.Constant):
                self._module_call(stmt, module_ops)
        self._read_metadata(meta, module_ops,
                            has_functions=bool({"upgrade", "downgrade"} & set(bound)))
        for name in ("upgrade", "downgrade"):
            func = functions.get(name)
            last = bound.get(name)
            if last is not None and last is not func:
                # `upgrade = _impl`, a def inside `if`/`try`, an import: what Alembic would
                # call is not a function this reader can see
                functions.pop(name, None)
                module_ops.append(Unresolved(
                    loc=self.src.loc(last), phase="module", via=name,
                    reason=f"`{name}` is not defined by a plain top-level `def`: the "
                           "operations it performs are not read",
                    snippet=self.src.snippet(last)))
        mf.upgrade_ops.extend(module_ops)
        for name, out in (("upgrade", mf.upgrade_ops), ("downgrade", mf.downgrade_ops)):
            func = functions.get(name)
            if func is None:
                continue
            if name == "upgrade":
                mf.has_upgrade = True
            else:
                mf.has_downgrade = True
            phase: Phase = "upgrade" if name == "upgrade" else "downgrade"
            self._read_function(func, phase, out)

    def _module_call(self, stmt: ast.Expr, module_ops: list[Operation]) -> None:
        """A call at module level runs when Alembic imports the file, outside
        ``upgrade()``: whatever it would do to the schema is reported, never replayed."""
        scratch: list[Operation] = []
        try:
            self._expression(stmt.value, self.module_env, "module", scratch)
        except RecursionError:
            scratch.append(Unresolved(loc=self.src.loc(stmt), phase="module",
                                      reason="statement too deeply nested to read"))
        for op in scratch:
            if isinstance(op, Unresolved):
                module_ops.append(op)
            else:
                module_ops.append(Unresolved(
                    loc=op.loc, phase="module", via=op.via, table=op.table_name,
                    reason=f"{op.describe()} at module level runs when the file is imported, "
                           "outside upgrade(): it is not part of the replayed chain",
                    snippet=self.src.snippet(stmt)))

    def _assignment_pairs(self, stmt: ast.Assign | ast.AnnAssign) -> list[tuple[str, ast.expr]]:
        if isinstance(stmt, ast.AnnAssign):
            if isinstance(stmt.target, ast.Name) and stmt.value is not None:
                return [(stmt.target.id, stmt.value)]
            return []
        pairs: list[tuple[str, ast.expr]] = []
        for target in stmt.targets:
            if isinstance(target, ast.Name):
                pairs.append((target.id, stmt.value))
            elif (
                isinstance(target, (ast.Tuple, ast.List))
                and isinstance(stmt.value, (ast.Tuple, ast.List))
                and len(target.elts) == len(stmt.value.elts)
            ):
                for t, v in zip(target.elts, stmt.value.elts, strict=True):
                    if isinstance(t, ast.Name):
                        pairs.append((t.id, v))
        return pairs

    def _bind_unpacking(self, stmt: ast.Assign, env: _Env) -> None:
        """``a, b = SOME_PAIR`` where the value is not a literal tuple of the same shape."""
        for target in stmt.targets:
            if isinstance(target, (ast.Tuple, ast.List)) and not (
                isinstance(stmt.value, (ast.Tuple, ast.List))
                and len(stmt.value.elts) == len(target.elts)
            ):
                self._bind_target(target, self._eval_safe(stmt.value, env), env)

    def _bind_import(self, stmt: ast.Import | ast.ImportFrom, env: _Env) -> None:
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                if alias.asname:
                    env.vars[alias.asname] = _Module(alias.name)
                else:
                    root = alias.name.split(".", 1)[0]
                    env.vars[root] = _Module(root)
            return
        module = ("." * stmt.level) + (stmt.module or "")
        for alias in stmt.names:
            if alias.name == "*":
                continue
            env.vars[alias.asname or alias.name] = _Module(f"{module}.{alias.name}")

    def _read_metadata(
        self, meta: dict[str, tuple[ast.expr, ast.stmt]], module_ops: list[Operation],
        has_functions: bool = True,
    ) -> None:
        mf = self.mf
        if not meta and not has_functions:
            # a helper module or a leftover in a version folder, not a revision
            mf.diagnostics.append(
                Diagnostic(
                    code="I006",
                    message="file in a version folder has no `revision`, `down_revision`, "
                    "`upgrade()` or `downgrade()`: it is not read as a revision (Alembic "
                    "loads every `.py` file there and stops on one without `revision`)",
                    loc=Location(self.path, 1),
                    severity="info",
                )
            )
        elif "revision" not in meta:
            mf.diagnostics.append(
                Diagnostic(
                    code="I005",
                    message="migration has no `revision` identifier",
                    loc=Location(self.path, 1),
                    severity="blocking",
                )
            )
        for name in ("revision", "down_revision", "branch_labels", "depends_on"):
            if name not in meta:
                continue
            value_node, stmt = meta[name]
            value = self._eval_safe(value_node, self.module_env)
            loc = self.src.loc(stmt)
            if name == "revision":
                mf.revision_loc = loc
                if isinstance(value, _Text):
                    mf.revision = value.text
                    continue
                if value is None:
                    mf.diagnostics.append(
                        Diagnostic(
                            code="I005",
                            message="migration has no `revision` identifier (it is None)",
                            loc=loc,
                        )
                    )
                    continue
                # known only at run time: the file cannot be placed in the chain, so the
                # chain-wide checks would silently run without it
                mf.diagnostics.append(
                    Diagnostic(
                        code="I005",
                        message="migration has no literal `revision` identifier: the file "
                        "cannot be placed in the chain, which is checked without it",
                        loc=loc,
                    )
                )
            else:
                ids = self._id_tuple(value)
                if name == "down_revision":
                    mf.down_revision_loc = loc
                    mf.down_revisions = ids
                elif ids is not None:
                    if name == "branch_labels":
                        mf.branch_labels = ids
                    else:
                        mf.depends_on = ids
                if ids is not None:
                    continue
            module_ops.append(
                Unresolved(
                    loc=loc,
                    phase="module",
                    via=name,
                    reason=f"`{name}` is not a literal: its value is only known at run time",
                    snippet=self.src.snippet(stmt),
                )
            )

    @staticmethod
    def _id_tuple(value: object) -> tuple[str, ...] | None:
        if value is None:
            return ()
        if isinstance(value, _Text):
            return (value.text,)
        if isinstance(value, _Seq):
            ids: list[str] = []
            for item in value.items:
                if not isinstance(item, _Text):
                    return None
                ids.append(item.text)
            return tuple(ids)
        return None

    # ------------------------------------------------------------------ evaluation

    def _eval_safe(self, expr: ast.expr, env: _Env) -> object:
        try:
            return self._eval(expr, env, 0)
        except RecursionError:
            return UNKNOWN

    def _eval(self, expr: ast.expr, env: _Env, depth: int) -> object:
        """The static value of ``expr``, or UNKNOWN. Never has an effect."""
        if depth > EVAL_DEPTH_LIMIT:
            return UNKNOWN
        depth += 1
        if isinstance(expr, ast.Constant):
            value = expr.value
            if isinstance(value, str):
                return _LiteralText(value, self.src.start(expr), expr, self.src)
            if value is None or isinstance(value, (bool, int, float)):
                return value
            return UNKNOWN
        if isinstance(expr, ast.Name):
            found = env.get(expr.id)
            if found is not _MISSING:
                return found
            if expr.id in _CONVENTIONAL:
                return _Module(_CONVENTIONAL[expr.id])
            if expr.id in _BUILTINS:
                return _Module(f"builtins.{expr.id}")
            return UNKNOWN
        if isinstance(expr, ast.Attribute):
            base = self._eval(expr.value, env, depth)
            if isinstance(base, _Module):
                return _Module(f"{base.qual}.{expr.attr}")
            if isinstance(base, (_Conn, _Obj)):
                if expr.attr == "dialect":
                    return _Obj("dialect")
                if isinstance(base, _Obj) and base.kind == "dialect" and expr.attr == "name":
                    # b03lint reads migrations for PostgreSQL: `bind.dialect.name` is known
                    return _FixedText("postgresql", self.src.start(expr))
                return _Obj("attribute")
            return UNKNOWN
        if isinstance(expr, (ast.Tuple, ast.List, ast.Set)):
            items: list[object] = []
            for elt in expr.elts:
                if isinstance(elt, ast.Starred):
                    inner = self._eval(elt.value, env, depth)
                    if not isinstance(inner, _Seq):
                        return UNKNOWN
                    items.extend(inner.items)
                else:
                    items.append(self._eval(elt, env, depth))
                if len(items) > COMPUTED_ITEMS_LIMIT:
                    return UNKNOWN
            return _Seq(tuple(items))
        if isinstance(expr, ast.Dict):
            pairs: list[tuple[object, object]] = []
            for k, v in zip(expr.keys, expr.values, strict=True):
                if k is None:
                    inner = self._eval(v, env, depth)
                    if not isinstance(inner, _Dict):
                        return UNKNOWN
                    pairs.extend(inner.items)
                else:
                    pairs.append((self._eval(k, env, depth), self._eval(v, env, depth)))
                if len(pairs) > COMPUTED_ITEMS_LIMIT:
                    return UNKNOWN
            return _Dict(tuple(pairs))
        if isinstance(expr, ast.JoinedStr):
            return self._eval_fstring(expr, env, depth)
        if isinstance(expr, ast.BinOp):
            return self._eval_binop(expr, env, depth)
        if isinstance(expr, ast.Call):
            return self._eval_call(expr, env, depth)
        if isinstance(expr, ast.Subscript):
            base = self._eval(expr.value, env, depth)
            index = self._eval(expr.slice, env, depth)
            return self._subscript(base, index)
        if isinstance(expr, ast.Compare):
            return self._eval_compare(expr, env, depth)
        if isinstance(expr, ast.BoolOp):
            values = [self._eval(v, env, depth) for v in expr.values]
            if any(not _is_plain(v) for v in values):
                return UNKNOWN
            truths = [_truth(v) for v in values]
            return all(truths) if isinstance(expr.op, ast.And) else any(truths)
        if isinstance(expr, ast.UnaryOp):
            operand = self._eval(expr.operand, env, depth)
            if isinstance(expr.op, ast.Not) and _is_plain(operand):
                return not _truth(operand)
            if isinstance(expr.op, ast.USub) and isinstance(operand, (int, float)):
                return -operand
            return UNKNOWN
        if isinstance(expr, ast.IfExp):
            test = self._eval(expr.test, env, depth)
            if _is_plain(test):
                return self._eval(expr.body if _truth(test) else expr.orelse, env, depth)
            return UNKNOWN
        return UNKNOWN

    def _eval_fstring(self, expr: ast.JoinedStr, env: _Env, depth: int) -> object:
        pieces: list[str] = []
        for part in expr.values:
            if isinstance(part, ast.Constant) and isinstance(part.value, str):
                pieces.append(part.value)
            elif isinstance(part, ast.FormattedValue):
                value = self._eval(part.value, env, depth)
                py = _python_value(value)
                if py is _MISSING or not isinstance(py, (str, int, float, bool, type(None))):
                    return UNKNOWN
                if part.conversion == ord("r"):
                    py = repr(py)
                elif part.conversion == ord("a"):
                    py = ascii(py)
                elif part.conversion == ord("s"):
                    py = str(py)
                spec = ""
                if part.format_spec is not None:
                    spec_value = self._eval(part.format_spec, env, depth)
                    if not isinstance(spec_value, _Text) or _HUGE_SPEC.search(spec_value.text):
                        return UNKNOWN
                    spec = spec_value.text
                try:
                    pieces.append(format(py, spec))
                except (ValueError, TypeError):
                    return UNKNOWN
            else:
                return UNKNOWN
        return self._computed("".join(pieces), self.src.start(expr))

    def _computed(self, text: str, at: Pos) -> object:
        """A computed string, or UNKNOWN when it is longer than this file allows."""
        return UNKNOWN if len(text) > self._text_limit else _FixedText(text, at)

    def _number(self, value: object) -> object:
        """A computed number, or UNKNOWN when it is an integer too large to be real."""
        if isinstance(value, int) and value.bit_length() > COMPUTED_INT_BITS:
            return UNKNOWN
        return value

    def _eval_binop(self, expr: ast.BinOp, env: _Env, depth: int) -> object:
        left = self._eval(expr.left, env, depth)
        right = self._eval(expr.right, env, depth)
        at = self.src.start(expr)
        if isinstance(expr.op, ast.Add):
            if isinstance(left, _Text) and isinstance(right, _Text):
                if len(left.text) + len(right.text) > self._text_limit:
                    return UNKNOWN
                return _ConcatText([left, right], at)
            if isinstance(left, _Seq) and isinstance(right, _Seq):
                if len(left.items) + len(right.items) > COMPUTED_ITEMS_LIMIT:
                    return UNKNOWN
                return _Seq(left.items + right.items)
            if _is_number(left) and _is_number(right):
                return self._number(left + right)  # type: ignore[operator]
            return UNKNOWN
        if isinstance(expr.op, ast.Mod) and isinstance(left, _Text):
            args = _python_value(right)
            if args is _MISSING or _HUGE_PERCENT.search(left.text):
                return UNKNOWN
            try:
                return self._computed(left.text % args, at)
            except (TypeError, ValueError, KeyError, OverflowError):
                return UNKNOWN
        if isinstance(expr.op, ast.Mult):
            if isinstance(left, _Text) and isinstance(right, int) and 0 <= right <= 100:
                if len(left.text) * right > self._text_limit:
                    return UNKNOWN
                return _FixedText(left.text * right, at)
            if _is_number(left) and _is_number(right):
                return self._number(left * right)  # type: ignore[operator]
        if isinstance(expr.op, ast.Sub) and _is_number(left) and _is_number(right):
            return self._number(left - right)  # type: ignore[operator]
        return UNKNOWN

    def _eval_compare(self, expr: ast.Compare, env: _Env, depth: int) -> object:
        left = _python_value(self._eval(expr.left, env, depth))
        if left is _MISSING:
            return UNKNOWN
        for op_node, comparator in zip(expr.ops, expr.comparators, strict=True):
            right = _python_value(self._eval(comparator, env, depth))
            if right is _MISSING:
                return UNKNOWN
            try:
                if isinstance(op_node, ast.Eq):
                    ok = left == right
                elif isinstance(op_node, ast.NotEq):
                    ok = left != right
                elif isinstance(op_node, ast.In):
                    ok = left in right  # type: ignore[operator]
                elif isinstance(op_node, ast.NotIn):
                    ok = left not in right  # type: ignore[operator]
                elif isinstance(op_node, ast.Is):
                    ok = left is right
                elif isinstance(op_node, ast.IsNot):
                    ok = left is not right
                else:
                    return UNKNOWN
            except TypeError:
                return UNKNOWN
            if not ok:
                return False
            left = right
        return True

    @staticmethod
    def _subscript(base: object, index: object) -> object:
        if isinstance(base, _Seq) and isinstance(index, int) and not isinstance(index, bool):
            if -len(base.items) <= index < len(base.items):
                return base.items[index]
            return UNKNOWN
        if isinstance(base, _Dict):
            key = _python_value(index)
            if key is _MISSING:
                return UNKNOWN
            for k, v in base.items:
                if _python_value(k) == key:
                    return v
        return UNKNOWN

    def _eval_call(self, call: ast.Call, env: _Env, depth: int) -> object:
        func = self._eval(call.func, env, depth)
        qual = func.qual if isinstance(func, _Module) else None
        if qual is not None:
            return self._eval_module_call(qual, call, env, depth)
        if not isinstance(call.func, ast.Attribute):
            return UNKNOWN
        method = call.func.attr
        owner = self._eval(call.func.value, env, depth)
        if isinstance(owner, _Text):
            return self._eval_str_method(owner, method, call, env, depth)
        if isinstance(owner, _TextClause):
            return owner  # .bindparams(...), .columns(...), .execution_options(...)
        if isinstance(owner, _Table):
            if method in ("insert", "update", "delete", "select"):
                return _Stmt(method, owner.name)
            return UNKNOWN
        if isinstance(owner, _Stmt):
            return owner
        if isinstance(owner, _Conn):
            return _Obj("result") if method in ("execute", "exec_driver_sql") else _Obj("conn")
        if isinstance(owner, _Obj):
            return _Obj(owner.kind)
        if isinstance(owner, _Dict):
            if method == "items":
                return _Seq(tuple(_Seq((k, v)) for k, v in owner.items))
            if method == "keys":
                return _Seq(tuple(k for k, _ in owner.items))
            if method == "values":
                return _Seq(tuple(v for _, v in owner.items))
            if method == "get" and call.args:
                return self._subscript(owner, self._eval(call.args[0], env, depth))
        if isinstance(owner, _Node):
            return _Node(call, env, owner.qual)
        return UNKNOWN

    def _eval_str_method(
        self, owner: _Text, method: str, call: ast.Call, env: _Env, depth: int
    ) -> object:
        at = self.src.start(call)
        args = [_python_value(self._eval(a, env, depth)) for a in call.args]
        if any(a is _MISSING for a in args) or any(isinstance(a, ast.Starred) for a in call.args):
            return UNKNOWN
        if method in ("strip", "lstrip", "rstrip"):
            chars = args[0] if args else None
            if chars is not None and not isinstance(chars, str):
                return UNKNOWN
            return _strip(owner, method, chars)
        if method == "format":
            if not _plain_format(owner.text):
                return UNKNOWN
            kwargs: dict[str, object] = {}
            for kw in call.keywords:
                value = _python_value(self._eval(kw.value, env, depth))
                if kw.arg is None or value is _MISSING:
                    return UNKNOWN
                kwargs[kw.arg] = value
            try:
                return self._computed(owner.text.format(*args, **kwargs), at)
            except (IndexError, KeyError, ValueError, TypeError, AttributeError):
                return UNKNOWN
        if method == "join" and len(args) == 1 and isinstance(args[0], (list, tuple)):
            parts = args[0]
            if all(isinstance(a, str) for a in parts):
                size = sum(map(len, parts)) + len(owner.text) * max(len(parts) - 1, 0)
                if size > self._text_limit:
                    return UNKNOWN
                return _FixedText(owner.text.join(parts), at)
            return UNKNOWN
        if method in ("lower", "upper", "title", "capitalize", "replace", "removeprefix",
                      "removesuffix", "ljust", "rjust", "center", "zfill"):
            if method == "replace" and len(args) >= 2 and all(isinstance(a, str)
                                                               for a in args[:2]):
                old, new = cast(str, args[0]), cast(str, args[1])
                grows = owner.text.count(old) * max(len(new) - len(old), 0)
                if len(owner.text) + grows > self._text_limit:
                    return UNKNOWN
            if any(isinstance(a, int) and a > self._text_limit for a in args):
                return UNKNOWN  # padding to a width longer than the limit
            try:
                result = getattr(owner.text, method)(*args)
            except (TypeError, ValueError, AttributeError, OverflowError):
                return UNKNOWN
            if isinstance(result, str):
                return self._computed(result, at)
        return UNKNOWN

    def _eval_module_call(self, qual: str, call: ast.Call, env: _Env, depth: int) -> object:
        def arg(i: int, name: str | None = None) -> object:
            for kw in call.keywords:
                if kw.arg == name and name is not None:
                    return self._eval(kw.value, env, depth)
            if i < len(call.args) and not isinstance(call.args[i], ast.Starred):
                return self._eval(call.args[i], env, depth)
            return _MISSING

        if qual in _SA_TEXT:
            text = arg(0, "text")
            return _TextClause(text) if isinstance(text, _Text) else UNKNOWN
        if qual in _SA_CONV:
            text = arg(0, "name" if qual == "alembic.op.f" else "value")
            return text if isinstance(text, _Text) else UNKNOWN
        if qual in ("textwrap.dedent", "inspect.cleandoc"):
            text = arg(0, "text")
            if not isinstance(text, _Text):
                return UNKNOWN
            if qual == "textwrap.dedent":
                return _dedent(text)
            import inspect as _inspect

            return _FixedText(_inspect.cleandoc(text.text), text.at)
        if qual == "alembic.op.create_table":
            name = arg(0, "table_name")
            schema = arg(99, "schema")
            return _Table(name.text if isinstance(name, _Text) else None,
                          schema.text if isinstance(schema, _Text) else None)
        if qual == "alembic.op.get_bind":
            return _Conn()
        if qual == "alembic.op.get_context":
            return _Obj("context")
        if qual in _SA_TABLE:
            name = arg(0, "name")
            schema = arg(99, "schema")
            return _Table(
                name.text if isinstance(name, _Text) else None,
                schema.text if isinstance(schema, _Text) else None,
            )
        if qual in ("sqlalchemy.inspect",):
            return _Obj("inspector")
        last = _last(qual)
        if qual.startswith("sqlalchemy.") and last in ("insert", "update", "delete", "select"):
            target = arg(0, "table")
            return _Stmt(last, target.name if isinstance(target, _Table) else None)
        if qual.startswith("sqlalchemy."):
            return _Node(call, env, qual)
        if qual.startswith("logging."):
            return _Obj("logger")
        if qual.startswith("builtins."):
            return self._eval_builtin(last, call, env, depth)
        return UNKNOWN

    def _eval_builtin(self, name: str, call: ast.Call, env: _Env, depth: int) -> object:
        if call.keywords or any(isinstance(a, ast.Starred) for a in call.args):
            return UNKNOWN
        args = [self._eval(a, env, depth) for a in call.args]
        at = self.src.start(call)
        if name == "str" and len(args) == 1:
            if isinstance(args[0], _Text):
                return args[0]
            py = _python_value(args[0])
            if py is _MISSING:
                return UNKNOWN
            try:
                return self._computed(str(py), at)
            except ValueError:  # an integer past the interpreter's str() digit limit
                return UNKNOWN
        if name == "range" and 1 <= len(args) <= 3 and all(_is_int(a) for a in args):
            ints = [a for a in args if isinstance(a, int)]
            rng = range(*ints)
            if len(rng) > UNROLL_LIMIT:
                return UNKNOWN
            return _Seq(tuple(rng))
        if name in ("list", "tuple", "sorted", "reversed") and len(args) == 1:
            seq = args[0]
            if isinstance(seq, _Dict):
                seq = _Seq(tuple(k for k, _ in seq.items))
            if not isinstance(seq, _Seq):
                return UNKNOWN
            if name == "reversed":
                return _Seq(tuple(reversed(seq.items)))
            if name == "sorted":
                keys = [_python_value(i) for i in seq.items]
                if any(k is _MISSING for k in keys):
                    return UNKNOWN
                try:
                    order = sorted(range(len(keys)), key=lambda i: keys[i])  # type: ignore[return-value,arg-type]
                except TypeError:
                    return UNKNOWN
                return _Seq(tuple(seq.items[i] for i in order))
            return seq
        if name == "enumerate" and len(args) == 1 and isinstance(args[0], _Seq):
            return _Seq(tuple(_Seq((i, item)) for i, item in enumerate(args[0].items)))
        if name == "zip" and args and all(isinstance(a, _Seq) for a in args):
            seqs = [a.items for a in args if isinstance(a, _Seq)]
            return _Seq(tuple(_Seq(tuple(group)) for group in zip(*seqs, strict=False)))
        return UNKNOWN

    # ------------------------------------------------------------------ helpers on values

    def _text(self, value: object) -> str | None:
        if isinstance(value, _Text):
            return value.text
        return None

    def _bool(self, value: object, default: bool) -> bool:
        if isinstance(value, bool):
            return value
        if value is None or value is _MISSING:
            return default
        return default

    def _names(self, value: object) -> tuple[str, ...] | None:
        """A list of column names (``["a", "b"]``, or a single ``"a"``)."""
        if isinstance(value, _Text):
            return (value.text,)
        if isinstance(value, _Seq):
            names: list[str] = []
            for item in value.items:
                text = self._column_name(item)
                if text is None:
                    return None
                names.append(text)
            return tuple(names)
        return None

    def _column_name(self, value: object) -> str | None:
        if isinstance(value, _Text):
            return value.text
        if isinstance(value, _Node) and _last(value.qual) in ("column", "literal_column"):
            args = value.call.args
            if args:
                return self._text(self._eval_safe(args[0], value.env))
        return None

    # ------------------------------------------------------------------ function bodies

    def _read_function(
        self, func: ast.FunctionDef | ast.AsyncFunctionDef, phase: Phase, out: list[Operation]
    ) -> None:
        env = _Env(self.module_env)
        for a in [*func.args.posonlyargs, *func.args.args, *func.args.kwonlyargs]:
            env.vars[a.arg] = UNKNOWN
        if func.args.vararg:
            env.vars[func.args.vararg.arg] = UNKNOWN
        if func.args.kwarg:
            env.vars[func.args.kwarg.arg] = UNKNOWN
        self._block(func.body, env, phase, out)

    def _block(self, body: list[ast.stmt], env: _Env, phase: Phase, out: list[Operation]) -> int:
        for stmt in body:
            try:
                flow = self._statement(stmt, env, phase, out)
            except RecursionError:
                self._unresolved(out, phase, stmt, "statement too deeply nested to read")
                flow = _Flow.NORMAL
            if flow != _Flow.NORMAL:
                return flow
        return _Flow.NORMAL

    def _branch(
        self, body: list[ast.stmt], env: _Env, phase: Phase, out: list[Operation]
    ) -> None:
        """Read a block that may or may not run: in its own scope; whatever it assigns
        is unknown afterwards."""
        child = _Env(env)
        self._block(body, child, phase, out)
        for name in child.vars:
            env.vars[name] = UNKNOWN

    def _statement(self, stmt: ast.stmt, env: _Env, phase: Phase, out: list[Operation]) -> int:
        src = self.src
        if isinstance(stmt, ast.Expr):
            if isinstance(stmt.value, ast.Constant):
                return _Flow.NORMAL  # docstring or a bare literal
            self._expression(stmt.value, env, phase, out)
            return _Flow.NORMAL
        if isinstance(stmt, ast.Assign):
            self._expression(stmt.value, env, phase, out)
            value = self._eval_safe(stmt.value, env)
            for target in stmt.targets:
                self._bind_target(target, value, env)
            return _Flow.NORMAL
        if isinstance(stmt, ast.AnnAssign):
            if stmt.value is not None:
                self._expression(stmt.value, env, phase, out)
                self._bind_target(stmt.target, self._eval_safe(stmt.value, env), env)
            return _Flow.NORMAL
        if isinstance(stmt, ast.AugAssign):
            self._expression(stmt.value, env, phase, out)
            if isinstance(stmt.target, ast.Name):
                combined = ast.BinOp(left=ast.Name(stmt.target.id, ast.Load()), op=stmt.op,
                                     right=stmt.value)
                ast.copy_location(combined, stmt)
                env.vars[stmt.target.id] = self._eval_safe(combined, env)
            return _Flow.NORMAL
        if isinstance(stmt, (ast.Pass, ast.Global, ast.Nonlocal, ast.Delete)):
            return _Flow.NORMAL
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            self._bind_import(stmt, env)
            return _Flow.NORMAL
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            env.vars[stmt.name] = _Func(stmt.name)
            return _Flow.NORMAL
        if isinstance(stmt, ast.ClassDef):
            env.vars[stmt.name] = _Func(stmt.name, is_class=True)
            return _Flow.NORMAL
        if isinstance(stmt, ast.Return):
            if stmt.value is not None:
                self._expression(stmt.value, env, phase, out)
            return _Flow.RETURN
        if isinstance(stmt, ast.Raise):
            return _Flow.RETURN
        if isinstance(stmt, ast.Break):
            return _Flow.BREAK
        if isinstance(stmt, ast.Continue):
            return _Flow.CONTINUE
        if isinstance(stmt, ast.Assert):
            self._expression(stmt.test, env, phase, out)
            return _Flow.NORMAL
        if isinstance(stmt, ast.If):
            test = self._eval_safe(stmt.test, env)
            if _is_plain(test):  # a condition known statically: only one branch runs
                return self._block(stmt.body if _truth(test) else stmt.orelse, env, phase, out)
            self._expression(stmt.test, env, phase, out)
            marker = Unresolved(
                loc=src.span(stmt, stmt.test),
                phase=phase,
                reason="operations below depend on a run-time condition; "
                "both branches are read",
                snippet=_clip(f"if {src.segment(stmt.test)}:"),
            )
            with self._guard(out, marker):
                self._branch(stmt.body, env, phase, out)
                self._branch(stmt.orelse, env, phase, out)
            return _Flow.NORMAL
        if isinstance(stmt, (ast.For, ast.AsyncFor)):
            return self._for(stmt, env, phase, out)
        if isinstance(stmt, ast.While):
            self._expression(stmt.test, env, phase, out)
            marker = Unresolved(
                loc=src.span(stmt, stmt.test),
                phase=phase,
                reason="`while` loop: operations inside run an unknown number of times",
                snippet=_clip(f"while {src.segment(stmt.test)}:"),
            )
            with self._guard(out, marker):
                self._branch(stmt.body, env, phase, out)
                self._branch(stmt.orelse, env, phase, out)
            return _Flow.NORMAL
        if isinstance(stmt, (ast.With, ast.AsyncWith)):
            for item in stmt.items:
                self._with_item(item, env, phase, out)
            return self._block(stmt.body, env, phase, out)
        if isinstance(stmt, ast.Try) or type(stmt).__name__ == "TryStar":
            return self._try(stmt, env, phase, out)
        if isinstance(stmt, ast.Match):
            self._expression(stmt.subject, env, phase, out)
            marker = Unresolved(
                loc=src.span(stmt, stmt.subject),
                phase=phase,
                reason="operations below depend on a run-time `match`; every case is read",
                snippet=_clip(f"match {src.segment(stmt.subject)}:"),
            )
            with self._guard(out, marker):
                for case in stmt.cases:
                    self._branch(case.body, env, phase, out)
            return _Flow.NORMAL
        self._unresolved(out, phase, stmt, f"statement `{type(stmt).__name__}` is not understood")
        return _Flow.NORMAL

    @contextmanager
    def _guard(self, out: list[Operation], marker: Unresolved) -> Iterator[None]:
        """Put ``marker`` (a condition, a loop) in front of the operations read inside the
        block. When the block has no operation, nothing depends on it: no marker. When all
        of them concern one table, the marker names it (so the replay only doubts that
        table)."""
        at = len(out)
        yield
        inner = out[at:]
        if not inner:
            return
        tables = {op.table_name for op in inner}
        if len(tables) == 1:
            only = tables.pop()
            if only is not None:
                marker = replace(marker, table=only)
        out.insert(at, marker)

    def _try(self, stmt: ast.stmt, env: _Env, phase: Phase, out: list[Operation]) -> int:
        body: list[ast.stmt] = getattr(stmt, "body", [])
        handlers: list[ast.ExceptHandler] = getattr(stmt, "handlers", [])
        orelse: list[ast.stmt] = getattr(stmt, "orelse", [])
        final: list[ast.stmt] = getattr(stmt, "finalbody", [])
        if handlers:
            first = self.src.loc(stmt)
            marker = Unresolved(
                loc=Location(self.path, first.line, first.column, first.line,
                             first.column + len("try")),
                phase=phase,
                reason="operations inside `try` may not all run (an exception is "
                "caught); the body and every handler are read",
                snippet="try:",
            )
            with self._guard(out, marker):
                self._branch(body, env, phase, out)
                for handler in handlers:
                    self._branch(handler.body, env, phase, out)
                self._branch(orelse, env, phase, out)
        else:  # try/finally: everything runs
            flow = self._block(body, env, phase, out)
            if flow != _Flow.NORMAL:
                self._block(final, env, phase, out)
                return flow
        return self._block(final, env, phase, out)

    def _for(
        self, stmt: ast.For | ast.AsyncFor, env: _Env, phase: Phase, out: list[Operation]
    ) -> int:
        src = self.src
        iterable = self._eval_safe(stmt.iter, env)
        if isinstance(iterable, _Dict):
            iterable = _Seq(tuple(k for k, _ in iterable.items))
        if isinstance(iterable, _Text):
            iterable = _Seq(tuple(_FixedText(c, iterable.at) for c in iterable.text))
        if isinstance(iterable, _Seq) and len(iterable.items) <= self._unroll_budget:
            self._unroll_budget -= len(iterable.items)
            broke = False
            assigned: set[str] = set()
            for item in iterable.items:
                child = _Env(env)
                self._bind_target(stmt.target, item, child)
                flow = self._block(stmt.body, child, phase, out)
                assigned.update(child.vars)
                if flow == _Flow.RETURN:
                    return flow
                if flow == _Flow.BREAK:
                    broke = True
                    break
            for name in assigned:
                env.vars[name] = UNKNOWN
            if not broke:
                return self._block(stmt.orelse, env, phase, out)
            return _Flow.NORMAL
        self._expression(stmt.iter, env, phase, out)
        marker = Unresolved(
            loc=src.span(stmt, stmt.iter),
            phase=phase,
            reason="loop over values not known statically: operations inside run "
            "once per value, which cannot be read",
            snippet=_clip(f"for {src.segment(stmt.target)} in {src.segment(stmt.iter)}:"),
        )
        with self._guard(out, marker):
            child = _Env(env)
            self._bind_target(stmt.target, UNKNOWN, child)
            self._block(stmt.body, child, phase, out)
            for name in child.vars:
                env.vars[name] = UNKNOWN
            self._branch(stmt.orelse, env, phase, out)
        return _Flow.NORMAL

    def _bind_target(self, target: ast.expr, value: object, env: _Env) -> None:
        if isinstance(target, ast.Name):
            env.vars[target.id] = value
        elif isinstance(target, (ast.Tuple, ast.List)):
            items: tuple[object, ...] | None = None
            if isinstance(value, _Seq) and len(value.items) == len(target.elts):
                items = value.items
            for k, elt in enumerate(target.elts):
                if isinstance(elt, ast.Starred):
                    self._bind_target(elt.value, UNKNOWN, env)
                else:
                    self._bind_target(elt, items[k] if items is not None else UNKNOWN, env)
        elif isinstance(target, ast.Starred):
            self._bind_target(target.value, UNKNOWN, env)
        # attribute / subscript targets bind nothing we track

    def _with_item(
        self, item: ast.withitem, env: _Env, phase: Phase, out: list[Operation]
    ) -> None:
        expr = item.context_expr
        value: object = UNKNOWN
        if isinstance(expr, ast.Call):
            owner = self._eval_safe(expr.func, env)
            if isinstance(owner, _Module) and owner.qual == "alembic.op.batch_alter_table":
                bound = self._bind_call(expr, env, ("table_name", "schema"), False)
                table = self._text(bound.get("table_name"))
                schema = self._text(bound.get("schema"))
                if table is None:
                    self._unresolved(
                        out, phase, expr,
                        "batch_alter_table on a table whose name is not known statically",
                    )
                value = _Batch(table, schema)
            else:
                self._expression(expr, env, phase, out)
                value = self._eval_safe(expr, env)
        else:
            self._expression(expr, env, phase, out)
            value = self._eval_safe(expr, env)
        if item.optional_vars is not None:
            self._bind_target(item.optional_vars, value, env)

    # ------------------------------------------------------------------ expressions

    def _expression(self, expr: ast.expr, env: _Env, phase: Phase, out: list[Operation]) -> None:
        """Perform the calls of an expression that is evaluated for its effects."""
        for call in _outer_calls(expr):
            self._action(call, env, phase, out)

    def _action(self, call: ast.Call, env: _Env, phase: Phase, out: list[Operation]) -> bool:
        """Read one call that is executed; returns False when it was reported unresolved."""
        func = call.func
        # a method called on the result of another call: perform the inner call first
        if isinstance(func, ast.Attribute):
            for inner in _outer_calls(func.value):
                if not self._action(inner, env, phase, out):
                    return False
        target = self._eval_safe(func, env)
        qual = target.qual if isinstance(target, _Module) else None
        if qual is not None and qual.startswith("alembic.op."):
            name = qual[len("alembic.op.") :]
            if "." not in name:
                self._op_call(name, call, env, phase, out, None)
                return True
        if isinstance(func, ast.Attribute) and qual is None:
            owner = self._eval_safe(func.value, env)
            return self._method_action(owner, func.attr, call, env, phase, out)
        if qual == "alembic.context.execute":  # EnvironmentContext.execute: as op.execute
            self._op_call("execute", call, env, phase, out, None)
            return True
        if isinstance(target, _Func):
            what = "class" if target.is_class else "helper function"
            self._unresolved(
                out, phase, call,
                f"call to {what} `{target.name}()`: the operations it performs are not read",
            )
            return False
        if qual is not None and self._harmless_qual(qual):
            self._arguments(call, env, phase, out)
            return True
        name = qual or self.src.segment(func)
        self._unresolved(
            out, phase, call,
            f"call to `{_clip(name, 60)}()`, which is not known statically: "
            "it may change the schema",
        )
        return False

    def _arguments(self, call: ast.Call, env: _Env, phase: Phase, out: list[Operation]) -> None:
        for a in call.args:
            self._expression(a.value if isinstance(a, ast.Starred) else a, env, phase, out)
        for kw in call.keywords:
            self._expression(kw.value, env, phase, out)
        for arg in [*call.args, *(kw.value for kw in call.keywords)]:
            handed = self._operation_reference(arg, env)
            if handed is not None:
                self._unresolved(
                    out, phase, arg,
                    f"`{handed}` is handed to `{_clip(self.src.segment(call.func), 40)}()` "
                    "as a value: when and with what it is called is not known statically",
                    via=handed,
                )

    def _operation_reference(self, expr: ast.expr, env: _Env) -> str | None:
        """The ``op.<name>`` that ``expr`` passes along without calling it (``op.drop_table``
        itself, or a lambda calling it), or None. Calls inside ``expr`` are left to their
        own reading: they are performed, and their arguments checked, on their own."""
        stack: list[ast.AST] = [expr]
        while stack:
            node = stack.pop()
            if isinstance(node, ast.Call):
                continue
            if isinstance(node, ast.Lambda):
                for inner in ast.walk(node.body):
                    if isinstance(inner, ast.Call):
                        name = self._operation_name(inner.func, env)
                        if name is not None:
                            return name
                continue
            if isinstance(node, (ast.Name, ast.Attribute)):
                name = self._operation_name(node, env)
                if name is not None:
                    return name
                continue
            stack.extend(ast.iter_child_nodes(node))
        return None

    def _operation_name(self, node: ast.expr, env: _Env) -> str | None:
        value = self._eval_safe(node, env)
        if isinstance(value, _Module) and value.qual.startswith("alembic.op."):
            name = value.qual[len("alembic.op."):]
            if "." not in name and name not in _OP_HARMLESS:
                return f"op.{name}"
        return None

    def _harmless_qual(self, qual: str) -> bool:
        if qual.startswith("builtins."):
            return _last(qual) not in _UNSAFE_BUILTINS
        if qual.startswith("alembic.op."):
            return qual[len("alembic.op.") :].split(".")[0] in _OP_HARMLESS
        if qual.startswith("sqlalchemy."):
            return _last(qual) not in ("create_all", "drop_all", "execute")
        return _in_modules(qual, _HARMLESS_MODULES)

    def _method_action(
        self,
        owner: object,
        method: str,
        call: ast.Call,
        env: _Env,
        phase: Phase,
        out: list[Operation],
    ) -> bool:
        if isinstance(owner, _Batch):
            self._op_call(method, call, env, phase, out, owner)
            return True
        if isinstance(owner, _Conn):
            if method in ("execute", "exec_driver_sql"):
                via = _clip(self.src.segment(call.func), 60)
                self._execute(call, env, phase, out, via)
            else:
                self._arguments(call, env, phase, out)
            return True
        if method in _EXECUTE_METHODS and isinstance(owner, (_Obj, _Node, _Stmt, _TextClause)):
            # a Session, a raw DBAPI cursor, the migration context: SQL runs all the same
            self._execute(call, env, phase, out, _clip(self.src.segment(call.func), 60))
            return True
        if isinstance(owner, _Node) and method in ("create", "drop"):
            return self._construct_ddl(owner, method, call, env, phase, out)
        if isinstance(owner, _Node) and method in ("create_all", "drop_all"):
            self._unresolved(
                out, phase, call,
                f"MetaData.{method}() emits DDL for tables not visible in this file",
            )
            return False
        if isinstance(owner, _Table) and method in ("create", "drop"):
            self._unresolved(
                out, phase, call,
                f"Table.{method}() on a SQLAlchemy Table object is not read",
                table=owner.name,
            )
            return False
        if isinstance(owner, (_Text, _TextClause, _Stmt, _Obj, _Node, _Table, _Seq, _Dict)):
            self._arguments(call, env, phase, out)
            return True
        self._unresolved(
            out, phase, call,
            f"call to `{_clip(self.src.segment(call.func), 60)}()` on a value not known "
            "statically: it may change the schema",
        )
        return False

    def _construct_ddl(
        self,
        owner: _Node,
        method: str,
        call: ast.Call,
        env: _Env,
        phase: Phase,
        out: list[Operation],
    ) -> bool:
        """``sa.Enum(...).create(op.get_bind())`` / ``postgresql.ENUM(...).drop(bind)``."""
        via = f"{_last(owner.qual)}.{method}"
        if _last(owner.qual).lower() == "enum":
            info = self._enum_info(owner)
            if info is not None and info.name is not None:
                loc = self.src.loc(call)
                if method == "create":
                    if info.values is None:
                        self._unresolved(
                            out, phase, call,
                            f"values of enum type `{info.name}` come from a Python class "
                            "and are not read",
                        )
                        return False
                    out.append(CreateEnumType(loc=loc, phase=phase, via=via, name=info.name,
                                              values=info.values, schema=info.schema))
                else:
                    checkfirst = self._eval_keyword(call, "checkfirst", env)
                    out.append(DropType(loc=loc, phase=phase, via=via, name=info.name,
                                        if_exists=checkfirst is True, schema=info.schema))
                return True
        self._unresolved(
            out, phase, call,
            f"`.{method}()` on a SQLAlchemy `{_last(owner.qual)}` object is not read",
        )
        return False

    def _eval_keyword(self, call: ast.Call, name: str, env: _Env) -> object:
        for kw in call.keywords:
            if kw.arg == name:
                return self._eval_safe(kw.value, env)
        return _MISSING

    def _unresolved(
        self,
        out: list[Operation],
        phase: Phase,
        node: ast.AST,
        reason: str,
        table: str | None = None,
        via: str = "",
    ) -> None:
        out.append(
            Unresolved(
                loc=self.src.loc(node),
                phase=phase,
                via=via,
                reason=reason,
                snippet=self.src.snippet(node),
                table=table,
            )
        )

    # ------------------------------------------------------------------ op calls

    def _bind_call(
        self, call: ast.Call, env: _Env, params: tuple[str, ...], varargs: bool
    ) -> _Bound:
        bound = _Bound()
        positional: list[tuple[object, ast.expr]] = []
        for a in call.args:
            if isinstance(a, ast.Starred):
                value = self._eval_safe(a.value, env)
                if isinstance(value, _Seq):
                    positional.extend((item, a) for item in value.items)
                else:
                    bound.unknown.append(f"*{self.src.segment(a.value)}")
            else:
                positional.append((self._eval_safe(a, env), a))
        for k, (value, node) in enumerate(positional):
            if k < len(params):
                bound.values[params[k]] = value
                bound.nodes[params[k]] = node
            elif varargs:
                bound.varargs.append(value)
            else:
                bound.unknown.append(self.src.segment(node))
        for kw in call.keywords:
            if kw.arg is None:
                value = self._eval_safe(kw.value, env)
                if isinstance(value, _Dict):
                    for k_value, v in value.items:
                        if isinstance(k_value, _Text):
                            bound.values[k_value.text] = v
                            bound.nodes[k_value.text] = kw.value
                            continue
                        bound.unknown.append(f"**{self.src.segment(kw.value)}")
                else:
                    bound.unknown.append(f"**{self.src.segment(kw.value)}")
                continue
            bound.values[kw.arg] = self._eval_safe(kw.value, env)
            bound.nodes[kw.arg] = kw.value
        return bound

    def _op_call(
        self,
        name: str,
        call: ast.Call,
        env: _Env,
        phase: Phase,
        out: list[Operation],
        batch: _Batch | None,
    ) -> None:
        prefix = "batch_op" if batch is not None else "op"
        via = f"{prefix}.{name}"
        if name in _OP_HARMLESS:
            return
        signature = _OP_SIGNATURES.get(name)
        if signature is None:
            self._unresolved(
                out, phase, call,
                f"`{via}` is not an operation b03lint understands; it may change the schema",
                table=batch.table if batch else None,
                via=via,
            )
            return
        params, varargs = signature
        if batch is not None:
            params = tuple(p for p in params if p not in _TABLE_PARAMS)
        bound = self._bind_call(call, env, params, varargs)
        if batch is not None:
            for p in _TABLE_PARAMS:
                bound.values.setdefault(p, _FixedText(batch.table, (0, 0)) if batch.table
                                        else UNKNOWN)
            bound.values.setdefault("schema", _FixedText(batch.schema, (0, 0))
                                    if batch.schema else None)
            bound.values.setdefault("source_schema", bound.values["schema"])
        emit = _Emit(out=out, phase=phase, via=via, loc=self.src.loc(call), node=call)
        handler = getattr(self, f"_op_{name}")
        before = len(out)
        try:
            handler(bound, env, emit)
        except _Unreadable as exc:
            del out[before:]
            self._unresolved(out, phase, call, f"`{via}`: {exc.reason}", table=exc.table, via=via)
            return
        for what, node in emit.notes:
            self._unresolved(out, phase, node, f"`{via}`: {what}", table=emit.table, via=via)
        if bound.unknown:
            self._unresolved(
                out, phase, call,
                f"`{via}`: arguments not known statically: {', '.join(bound.unknown)}",
                table=emit.table,
                via=via,
            )

    # each _op_<name> reads a bound call; raises _Unreadable for a call it cannot read

    def _required_text(self, bound: _Bound, param: str, what: str, table: str | None = None) -> str:
        value = bound.get(param, _MISSING)
        text = self._text(value)
        if text is None:
            raise _Unreadable(f"{what} is not known statically", table)
        return text

    def _optional_text(self, bound: _Bound, param: str, emit: _Emit) -> str | None:
        value = bound.get(param)
        if value is None or value is _MISSING:
            return None
        text = self._text(value)
        if text is None:
            emit.notes.append((f"`{param}` is not known statically", bound.nodes.get(param,
                                                                                     emit.node)))
        return text

    def _flag(self, bound: _Bound, param: str, emit: _Emit) -> bool:
        value = bound.get(param)
        if value is None or value is _MISSING:
            return False
        if isinstance(value, bool):
            return value
        emit.notes.append((f"`{param}` is not known statically", bound.nodes.get(param, emit.node)))
        return False

    def _base(self, emit: _Emit) -> dict[str, object]:
        return {"loc": emit.loc, "phase": emit.phase, "source": "python", "via": emit.via}

    def _op_create_table(self, bound: _Bound, env: _Env, emit: _Emit) -> None:
        table = self._required_text(bound, "table_name", "the table name")
        emit.table = table
        schema = self._optional_text(bound, "schema", emit)
        reads: list[_ColumnRead] = []
        table_constraints: list[ConstraintDef] = []
        enums: list[_EnumInfo] = []
        indexes: list[CreateIndex] = []
        for item in bound.varargs:
            if isinstance(item, _Node):
                kind = _last(item.qual)
                if kind == "Column":
                    read = self._column(item, table, emit, enums, indexes, schema)
                    if read is not None:
                        reads.append(read)
                elif kind == "Index":
                    index = self._sa_index(item, table, schema, emit)
                    if index is not None:
                        indexes.append(index)
                else:
                    constraint = self._sa_constraint(item, emit)
                    if constraint is not None:
                        table_constraints.append(constraint)
                continue
            emit.notes.append(("a column or constraint argument is not known statically",
                               emit.node))
        # the same shape the SQL reader gives CREATE TABLE: every primary-key column is
        # primary_key and NOT NULL, and every constraint (column-level too) is listed
        pk_declared = [c for c in table_constraints if c.kind == "primary_key"]
        inline_pk = tuple(r.column.name for r in reads if r.column.primary_key)
        pk_columns = set(pk_declared[0].columns) if pk_declared else set(inline_pk)
        fk_columns = frozenset(n for c in table_constraints if c.kind == "foreign_key"
                               for n in c.columns)
        reads = self._serial(reads, pk_columns, table, schema, fk_columns)
        columns = [
            _replace_column(r.column, nullable=False, primary_key=True)
            if r.column.name in pk_columns else r.column
            for r in reads
        ]
        constraints: list[ConstraintDef] = []
        if inline_pk and not pk_declared:
            constraints.append(ConstraintDef(kind="primary_key", name=None, columns=inline_pk))
        for r in reads:
            constraints.extend(r.constraints)
        constraints.extend(table_constraints)
        base = self._base(emit)
        self._emit_enums(enums, emit)
        emit.out.append(
            CreateTable(
                **base,  # type: ignore[arg-type]
                table=table,
                columns=tuple(columns),
                constraints=tuple(constraints),
                schema=schema,
                if_not_exists=self._flag(bound, "if_not_exists", emit),
            )
        )
        emit.out.extend(indexes)

    def _emit_enums(self, enums: list[_EnumInfo], emit: _Emit) -> None:
        seen: set[str] = set()
        for info in enums:
            if not info.create or info.name is None or info.name in seen:
                continue
            seen.add(info.name)
            if info.values is None:
                emit.notes.append((f"values of enum type `{info.name}` come from a Python "
                                   "class and are not read", info.node))
                continue
            emit.out.append(
                CreateEnumType(
                    loc=self.src.loc(info.node), phase=emit.phase, via=emit.via,
                    name=info.name, values=info.values, schema=info.schema,
                )
            )

    def _op_drop_table(self, bound: _Bound, env: _Env, emit: _Emit) -> None:
        table = self._required_text(bound, "table_name", "the table name")
        emit.table = table
        emit.out.append(
            DropTable(
                **self._base(emit),  # type: ignore[arg-type]
                table=table,
                schema=self._optional_text(bound, "schema", emit),
                if_exists=self._flag(bound, "if_exists", emit),
            )
        )

    def _op_rename_table(self, bound: _Bound, env: _Env, emit: _Emit) -> None:
        table = self._required_text(bound, "old_table_name", "the table name")
        emit.table = table
        new = self._required_text(bound, "new_table_name", "the new table name", table)
        emit.out.append(
            RenameTable(
                **self._base(emit),  # type: ignore[arg-type]
                table=table,
                new_name=new,
                schema=self._optional_text(bound, "schema", emit),
            )
        )

    def _op_add_column(self, bound: _Bound, env: _Env, emit: _Emit) -> None:
        table = self._required_text(bound, "table_name", "the table name")
        emit.table = table
        schema = self._optional_text(bound, "schema", emit)
        node = bound.get("column")
        if not isinstance(node, _Node) or _last(node.qual) != "Column":
            raise _Unreadable("the column is not a `sa.Column(...)` known statically", table)
        enums: list[_EnumInfo] = []
        indexes: list[CreateIndex] = []
        read = self._column(node, table, emit, enums, indexes, schema)
        if read is None:
            raise _Unreadable("the column could not be read", table)
        if read.column.primary_key:
            read = self._serial([read], {read.column.name}, table, schema)[0]
        column = read.column
        # Alembic's add_column does not create enum types (CREATE TYPE must come first).
        # The replay derives unnamed constraints from the column; a named one is emitted
        # as its own AddConstraint (Alembic adds it with ALTER TABLE ... ADD CONSTRAINT).
        named = [c for c in read.constraints if c.name is not None]
        for c in named:
            if c.kind == "foreign_key":
                column = _replace_column(column, references=None)
            elif c.kind == "check":
                column = _replace_column(column, check=None)
        emit.out.append(
            AddColumn(
                **self._base(emit),  # type: ignore[arg-type]
                table=table,
                column=column,
                schema=schema,
                if_not_exists=self._flag(bound, "if_not_exists", emit),
            )
        )
        for c in named:
            emit.out.append(AddConstraint(**self._base(emit), table=table, constraint=c,  # type: ignore[arg-type]
                                          schema=schema))
        emit.out.extend(indexes)

    def _op_drop_column(self, bound: _Bound, env: _Env, emit: _Emit) -> None:
        table = self._required_text(bound, "table_name", "the table name")
        emit.table = table
        column = self._required_text(bound, "column_name", "the column name", table)
        emit.out.append(
            DropColumn(
                **self._base(emit),  # type: ignore[arg-type]
                table=table,
                column=column,
                schema=self._optional_text(bound, "schema", emit),
                if_exists=self._flag(bound, "if_exists", emit),
            )
        )

    def _op_alter_column(self, bound: _Bound, env: _Env, emit: _Emit) -> None:
        table = self._required_text(bound, "table_name", "the table name")
        emit.table = table
        column = self._required_text(bound, "column_name", "the column name", table)
        schema = self._optional_text(bound, "schema", emit)
        base = self._base(emit)
        produced = False
        # the order Alembic emits them in: TYPE, NULL, DEFAULT, ..., RENAME last
        type_value = bound.get("type_", None)
        if type_value is not None:
            new_type, enum, problem = self._column_type(type_value)
            if problem:
                emit.notes.append((problem, bound.nodes.get("type_", emit.node)))
            using = bound.get("postgresql_using")
            using_text = self._text(using) if using is not None else None
            if using is not None and using_text is None:
                emit.notes.append(("`postgresql_using` is not known statically",
                                   bound.nodes.get("postgresql_using", emit.node)))
            del enum  # Alembic's alter_column does not create enum types
            emit.out.append(AlterColumnType(**base, table=table, column=column,  # type: ignore[arg-type]
                                            new_type=new_type, using=using_text, schema=schema))
            produced = True
        nullable = bound.get("nullable", None)
        if nullable is not None:
            if isinstance(nullable, bool):
                emit.out.append(AlterColumnNullable(**base, table=table, column=column,  # type: ignore[arg-type]
                                                    nullable=nullable, schema=schema))
                produced = True
            else:
                emit.notes.append(("`nullable` is not known statically",
                                   bound.nodes.get("nullable", emit.node)))
        if "server_default" in bound.values:
            value = bound.values["server_default"]
            if value is not False:
                default, ok = self._server_default(value)
                if ok:
                    emit.out.append(AlterColumnDefault(**base, table=table, column=column,  # type: ignore[arg-type]
                                                       default=default, schema=schema))
                    produced = True
                else:
                    emit.notes.append(("`server_default` is not known statically",
                                       bound.nodes.get("server_default", emit.node)))
        comment = bound.get("comment", False)
        if comment is not False and "comment" in bound.values:
            emit.out.append(OtherStatement(**base, statement="op.alter_column comment",  # type: ignore[arg-type]
                                           table=table))
            produced = True
        new_name_value = bound.get("new_column_name", None)
        if new_name_value is not None:
            new_name = self._text(new_name_value)
            if new_name is None:
                emit.notes.append(("`new_column_name` is not known statically",
                                   bound.nodes.get("new_column_name", emit.node)))
            else:
                emit.out.append(RenameColumn(**base, table=table, column=column,  # type: ignore[arg-type]
                                             new_name=new_name, schema=schema))
                produced = True
        if not produced and not emit.notes:
            emit.out.append(OtherStatement(**base, statement="op.alter_column", table=table))  # type: ignore[arg-type]

    def _op_create_index(self, bound: _Bound, env: _Env, emit: _Emit) -> None:
        table = self._required_text(bound, "table_name", "the table name")
        emit.table = table
        name_value = bound.get("index_name")
        name = self._text(name_value)
        if name_value is not None and name is None:
            raise _Unreadable("the index name is not known statically", table)
        columns = bound.get("columns", _MISSING)
        if isinstance(columns, (_Text, _TextClause, _Node)):
            columns = _Seq((columns,))
        if not isinstance(columns, _Seq):
            raise _Unreadable("the index columns are not known statically", table)
        index = self._index(
            name, table, list(columns.items), bound.values,
            self._optional_text(bound, "schema", emit), emit,
        )
        emit.out.append(index)

    def _op_drop_index(self, bound: _Bound, env: _Env, emit: _Emit) -> None:
        name = self._required_text(bound, "index_name", "the index name")
        table = self._optional_text(bound, "table_name", emit)
        emit.table = table
        emit.out.append(
            DropIndex(
                **self._base(emit),  # type: ignore[arg-type]
                name=name,
                table=table,
                concurrently=self._flag(bound, "postgresql_concurrently", emit),
                if_exists=self._flag(bound, "if_exists", emit),
                schema=self._optional_text(bound, "schema", emit),
            )
        )

    def _add_constraint(self, bound: _Bound, emit: _Emit, constraint: ConstraintDef,
                        table: str, schema_param: str = "schema") -> None:
        emit.out.append(
            AddConstraint(
                **self._base(emit),  # type: ignore[arg-type]
                table=table,
                constraint=constraint,
                schema=self._optional_text(bound, schema_param, emit),
            )
        )

    def _constraint_name(self, bound: _Bound, table: str | None) -> str | None:
        value = bound.get("constraint_name")
        if value is None:
            return None
        text = self._text(value)
        if text is None:
            raise _Unreadable("the constraint name is not known statically", table)
        return text

    def _op_create_primary_key(self, bound: _Bound, env: _Env, emit: _Emit) -> None:
        self._key_constraint(bound, emit, "primary_key")

    def _op_create_unique_constraint(self, bound: _Bound, env: _Env, emit: _Emit) -> None:
        self._key_constraint(bound, emit, "unique")

    def _key_constraint(self, bound: _Bound, emit: _Emit, kind: ConstraintKind) -> None:
        table = self._required_text(bound, "table_name", "the table name")
        emit.table = table
        name = self._constraint_name(bound, table)
        columns = self._names(bound.get("columns"))
        if columns is None:
            raise _Unreadable("the constraint columns are not known statically", table)
        constraint = ConstraintDef(kind=kind, name=name, columns=columns,
                                   deferrable=self._flag(bound, "deferrable", emit))
        self._add_constraint(bound, emit, constraint, table)

    def _op_create_foreign_key(self, bound: _Bound, env: _Env, emit: _Emit) -> None:
        table = self._required_text(bound, "source_table", "the table name")
        emit.table = table
        name = self._constraint_name(bound, table)
        referent = self._required_text(bound, "referent_table", "the referenced table", table)
        local = self._names(bound.get("local_cols"))
        remote = self._names(bound.get("remote_cols"))
        if local is None or remote is None:
            raise _Unreadable("the foreign key columns are not known statically", table)
        referent_schema = self._optional_text(bound, "referent_schema", emit)
        ref = ForeignKeyRef(
            table=f"{referent_schema}.{referent}"
            if referent_schema and referent_schema != "public" else referent,
            columns=remote,
            on_delete=_action_text(self._optional_text(bound, "ondelete", emit)),
            on_update=_action_text(self._optional_text(bound, "onupdate", emit)),
        )
        constraint = ConstraintDef(kind="foreign_key", name=name, columns=local, references=ref,
                                   deferrable=self._flag(bound, "deferrable", emit))
        self._add_constraint(bound, emit, constraint, table, "source_schema")

    def _op_create_check_constraint(self, bound: _Bound, env: _Env, emit: _Emit) -> None:
        table = self._required_text(bound, "table_name", "the table name")
        emit.table = table
        name = self._constraint_name(bound, table)
        condition = self._sql_text(bound.get("condition"))
        if condition is None:
            raise _Unreadable("the CHECK condition is not SQL text known statically", table)
        self._add_constraint(bound, emit, self._check(name, condition), table)

    def _op_create_exclude_constraint(self, bound: _Bound, env: _Env, emit: _Emit) -> None:
        table = self._required_text(bound, "table_name", "the table name")
        emit.table = table
        name = self._constraint_name(bound, table)
        columns: list[str] = []
        for element in bound.varargs:
            first = element.items[0] if isinstance(element, _Seq) and element.items else element
            column = self._column_name(first)
            if column is None and isinstance(first, _TextClause):
                column = first.text.text
            if column is None:
                emit.notes.append(("an EXCLUDE element is not known statically", emit.node))
                continue
            columns.append(column)
        where = bound.get("where")
        where_text = self._sql_text(where) if where is not None else None
        self._add_constraint(
            bound, emit,
            ConstraintDef(kind="exclude", name=name, columns=tuple(columns), expression=where_text,
                          deferrable=self._flag(bound, "deferrable", emit)),
            table,
        )

    def _op_drop_constraint(self, bound: _Bound, env: _Env, emit: _Emit) -> None:
        table = self._required_text(bound, "table_name", "the table name")
        emit.table = table
        name = self._required_text(bound, "constraint_name", "the constraint name", table)
        type_text = self._optional_text(bound, "type_", emit)
        kind = _DROP_KINDS.get(type_text.lower()) if type_text else None
        emit.out.append(
            DropConstraint(
                **self._base(emit),  # type: ignore[arg-type]
                table=table,
                name=name,
                constraint_kind=kind,
                if_exists=self._flag(bound, "if_exists", emit),
                schema=self._optional_text(bound, "schema", emit),
            )
        )

    def _op_create_table_comment(self, bound: _Bound, env: _Env, emit: _Emit) -> None:
        table = self._required_text(bound, "table_name", "the table name")
        emit.table = table
        emit.out.append(OtherStatement(**self._base(emit), statement=emit.via, table=table))  # type: ignore[arg-type]

    _op_drop_table_comment = _op_create_table_comment

    def _op_bulk_insert(self, bound: _Bound, env: _Env, emit: _Emit) -> None:
        target = bound.get("table")
        if not isinstance(target, _Table) or target.name is None:
            raise _Unreadable("the table is not a `sa.table(...)` known statically")
        emit.table = target.name
        emit.out.append(DataChange(**self._base(emit), verb="insert", table=target.name))  # type: ignore[arg-type]

    def _op_execute(self, bound: _Bound, env: _Env, emit: _Emit) -> None:
        self._run_sql(bound.get("sqltext", _MISSING), bound.nodes.get("sqltext"), emit)

    def _execute(
        self, call: ast.Call, env: _Env, phase: Phase, out: list[Operation], via: str
    ) -> None:
        """``conn.execute(...)`` / ``conn.exec_driver_sql(...)``."""
        bound = self._bind_call(call, env, ("statement", "parameters"), False)
        bound.unknown.clear()  # extra run-time parameters do not change the SQL
        emit = _Emit(out=out, phase=phase, via=via, loc=self.src.loc(call), node=call)
        value = bound.get("statement", _MISSING)
        if value is _MISSING:
            value = bound.get("sqltext", _MISSING)
        before = len(out)
        try:
            self._run_sql(value, bound.nodes.get("statement"), emit, driver=True)
        except _Unreadable as exc:
            del out[before:]
            self._unresolved(out, phase, call, f"`{via}`: {exc.reason}", table=exc.table, via=via)

    def _run_sql(
        self, value: object, node: ast.expr | None, emit: _Emit, driver: bool = False
    ) -> None:
        """Read the SQL an execute call runs. ``op.execute`` wraps a string in
        ``sa.text()``, so its ``:name`` bind parameters are replaced (as SQLAlchemy does)
        before PostgreSQL's grammar sees them; ``exec_driver_sql`` and a plain string given
        to ``conn.execute`` go to the driver, whose ``%(name)s`` / ``%s`` are replaced."""
        if isinstance(value, _TextClause):
            self._read_sql(_sa_text_params(value.text), emit)
            return
        if isinstance(value, _Text):
            self._read_sql(_driver_params(value) if driver else _sa_text_params(value), emit)
            return
        if isinstance(value, _Stmt):
            if value.verb == "select":
                return  # a read: changes nothing
            raise _Unreadable(
                f"a SQLAlchemy `{value.verb}` statement object is executed; its SQL is not read",
                value.table,
            )
        if isinstance(value, _Node):
            raise _Unreadable(
                f"a SQLAlchemy `{_last(value.qual)}` construct is executed; its SQL is not read"
            )
        if isinstance(value, _Table):
            raise _Unreadable("a SQLAlchemy table expression is executed", value.name)
        raise _Unreadable("the SQL is built at run time and is not known statically")

    def _read_sql(self, text: _Text, emit: _Emit) -> None:
        if not text.text.strip():
            return
        sql = self._sql()
        if sql is None:
            raise _Unreadable("the SQL reader is not available")
        if len(text.text) > self._sql_budget:
            raise _Unreadable(
                "not read: this file's SQL would exceed "
                f"{max(SQL_BUDGET, SQL_BUDGET_FACTOR * len(self.data)):,} characters "
                "(the same SQL executed many times over?)"
            )
        self._sql_budget -= len(text.text)
        source = text

        def position(offset: int) -> Pos:
            return source.position(offset)

        result = sql.read_sql(text.text, path=self.path, position=position, phase=emit.phase,
                              via=emit.via)
        emit.out.extend(result.operations)
        self.mf.diagnostics.extend(result.diagnostics)
        self._merge_comments(result.comments)

    # ------------------------------------------------------------------ SQL helpers

    def _sql(self) -> _SqlModule | None:
        """The SQL reader, imported on first use (it imports pglast)."""
        if self._sql_module is None:
            try:
                module = importlib.import_module("b03lint.readers.sql")
            except Exception:  # pglast missing or sql.py not importable
                self._sql_module = False
                return None
            self._sql_module = module
        if self._sql_module is False:
            return None
        return cast(_SqlModule, self._sql_module)

    def _sql_text(self, value: object) -> str | None:
        """SQL written as a string or ``sa.text(...)``."""
        if isinstance(value, _TextClause):
            return value.text.text
        if isinstance(value, _Text):
            return value.text
        return None

    def _check(self, name: str | None, expression: str,
               columns: tuple[str, ...] = ()) -> ConstraintDef:
        sql = self._sql()
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

    # ------------------------------------------------------------------ SQLAlchemy constructs

    def _node_args(self, node: _Node) -> tuple[list[object], dict[str, object], list[str]]:
        args: list[object] = []
        kwargs: dict[str, object] = {}
        unknown: list[str] = []
        for a in node.call.args:
            if isinstance(a, ast.Starred):
                value = self._eval_safe(a.value, node.env)
                if isinstance(value, _Seq):
                    args.extend(value.items)
                else:
                    unknown.append(self.src.segment(a))
            else:
                args.append(self._eval_safe(a, node.env))
        for kw in node.call.keywords:
            if kw.arg is None:
                value = self._eval_safe(kw.value, node.env)
                if isinstance(value, _Dict) and all(isinstance(k, _Text) for k, _ in value.items):
                    for k, v in value.items:
                        if isinstance(k, _Text):
                            kwargs[k.text] = v
                else:
                    unknown.append(self.src.segment(kw.value))
            else:
                kwargs[kw.arg] = self._eval_safe(kw.value, node.env)
        return args, kwargs, unknown

    def _column(
        self,
        node: _Node,
        table: str,
        emit: _Emit,
        enums: list[_EnumInfo],
        indexes: list[CreateIndex],
        schema: str | None,
    ) -> _ColumnRead | None:
        """Read ``sa.Column(...)``: the column, the constraints written on it (named or
        not), and the index ``index=True`` asks for (into ``indexes``)."""
        args, kwargs, unknown = self._node_args(node)
        if unknown:
            emit.notes.append((f"column arguments not known statically: {', '.join(unknown)}",
                               node.call))
        name: str | None = self._text(kwargs.get("name"))
        type_value: object = kwargs.get("type_", _MISSING)
        rest: list[object] = []
        for k, a in enumerate(args):
            if k == 0 and isinstance(a, _Text):
                name = a.text
            elif type_value is _MISSING and _is_type(a):
                type_value = a
            else:
                rest.append(a)
        if name is None:
            emit.notes.append(("a column's name is not known statically", node.call))
            return None
        col_type: str | None = None
        if type_value is not _MISSING:
            col_type, enum, problem = self._column_type(type_value)
            if problem:
                emit.notes.append((f"column `{name}`: {problem}", node.call))
            if enum is not None:
                enums.append(enum)
        primary_key = kwargs.get("primary_key") is True
        nullable_value = kwargs.get("nullable", _MISSING)
        if isinstance(nullable_value, bool):
            nullable = nullable_value
        else:
            if nullable_value is not _MISSING and nullable_value is not None:
                emit.notes.append((f"column `{name}`: `nullable` is not known statically",
                                   node.call))
            nullable = not primary_key
        default: str | None = None
        if "server_default" in kwargs:
            default, ok = self._server_default(kwargs["server_default"])
            if not ok:
                emit.notes.append((f"column `{name}`: `server_default` is not known statically",
                                   node.call))
        unique = kwargs.get("unique") is True
        index = kwargs.get("index") is True
        references: ForeignKeyRef | None = None
        check: str | None = None
        identity = False
        constraints: list[ConstraintDef] = []
        for extra in rest:
            kind = _last(extra.qual) if isinstance(extra, _Node) else None
            if kind == "ForeignKey" and isinstance(extra, _Node):
                fk = self._inline_fk(extra, name, emit)
                if fk is not None:
                    constraints.append(fk)
                    references = fk.references
            elif kind == "CheckConstraint" and isinstance(extra, _Node):
                made = self._sa_constraint(extra, emit, (name,))
                if made is not None:
                    constraints.append(made)
                    check = made.expression
            elif kind == "Identity":
                identity = True
                nullable = False
            elif kind in ("Sequence", "Computed", "FetchedValue"):
                pass  # client-side sequence / generated column: no default we model
            elif kind == "DefaultClause" and isinstance(extra, _Node):
                dargs, _dkw, _ = self._node_args(extra)
                if dargs:
                    default, _ok = self._server_default(dargs[0])
            else:
                emit.notes.append((f"column `{name}`: an argument is not understood",
                                   extra.call if isinstance(extra, _Node) else node.call))
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
        )
        return _ColumnRead(column, constraints, autoincrement)

    def _serial(self, reads: list[_ColumnRead], pk: set[str], table: str,
                schema: str | None, fk_columns: frozenset[str] = frozenset(),
                ) -> list[_ColumnRead]:
        """SQLAlchemy renders the table's autoincrement column as SERIAL (a single integer
        primary-key column without a default, identity or foreign key, or one marked
        ``autoincrement=True``); give it the default PostgreSQL stores for a serial."""
        out: list[_ColumnRead] = []
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
            ):
                col = _replace_column(col, nullable=False,
                                      default=serial_default(schema, table, col.name))
                read = _ColumnRead(col, read.constraints, read.autoincrement)
            out.append(read)
        return out

    def _inline_fk(self, node: _Node, column: str, emit: _Emit) -> ConstraintDef | None:
        args, kwargs, _ = self._node_args(node)
        target = self._text(args[0] if args else kwargs.get("column"))
        if target is None or "." not in target:
            emit.notes.append(("a ForeignKey target is not known statically", node.call))
            return None
        table, ref_column = target.rsplit(".", 1)
        ref = ForeignKeyRef(
            table=_bare_public(table),
            columns=(ref_column,),
            on_delete=_action_text(self._text(kwargs.get("ondelete"))),
            on_update=_action_text(self._text(kwargs.get("onupdate"))),
        )
        return ConstraintDef(kind="foreign_key", name=self._text(kwargs.get("name")),
                             columns=(column,), references=ref,
                             deferrable=kwargs.get("deferrable") is True)

    def _sa_constraint(self, node: _Node, emit: _Emit,
                       own_columns: tuple[str, ...] = ()) -> ConstraintDef | None:
        kind = _last(node.qual)
        args, kwargs, unknown = self._node_args(node)
        if unknown:
            emit.notes.append((f"`{kind}` arguments not known statically", node.call))
        name_value = kwargs.get("name")
        name = self._text(name_value)
        if name_value is not None and name is None:
            emit.notes.append((f"the name of a `{kind}` is not known statically", node.call))
        deferrable = kwargs.get("deferrable") is True
        if kind in ("PrimaryKeyConstraint", "UniqueConstraint"):
            columns = [self._column_name(a) for a in args]
            if any(c is None for c in columns):
                emit.notes.append((f"`{kind}` columns are not known statically", node.call))
            ckind: ConstraintKind = "primary_key" if kind == "PrimaryKeyConstraint" else "unique"
            return ConstraintDef(kind=ckind, name=name,
                                 columns=tuple(c for c in columns if c is not None),
                                 deferrable=deferrable)
        if kind == "ForeignKeyConstraint":
            local = self._names(args[0] if args else kwargs.get("columns"))
            remote = self._names(args[1] if len(args) > 1 else kwargs.get("refcolumns"))
            if local is None or remote is None or not remote or "." not in remote[0]:
                emit.notes.append(("`ForeignKeyConstraint` columns are not known statically",
                                   node.call))
                return None
            ref_table = _bare_public(remote[0].rsplit(".", 1)[0])
            ref = ForeignKeyRef(
                table=ref_table,
                columns=tuple(r.rsplit(".", 1)[-1] for r in remote),
                on_delete=_action_text(self._text(kwargs.get("ondelete"))),
                on_update=_action_text(self._text(kwargs.get("onupdate"))),
            )
            return ConstraintDef(kind="foreign_key", name=name, columns=local, references=ref,
                                 deferrable=deferrable)
        if kind == "CheckConstraint":
            expression = self._sql_text(args[0] if args else kwargs.get("sqltext"))
            if expression is None:
                emit.notes.append(("a CHECK condition is not SQL text known statically",
                                   node.call))
                return None
            return self._check(name, expression, own_columns)
        if kind == "ExcludeConstraint":
            columns_ex: list[str] = []
            for element in args:
                first = element.items[0] if isinstance(element, _Seq) and element.items else None
                column = self._column_name(first) if first is not None else None
                if column is not None:
                    columns_ex.append(column)
            where = kwargs.get("where")
            return ConstraintDef(kind="exclude", name=name, columns=tuple(columns_ex),
                                 expression=self._sql_text(where) if where is not None else None,
                                 deferrable=deferrable)
        emit.notes.append((f"`{kind}` inside create_table is not understood", node.call))
        return None

    def _sa_index(self, node: _Node, table: str, schema: str | None,
                  emit: _Emit) -> CreateIndex | None:
        args, kwargs, unknown = self._node_args(node)
        if unknown:
            emit.notes.append(("`Index` arguments not known statically", node.call))
        name_value = args[0] if args else kwargs.get("name")
        name = self._text(name_value)
        if name_value is not None and name is None:
            emit.notes.append(("an index name is not known statically", node.call))
            return None
        save = emit.loc
        emit.loc = self.src.loc(node.call)
        try:
            index = self._index(name, table, args[1:], kwargs, schema, emit)
        finally:
            emit.loc = save
        if index.name is None and index.elements and not index.elements[0].is_expression:
            index = _replace_index(index, f"ix_{table}_{index.elements[0].expression}")
        return index

    def _index(
        self,
        name: str | None,
        table: str,
        items: list[object],
        options: dict[str, object],
        schema: str | None,
        emit: _Emit,
    ) -> CreateIndex:
        elements: list[IndexElement] = []
        for item in items:
            elements.extend(self._index_elements(item, emit))
        ops = options.get("postgresql_ops")
        if isinstance(ops, _Dict):
            opclasses = {self._text(k): self._text(v) for k, v in ops.items}
            elements = [
                _replace_element(e, opclasses[e.expression])
                if opclasses.get(e.expression) else e
                for e in elements
            ]
        include_value = options.get("postgresql_include")
        include: tuple[str, ...] = ()
        if include_value is not None:
            names = self._names(include_value)
            if names is None:
                emit.notes.append(("`postgresql_include` is not known statically", emit.node))
            else:
                include = names
        where_value = options.get("postgresql_where")
        where: str | None = None
        if where_value is not None:
            where = self._sql_text(where_value)
            if where is None:
                emit.notes.append(("`postgresql_where` is not SQL text known statically",
                                   emit.node))
        using = options.get("postgresql_using")
        method = (self._text(using) or "btree").lower() if using is not None else "btree"
        if using is not None and self._text(using) is None:
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

    def _index_elements(self, item: object, emit: _Emit) -> list[IndexElement]:
        if isinstance(item, _Text):
            return [IndexElement(expression=item.text)]
        if isinstance(item, _TextClause):
            sql = self._sql()
            if sql is not None:
                try:
                    return list(sql.parse_index_elements(item.text.text))
                except Exception:
                    pass
            return [IndexElement(expression=item.text.text, is_expression=True)]
        if isinstance(item, _Node):
            last = _last(item.qual)
            args, _kw, _ = self._node_args(item)
            if last in ("desc", "asc") and args:
                inner = self._index_elements(args[0], emit)
                if len(inner) == 1:
                    return [_replace_desc(inner[0], last == "desc")]
            if last in ("column", "literal_column") and args:
                text = self._text(args[0])
                if text is not None:
                    if last == "literal_column":
                        return self._index_elements(_TextClause(_FixedText(text, (0, 0))), emit)
                    return [IndexElement(expression=text)]
            method = item.call.func
            if isinstance(method, ast.Attribute) and method.attr in ("desc", "asc"):
                inner_value = self._eval_safe(method.value, item.env)
                inner = self._index_elements(inner_value, emit)
                if len(inner) == 1:
                    return [_replace_desc(inner[0], method.attr == "desc")]
        emit.notes.append(("an index element is not known statically", emit.node))
        return []

    def _column_type(self, value: object) -> tuple[str | None, _EnumInfo | None, str | None]:
        """A SQLAlchemy type as a normalised SQL type, its enum (if any), and a problem."""
        args: list[object]
        kwargs: dict[str, object]
        node: _Node | None
        if isinstance(value, _Module):
            qual, args, kwargs, node = value.qual, [], {}, None
        elif isinstance(value, _Node):
            qual = value.qual
            args, kwargs, _ = self._node_args(value)
            node = value
        else:
            return None, None, "the type is not known statically"
        last = _last(qual)
        lower = last.lower()
        if lower == "enum":
            if node is None:
                return None, None, "`Enum` without values or name"
            info = self._enum_info(node)
            if info is None:
                return None, None, "the enum type is not known statically"
            if kwargs.get("native_enum") is False:
                values = info.values or ()
                length = kwargs.get("length")
                size = length if isinstance(length, int) else max((len(v) for v in values),
                                                                    default=0)
                return normalize_type("varchar", (size,) if size else ()), None, None
            if info.name is None:
                return None, None, "the enum type has no name"
            return info.name, info, None
        if lower == "array":
            item = args[0] if args else kwargs.get("item_type")
            item_type, _enum, problem = self._column_type(item)
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

    def _enum_info(self, node: _Node) -> _EnumInfo | None:
        args, kwargs, unknown = self._node_args(node)
        if unknown:
            return None
        values: tuple[str, ...] | None
        texts = [self._text(a) for a in args]
        name = self._text(kwargs.get("name"))
        if args and all(t is not None for t in texts):
            values = tuple(t for t in texts if t is not None)
        elif not args:
            values = () if kwargs.get("create_type") is False else None
            if node.qual.endswith("ENUM") and name is not None and kwargs.get("create_type") \
                    is False:
                values = ()
        else:
            values = None
            if name is None and len(args) == 1 and isinstance(args[0], _Func):
                name = args[0].name.lower()
        schema = self._text(kwargs.get("schema"))
        create = kwargs.get("create_type") is not False
        return _EnumInfo(name=name, values=values, schema=schema, create=create, node=node.call)

    def _server_default(self, value: object) -> tuple[str | None, bool]:
        """A ``server_default`` as SQL text; ``(None, True)`` for an explicit None."""
        if value is None:
            return None, True
        if isinstance(value, _Text):
            return "'" + value.text.replace("'", "''") + "'", True
        if isinstance(value, _TextClause):
            return value.text.text, True
        if isinstance(value, bool):
            return ("true" if value else "false"), True
        if isinstance(value, (int, float)):
            return f"'{value}'", True
        if isinstance(value, _Node):
            qual = value.qual
            last = _last(qual)
            if ".func." in qual:
                args, _kw, unknown = self._node_args(value)
                rendered = [self._sql_literal(a) for a in args]
                if unknown or any(r is None for r in rendered):
                    return None, False
                return f"{last}({', '.join(r for r in rendered if r is not None)})", True
            if last in ("true", "false", "null"):
                return last if last != "null" else "NULL", True
            if last in ("literal_column", "DefaultClause"):
                args, _kw, _ = self._node_args(value)
                if args:
                    inner = args[0]
                    if last == "literal_column" and isinstance(inner, _Text):
                        return inner.text, True
                    return self._server_default(inner)
            if last == "FetchedValue":
                return None, True
        return None, False

    def _sql_literal(self, value: object) -> str | None:
        if isinstance(value, _Text):
            return "'" + value.text.replace("'", "''") + "'"
        if isinstance(value, _TextClause):
            return value.text.text
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (int, float)):
            return str(value)
        if isinstance(value, _Node):
            default, ok = self._server_default(value)
            return default if ok else None
        return None


class _Unreadable(Exception):
    def __init__(self, reason: str, table: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.table = table


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


class _SqlModule(Protocol):
    """The part of ``b03lint.readers.sql`` this module uses."""

    def read_sql(
        self, text: str, *, path: str, position: Callable[[int], Pos] | None = ...,
        phase: Phase = ..., via: str = ...,
    ) -> _SqlResultLike: ...

    def analyze_check(self, expr: str) -> _CheckInfoLike: ...

    def parse_index_elements(self, text: str) -> tuple[IndexElement, ...]: ...


if TYPE_CHECKING:  # mypy proves that the SQL reader provides this interface
    from b03lint.readers import sql as _sql_reader

    _interface_check: _SqlModule = _sql_reader


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
    qual = _qual_of(value)
    if qual is None:
        return False
    last = _last(qual)
    if last in ("ForeignKey", "CheckConstraint", "Identity", "Sequence", "Computed",
                "FetchedValue", "DefaultClause", "Index"):
        return False
    return last.lower() in _SA_TYPES or last.lower() in ("enum", "array") or (
        qual.startswith("sqlalchemy.") and last[:1].isupper()
    )


def _binds(stmt: ast.stmt, names: tuple[str, ...]) -> list[str]:
    """Which of ``names`` a module-level statement binds in the module's namespace: a
    ``def`` or class (also inside an ``if``/``try``/``with``/loop), an assignment target,
    an import alias. Function and class bodies are their own scopes and are not entered."""
    found: list[str] = []
    stack: list[ast.AST] = [stmt]
    while stack:
        node = stack.pop()
        name: str | None = None
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            name = node.name
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            name = node.id
        elif isinstance(node, ast.alias):
            name = node.asname or node.name.split(".")[0]
        if name in names and name not in found:
            found.append(name)
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
                                 ast.Lambda)):
            stack.extend(ast.iter_child_nodes(node))
    return found


def _outer_calls(expr: ast.expr) -> Iterator[ast.Call]:
    """The calls in ``expr`` that are not arguments of another call (in source order)."""
    if isinstance(expr, ast.Call):
        yield expr
        return
    if isinstance(expr, (ast.Lambda, ast.Constant)):
        return
    for child in ast.iter_child_nodes(expr):
        if isinstance(child, ast.expr):
            yield from _outer_calls(child)
        elif isinstance(child, ast.comprehension):
            yield from _outer_calls(child.iter)
            for cond in child.ifs:
                yield from _outer_calls(cond)
        elif isinstance(child, ast.keyword):
            yield from _outer_calls(child.value)


def _python_value(value: object) -> object:
    """A plain Python value for static arithmetic, or _MISSING."""
    if isinstance(value, _Text):
        return value.text
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, _Seq):
        items = [_python_value(i) for i in value.items]
        if any(i is _MISSING for i in items):
            return _MISSING
        return tuple(items)
    if isinstance(value, _Dict):
        result: dict[object, object] = {}
        for k, v in value.items:
            pk, pv = _python_value(k), _python_value(v)
            if pk is _MISSING or pv is _MISSING:
                return _MISSING
            try:
                result[pk] = pv
            except TypeError:
                return _MISSING
        return result
    return _MISSING


def _plain_format(template: str) -> bool:
    """Whether ``template.format(...)`` is safe to evaluate: no nested replacement field
    and no huge width or precision in any format spec."""
    import string

    try:
        return not any(spec and ("{" in spec or _HUGE_SPEC.search(spec))
                       for _lit, _field, spec, _conv in string.Formatter().parse(template))
    except ValueError:
        return False


def _is_plain(value: object) -> bool:
    return value is None or isinstance(value, (bool, int, float, _Text, _Seq, _Dict))


def _truth(value: object) -> bool:
    if isinstance(value, _Text):
        return bool(value.text)
    if isinstance(value, (_Seq, _Dict)):
        return bool(value.items)
    return bool(value)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _clip(text: str, limit: int = SNIPPET_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _action_text(value: str | None) -> str | None:
    """A foreign-key action as the SQL reader spells it; None for NO ACTION."""
    text = " ".join(value.upper().split()) if value else None
    return None if text == "NO ACTION" else text


def _replace_column(column: ColumnDef, **changes: Any) -> ColumnDef:
    return replace(column, **changes)


def _bare_public(table: str) -> str:
    return table[len("public."):] if table.startswith("public.") else table


def _replace_index(index: CreateIndex, name: str) -> CreateIndex:
    return replace(index, name=name)


def _replace_element(element: IndexElement, opclass: str | None) -> IndexElement:
    return replace(element, opclass=opclass)


def _replace_desc(element: IndexElement, descending: bool) -> IndexElement:
    return replace(element, descending=descending)

