"""The fix engine's data: edits, fixes, positions (no libcst here)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from b03lint.config import Config
    from b03lint.findings import Finding

from b03lint.suppressions import REASON_PLACEHOLDER as REASON_PLACEHOLDER

_WAIVER = ("unsafe", "`b03lint check --unsafe-fixes --adr ADR-<id>` writes the guide's "
           "waiver `# CI:DESTRUCTIVE_OK - See ADR-<id>` on the line (the ADR must have a "
           "file in `adr_dir`)")

#: rule code -> (safe or unsafe, what ``b03lint check --fix`` does), for each rule's
#: documentation (``b03lint rule``, docs/rules.md); the suite checks it against the fixers
FIX_DOCS: dict[str, tuple[str, str]] = {
    "L001": ("safe", "`b03lint check --fix` builds the index with "
                     "`postgresql_concurrently=True` (`CONCURRENTLY` in SQL) in "
                     "`with op.get_context().autocommit_block():`"),
    "L002": ("safe", "`b03lint check --fix` drops the index with "
                     "`postgresql_concurrently=True` (`CONCURRENTLY` in SQL) in an autocommit "
                     "block"),
    "L003": ("safe", "`b03lint check --fix` adds `postgresql_not_valid=True` (`NOT VALID` in "
                     "SQL) and writes a new revision on top of this one that runs `VALIDATE "
                     "CONSTRAINT`; unsafe (`--unsafe-fixes`) when revisions already build on "
                     "this one, which then build on the new one"),
    "L010": ("safe", "`b03lint check --fix` moves the statement into "
                     "`with op.get_context().autocommit_block():`"),
    "L012": ("safe", "`b03lint check --fix` rebuilds it `CONCURRENTLY` in an autocommit block "
                     "(PostgreSQL 12+)"),
    "L021": ("safe", "`b03lint check --fix` adds `if_not_exists=True` / `if_exists=True` "
                     "(`IF NOT EXISTS` / `IF EXISTS` in SQL)"),
    **{f"D{n:03d}": _WAIVER for n in range(1, 15)},
}


class FixError(ValueError):
    """A fix was asked for with an argument it cannot use (an ``--adr`` that has no file):
    the message says why, for the command line's exit code 2."""


@dataclass(frozen=True)
class TextEdit:
    """Replace ``[start, end)`` of a text with ``new_text`` (an insertion when start ==
    end). Lines 1-based, columns 0-based in code points (see the module's docstring)."""

    start_line: int
    start_col: int
    end_line: int
    end_col: int
    new_text: str


@dataclass(frozen=True)
class Fix:
    """One way to resolve one finding."""

    #: the rule code of the finding it resolves (``L001``)
    code: str
    #: one line, imperative, for a code action's title and the command line's listing
    title: str
    #: applied by ``--fix`` (True) or only by ``--unsafe-fixes`` (False)
    safe: bool
    #: the migration file the edits apply to
    path: Path
    edits: tuple[TextEdit, ...]
    #: new files to create with their text (the follow-up VALIDATE migration)
    follow_up_files: tuple[tuple[Path, str], ...] = ()
    #: edits to other existing files, each against that file's current text (the child
    #: revisions whose ``down_revision`` moves onto a follow-up migration)
    other_edits: tuple[tuple[Path, tuple[TextEdit, ...]], ...] = ()
    #: text the edits contain that the user must replace before the fix does its job (the
    #: suppression's reason); such a fix is offered in the editor and never applied by the
    #: command line, not even with ``--unsafe-fixes``
    placeholder: str | None = None
    #: the finding it resolves (for matching a code action to its diagnostic)
    finding: Finding | None = field(default=None, compare=False)

    @property
    def manual(self) -> bool:
        return self.placeholder is not None

    def files(self) -> list[Path]:
        """Every file the fix writes: the migration, its follow-ups, the other files."""
        return [self.path, *(p for p, _ in self.follow_up_files),
                *(p for p, _ in self.other_edits)]


