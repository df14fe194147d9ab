"""The guide's section 3.1 normalisation, done with PostgreSQL's grammar instead of line
filters: canonical SQL and a ``pg_dump --schema-only`` file both become one canonical
spelling, deterministically ordered by table and object name, so that ``diff -u`` of the two
shows only real differences.

What it does:

- tables, columns, constraints, indexes, row level security and policies are read with
  the SQL reader, folded into a :class:`~b03lint.schema.model.Schema` and printed by
  :func:`~b03lint.schema.emit.schema_to_sql` with ``normalized=True``: per table (by
  name) the CREATE TABLE with its columns in order, then every constraint as its own named
  ``ALTER TABLE ... ADD CONSTRAINT`` (by name), the indexes, RLS and the policies; types,
  expressions and defaults in one spelling (``character varying(255)`` and ``VARCHAR(255)``
  alike, ``x IN (...)`` and pg_dump's ``(x)::text = ANY (ARRAY[...])`` alike); ``public.``
  and ``ONLY`` dropped;
- every other statement (functions, triggers, extensions, sequences not implied by a
  serial column, grants, ...) is deparsed by pglast with ``public.`` dropped, and printed
  after the tables, ordered by statement kind and text;
- noise is dropped: comments, blank lines, ``SET``, ``SELECT pg_catalog.set_config(...)``,
  ``COMMENT ON``, ``OWNER TO``, psql meta-commands (``\\restrict``), and the ``CREATE
  SEQUENCE`` / ``ALTER SEQUENCE ... OWNED BY`` of sequences a column default draws from
  (what ``serial`` means).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from typing import Any

from b03lint.findings import ToolError
from b03lint.operations import (
    AlterSequenceOwner,
    CreateSequence,
    DropSequence,
    OtherStatement,
    RenameSequence,
    Unresolved,
)

_SEQUENCE_OPS = (CreateSequence, AlterSequenceOwner, RenameSequence, DropSequence)
#: order of the statements printed after the tables
_OTHER_ORDER = {"CreateExtensionStmt": 0, "CreateSchemaStmt": 1, "CreateSeqStmt": 2,
                "AlterSeqStmt": 3, "DefineStmt": 4, "CreateDomainStmt": 5,
                "CreateFunctionStmt": 6, "ViewStmt": 7, "CreateTableAsStmt": 8,
                "CreateTrigStmt": 9, "RuleStmt": 10, "GrantStmt": 11}


@dataclass
class Normalized:
    text: str
    errors: list[ToolError] = field(default_factory=list)
    warnings: list[ToolError] = field(default_factory=list)


def _line_starts(text: str) -> list[int]:
    starts = [0]
    for m in re.finditer("\n", text):
        starts.append(m.end())
    return starts


def _is_noise(node: Any, owned_sequences: set[str]) -> bool:
    from pglast import ast, enums

    if isinstance(node, ast.VariableSetStmt | ast.CommentStmt | ast.AlterOwnerStmt):
        return True
    if isinstance(node, ast.SelectStmt):
        targets = node.targetList or ()
        if len(targets) == 1 and isinstance(targets[0].val, ast.FuncCall):
            names = [getattr(n, "sval", "") for n in targets[0].val.funcname or ()]
            return names[-1] == "set_config"
        return False
    if isinstance(node, ast.AlterTableStmt):
        cmds = node.cmds or ()
        return bool(cmds) and all(
            c.subtype == enums.AlterTableType.AT_ChangeOwner for c in cmds)
    if isinstance(node, ast.CreateSeqStmt):
        return _seq_name(node.sequence) in owned_sequences
    if isinstance(node, ast.AlterSeqStmt):
        options = node.options or ()
        return (_seq_name(node.sequence) in owned_sequences
                and all(o.defname == "owned_by" for o in options))
    return False


def _seq_name(rv: Any) -> str:
    schema = rv.schemaname
    return rv.relname if schema in (None, "public") else f"{schema}.{rv.relname}"


def _strip_public(node: Any) -> None:
    """Drop ``public.`` from relation, function and type names, in place."""
    from pglast import ast

    seen: set[int] = set()

    def walk(value: Any) -> None:
        if isinstance(value, tuple | list):
            for item in value:
                walk(item)
            return
        if not isinstance(value, ast.Node) or id(value) in seen:
            return
        seen.add(id(value))
        if isinstance(value, ast.RangeVar) and value.schemaname == "public":
            value.schemaname = None
        for name in value:
            child = getattr(value, name, None)
            if (isinstance(child, tuple) and len(child) >= 2
                    and all(isinstance(c, ast.String) for c in child)
                    and child[0].sval == "public"):
                setattr(value, name, child[1:])
                continue
            walk(child)

    walk(node)


def _deparse(text: str) -> tuple[str, str] | None:
    """(statement kind, one-line deparsed text) of one statement, None when pglast cannot
    parse it on its own."""
    from pglast.parser import ParseError
    from pglast.stream import RawStream

    from b03lint.readers.sql import parse_sql  # refuses what would crash pglast

    try:
        stmts = parse_sql(text)
    except ParseError:
        return None
    if len(stmts) != 1:
        return None
    node = stmts[0].stmt
    if node is None:
        return None
    _strip_public(node)
    try:
        return type(node).__name__, str(RawStream()(node))
    except Exception:
        return type(node).__name__, " ".join(text.split())


def normalize_sql(text: str, path: str) -> Normalized:
    """Normalise canonical SQL or a ``pg_dump --schema-only`` file (see the module doc).
    Syntax errors and statements that cannot be resolved come back as errors / warnings
    with their line; the text is still produced from what could be read."""
    from pglast.parser import ParseError

    from b03lint.readers.sql import parse_sql, read_sql, split_statements
    from b03lint.schema.canonical import without_meta_commands, without_version_table
    from b03lint.schema.emit import schema_sql_blocks, sequence_of
    from b03lint.schema.replay import fold

    # psql meta-commands (pg_dump writes \restrict / \unrestrict since 17.6): blanked, so
    # every line keeps its number
    text = without_meta_commands(text)
    result = read_sql(text, path=path, phase="upgrade", via="normalize")
    out = Normalized("")
    for d in result.diagnostics:
        target = out.errors if d.severity == "blocking" else out.warnings
        target.append(ToolError(d.message, d.loc.path, d.loc.line, d.loc.column + 1))
    starts = _line_starts(text)
    modelled: set[int] = set()  # start offsets of statements that the schema covers
    spans = split_statements(text)
    span_starts = [s for s, _ in spans]

    kept = []
    for op in result.operations:
        offset = starts[min(op.loc.line, len(starts)) - 1] + op.loc.column
        i = bisect.bisect_right(span_starts, offset) - 1
        if isinstance(op, (OtherStatement, Unresolved, *_SEQUENCE_OPS)):
            # a sequence statement is printed as written (deparsed), or dropped as noise
            # when a serial column's default implies it
            if isinstance(op, Unresolved):
                out.warnings.append(ToolError(f"not modelled, printed as written: "
                                              f"{op.reason}", op.loc.path, op.loc.line))
            continue
        if i >= 0:
            modelled.add(span_starts[i])
        kept.append(op)
    replay = fold([(None, kept)], label=f"normalized {path}")
    without_version_table(replay.schema)
    for conflict in replay.conflicts:
        out.warnings.append(ToolError(conflict.message, conflict.loc.path, conflict.loc.line))
    schema = replay.schema
    owned = {seq for t in schema.tables.values() for c in t.columns.values()
             if (seq := sequence_of(c.default)) is not None}
    owned |= {s.removeprefix("public.") for s in owned}
    others: list[tuple[int, str, str]] = []
    for start, end in spans:
        if start in modelled:
            continue
        piece = text[start:end]
        try:
            stmts = parse_sql(piece)
        except ParseError:
            stmts = ()
        if len(stmts) == 1 and _is_noise(stmts[0].stmt, owned):
            continue
        deparsed = _deparse(piece)
        if deparsed is None:
            kind, printed = "?", " ".join(piece.split())
        else:
            kind, printed = deparsed
        others.append((_OTHER_ORDER.get(kind, 50), kind, printed))
    lines = schema_sql_blocks(schema, normalized=True)
    lines += [printed + ";" for _rank, _kind, printed in sorted(others)]
    out.text = "\n".join(lines) + "\n" if lines else ""
    return out
