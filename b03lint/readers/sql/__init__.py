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
  converts is checked once at import (:data:`parse.PGLAST_BYTE_OFFSETS`); if it does not, the
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

The layers, each a module of this package (text flows down; each uses only those below)::

    read_sql(text, path=..., position=...)      reader.py       the driver, error recovery
      statements.py   one parsed statement -> operations (CREATE/ALTER TABLE, INDEX, ...)
      plpgsql.py      DO blocks: the PL/pgSQL body flattened or Unresolved
      context.py      the state both of those share (text, positions, result)
      expressions.py  CHECK analysis, normalize_expression/_default, index elements
      deparse.py      nodes -> text in one spelling; names, types
      parse.py        pglast behind the depth and operator-run guards; offsets
      lexer.py        statements and comments without parsing (quotes, $$, /* */)
"""

from __future__ import annotations

from b03lint.readers.sql.context import SYNTAX_ERROR_CODE, SqlResult
from b03lint.readers.sql.expressions import (
    CheckInfo,
    analyze_check,
    normalize_default,
    normalize_expression,
    parse_index_elements,
)
from b03lint.readers.sql.lexer import Position, split_statements
from b03lint.readers.sql.parse import MAX_OPERATOR_DEPTH, MAX_OPERATOR_RUN, parse_sql
from b03lint.readers.sql.reader import read_sql

__all__ = [
    "MAX_OPERATOR_DEPTH",
    "MAX_OPERATOR_RUN",
    "SYNTAX_ERROR_CODE",
    "CheckInfo",
    "Position",
    "SqlResult",
    "analyze_check",
    "normalize_default",
    "normalize_expression",
    "parse_index_elements",
    "parse_sql",
    "read_sql",
    "split_statements",
]