def resolve_adr(adr: str, config: Config) -> str:
    """``adr`` (``3``, ``ADR-3``, ``ADR-003``) as waivers cite it (``ADR-003``), when it has
    a file in ``adr_dir``; else :class:`FixError` saying where it was looked for."""
    from b03lint.waivers import ADR_RE, _canon_adr, adr_index, adr_pattern

    try:
        pattern = adr_pattern(config.get("adr_pattern"))
    except ValueError as exc:
        raise FixError(str(exc)) from None
    m = ADR_RE.fullmatch(adr.strip())
    ident = m.group("id") if m else adr.strip()
    if not ident.isalnum():
        raise FixError(f"--adr {adr!r} is not an ADR id (like ADR-003)")
    canon = _canon_adr(ident)
    adr_dir = config.path("adr_dir")
    if canon not in adr_index(adr_dir, pattern):
        shown = config.get("adr_dir")
        raise FixError(f"--adr {adr}: {canon} has no file named {pattern.shown} in {shown} "
                       f"(adr_pattern = {pattern.name!r}); write the ADR first, or cite one "
                       "that exists")
    return canon


def known_adrs(config: Config) -> list[str]:
    """Every ADR of ``adr_dir`` as waivers cite it, for an editor to offer one waiver per
    ADR."""
    from b03lint.waivers import adr_index, adr_pattern

    try:
        pattern = adr_pattern(config.get("adr_pattern"))
    except ValueError:
        return []
    return sorted(adr_index(config.path("adr_dir"), pattern))


def _offsets(text: str) -> list[int]:
    starts = [0]
    at = text.find("\n")
    while at != -1:
        starts.append(at + 1)
        at = text.find("\n", at + 1)
    return starts


def offset_of(text: str, line: int, col: int, starts: list[int] | None = None) -> int:
    """The index in ``text`` of (1-based line, 0-based column); ValueError outside it."""
    starts = starts if starts is not None else _offsets(text)
    if not 1 <= line <= len(starts):
        raise ValueError(f"line {line} is outside the text ({len(starts)} lines)")
    end = starts[line] - 1 if line < len(starts) else len(text)
    if not 0 <= col <= end - starts[line - 1]:
        raise ValueError(f"column {col} is outside line {line}")
    return starts[line - 1] + col


def position_of(text: str, offset: int, starts: list[int] | None = None) -> tuple[int, int]:
    """(1-based line, 0-based column) of index ``offset`` of ``text``."""
    import bisect

    starts = starts if starts is not None else _offsets(text)
    line = bisect.bisect_right(starts, offset)
    return line, offset - starts[line - 1]


def edit_between(old: str, new: str) -> TextEdit | None:
    """The one edit that turns ``old`` into ``new`` (their common start and end kept), or
    None when they are equal."""
    if old == new:
        return None
    limit = min(len(old), len(new))
    p = 0
    while p < limit and old[p] == new[p]:
        p += 1
    s = 0
    while s < limit - p and old[-1 - s] == new[-1 - s]:
        s += 1
    starts = _offsets(old)
    sl, sc = position_of(old, p, starts)
    el, ec = position_of(old, len(old) - s, starts)
    return TextEdit(sl, sc, el, ec, new[p:len(new) - s])


def apply(source: str, edits: Iterable[TextEdit]) -> str:
    """``source`` with ``edits`` made, all positions being in ``source``; ValueError when
    two edits overlap (two insertions at one place are made in the order given)."""
    starts = _offsets(source)
    spans = []
    for i, e in enumerate(edits):
        a = offset_of(source, e.start_line, e.start_col, starts)
        b = offset_of(source, e.end_line, e.end_col, starts)
        if b < a:
            raise ValueError(f"edit ends before it starts: {e}")
        spans.append((a, b, i, e.new_text))
    spans.sort()
    for (_, b1, _, _), (a2, _, _, _) in itertools.pairwise(spans):
        if a2 < b1:
            raise ValueError("edits overlap")
    out: list[str] = []
    last = 0
    for a, b, _, text in spans:
        out.append(source[last:a])
        out.append(text)
        last = b
    out.append(source[last:])
    return "".join(out)


def lsp_text_edit(source: str, edit: TextEdit, encoding: str = "utf-16") -> dict[str, Any]:
    """``edit`` as an LSP ``TextEdit`` (0-based lines, columns in ``encoding``'s code units:
    ``utf-16`` (the protocol's default), ``utf-8`` or ``utf-32``)."""
    lines = source.split("\n")

    def character(line: int, col: int) -> int:
        text = lines[line - 1][:col] if line - 1 < len(lines) else ""
        if encoding == "utf-32":
            return len(text)
        if encoding == "utf-8":
            return len(text.encode("utf-8"))
        return len(text.encode("utf-16-le")) // 2

    return {"range": {"start": {"line": edit.start_line - 1,
                                "character": character(edit.start_line, edit.start_col)},
                      "end": {"line": edit.end_line - 1,
                              "character": character(edit.end_line, edit.end_col)}},
            "newText": edit.new_text}
