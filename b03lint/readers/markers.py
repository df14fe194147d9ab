"""Markers: what a run-time condition, loop or ``try`` makes unknown, for both readers.

A migration's ``if``/``for``/``try`` (Python) or a DO block's ``IF``/``LOOP`` (PL/pgSQL)
decides at run time whether the operations inside it run. The readers read those
operations and put one :class:`~b03lint.operations.Unresolved` marker in front of them;
the replay doubts what the marker names, and only that. :func:`guard` decides what that
is, the same way for both readers:

- no operation inside: nothing depends on the condition, no marker;
- every operation inside changes no schema fact (data statements, GRANT, COMMENT, SET,
  ...: :func:`changes_no_schema`): the marker changes none either (``data=True``);
- they all concern one table: the marker names it; several tables, each named: the
  marker lists them; an operation inside that may touch anything: the marker may too.

This module imports only :mod:`b03lint.operations`.
"""

from __future__ import annotations

from dataclasses import replace

from b03lint.operations import DataChange, Operation, OtherStatement, Unresolved


def changes_no_schema(op: Operation) -> bool:
    """Whether ``op`` leaves every table, column, constraint, index and policy as it was,
    whatever its run-time details: a data statement, read or not (INSERT/UPDATE/DELETE/
    SELECT), or a statement b03lint read and knows changes nothing it models (GRANT,
    COMMENT ON, CREATE FUNCTION, SET, ...)."""
    return isinstance(op, (DataChange, OtherStatement)) or (
        isinstance(op, Unresolved) and op.data)


def guard(marker: Unresolved, inner: list[Operation]) -> Unresolved | None:
    """The marker to put in front of ``inner`` (the operations read under a run-time
    condition), or None when there is nothing for it to guard."""
    if not inner:
        return None
    if all(changes_no_schema(op) for op in inner):
        marker = replace(marker, data=True)  # no schema fact depends on it
    tables = {op.table_name for op in inner}
    if len(tables) == 1:
        only = tables.pop()
        if only is not None:
            marker = replace(marker, table=only)
    elif None not in tables and not any(isinstance(op, Unresolved) and not op.table
                                        for op in inner):
        marker = replace(marker, tables=tuple(sorted(t for t in tables if t)))
    return marker
