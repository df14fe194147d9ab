"""Where the operations read from one call go: the call's arguments bound to their
parameters, the list the operations are appended to with their label, and the two ways
of saying that something cannot be read (:class:`Unreadable` for a whole call,
:func:`unresolved` for a marker in the output)."""

from __future__ import annotations

import ast
from dataclasses import field
from typing import TYPE_CHECKING

from b03lint.operations import Location, Operation, Phase, Unresolved
from b03lint.readers.python.source import Source

if TYPE_CHECKING:
    from dataclasses import dataclass as record
else:  # the same classes, made without dataclasses' start-up cost (b03lint.records)
    from b03lint.records import record


@record(slots=True)
class Bound:
    """The arguments of one op call, bound to their parameter names and evaluated."""

    values: dict[str, object] = field(default_factory=dict)
    nodes: dict[str, ast.expr] = field(default_factory=dict)
    varargs: list[object] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # what could not be bound

    def get(self, name: str, default: object = None) -> object:
        return self.values.get(name, default)


@record(slots=True)
class Emit:
    """Where the operations of one call go, and how they are labelled."""

    out: list[Operation]
    phase: Phase
    via: str
    loc: Location
    node: ast.AST
    table: str | None = None
    notes: list[tuple[str, ast.AST]] = field(default_factory=list)


class Unreadable(Exception):
    """A call that cannot be read: what it produced so far is dropped and the call is one
    Unresolved marker with this reason (naming ``table`` when known)."""

    def __init__(self, reason: str, table: str | None = None, data: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.table = table
        #: the call runs a data statement (it changes no schema fact)
        self.data = data


def op_fields(emit: Emit) -> dict[str, object]:
    """The fields every operation read from one call shares."""
    return {"loc": emit.loc, "phase": emit.phase, "source": "python", "via": emit.via}


def unresolved(
    src: Source,
    out: list[Operation],
    phase: Phase,
    node: ast.AST,
    reason: str,
    table: str | None = None,
    via: str = "",
    data: bool = False,
) -> None:
    """Append an :class:`Unresolved` marker for ``node`` with ``reason``."""
    out.append(
        Unresolved(
            loc=src.loc(node),
            phase=phase,
            via=via,
            reason=reason,
            snippet=src.snippet(node),
            table=table,
            data=data,
        )
    )
