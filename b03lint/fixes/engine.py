"""The fixers, by rule code: each finding's fix, checked to leave valid Python."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import libcst as cst

from b03lint.fixes.context import Context, Fixer
from b03lint.fixes.model import Fix, resolve_adr
from b03lint.fixes.source import Source

if TYPE_CHECKING:
    from b03lint.config import Config
    from b03lint.findings import Finding
    from b03lint.project import Project


def _fixers() -> dict[str, Fixer]:
    from b03lint.fixes.concurrent import FIXERS as CONCURRENT
    from b03lint.fixes.notvalid import FIXERS as NOT_VALID
    from b03lint.fixes.robust import FIXERS as ROBUST

    return {**CONCURRENT, **NOT_VALID, **ROBUST}


def compute(source: str, path: Path, findings: Sequence[Finding], *, config: Config,
            adr: str | None, project: Project | None, manual: bool = True) -> list[Fix]:
    canon = resolve_adr(adr, config) if adr is not None else None
    fixers = _fixers()
    # only findings some fixer may fix: the file is not even parsed for the others
    findings = [f for f in findings if manual or f.code in fixers
                or (canon is not None and f.data.get("waivable"))]
    if path.suffix != ".py" or not findings:
        return []
    try:
        parsed = Source(source)
    except cst.ParserSyntaxError:
        return []
    ctx = Context(parsed, path, config, findings, canon, project)
    out: list[Fix] = []
    from b03lint.fixes.comments import suppression, waiver

    for finding in findings:
        fixer = fixers.get(finding.code)
        for make in (fixer, waiver, suppression if manual else None):
            made = make(ctx, finding) if make is not None else None
            if made is not None and _valid_python(made, source):
                out.append(made)
    return out


def _valid_python(fix: Fix, source: str) -> bool:
    """A fix never leaves the file unparsable (a fixer's mistake is dropped, not written)."""
    import ast

    from b03lint.fixes.model import apply

    try:
        ast.parse(apply(source, fix.edits))
        for _, text in fix.follow_up_files:
            ast.parse(text)
    except (SyntaxError, ValueError):
        return False
    return True
