"""What every part of the SQL reader shares while it reads one text: the text, where
each of its characters is in the file, the phase and label stamped on each operation, and
the result (operations, diagnostics, comments) being filled.

The statement readers (``statements.py``) and the DO-block reader (``plpgsql.py``) each
extend :class:`ReaderContext`; a DO block holds statements and a statement can be a DO
block, so each calls the other through the two methods declared here, and neither module
imports the other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import field
from typing import TYPE_CHECKING, Any

from b03lint.operations import Diagnostic, Location, Operation, Phase
from b03lint.readers.sql.lexer import Position

if TYPE_CHECKING:
    from dataclasses import dataclass as record
else:  # the same classes, made without dataclasses' start-up cost (b03lint.records)
    from b03lint.records import record

#: diagnostic code for SQL that PostgreSQL would reject
SYNTAX_ERROR_CODE = "I003"


@record
class SqlResult:
    """What :func:`read_sql` found in one piece of SQL text."""

    operations: list[Operation] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    #: line -> text of the ``--`` / ``/* */`` comments on that line (markers included;
    #: several comments on one line are joined by a space; a block comment contributes its
    #: part to every line it spans). Comments inside string literals and dollar quotes are
    #: not comments, except inside the dollar-quoted body of a DO block.
    comments: dict[int, str] = field(default_factory=dict)


class ReaderContext:
    """The state of reading one SQL text."""

    def __init__(
        self, text: str, path: str, position: Position, phase: Phase, via: str
    ) -> None:
        self.text = text
        self.path = path
        self.position = position
        self.phase = phase
        self.via = via
        self.result = SqlResult()
        self.comment_starts: dict[int, int] = {}

    # ------------------------------------------------------------------ plumbing

    def loc(self, start: int, end: int | None = None) -> Location:
        line, col = self.position(start)
        if end is None:
            return Location(self.path, line, col)
        end_line, end_col = self.position(end)
        return Location(self.path, line, col, end_line, end_col)

    def kw(self, loc: Location) -> dict[str, Any]:
        return {"loc": loc, "phase": self.phase, "source": "sql", "via": self.via}

    def error(self, message: str, offset: int) -> None:
        self.result.diagnostics.append(
            Diagnostic(
                code=SYNTAX_ERROR_CODE,
                message=f"SQL syntax error: {message}",
                loc=self.loc(offset),
                severity="blocking",
            )
        )

    def collect_comments(self, comments: list[tuple[int, int]]) -> None:
        found = self.result.comments
        text = self.text
        for start, stop in comments:
            seg = start
            while True:
                nl = text.find("\n", seg, stop)
                seg_end = stop if nl < 0 else nl
                part = text[seg:seg_end].strip()
                if part:
                    line = self.position(seg)[0]
                    found[line] = f"{found[line]} {part}" if line in found else part
                if nl < 0:
                    break
                seg = nl + 1

    # ------------------------------------------------------------------ each other's entry

    def statement(self, node: Any, loc: Location) -> list[Operation]:
        """Operations of one parsed statement, all at ``loc`` (``statements.py``)."""
        raise NotImplementedError

    def do_block(
        self, node: Any, loc: Location, offset: Callable[[int], int] | None = None
    ) -> list[Operation]:
        """Operations of a DO statement, all at ``loc`` (``plpgsql.py``)."""
        raise NotImplementedError
