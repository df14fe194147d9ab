"""Fixes: one engine for ``b03lint check --fix`` and the editor's code actions.

A :class:`Fix` is a set of :class:`TextEdit`\\ s to one migration file (plus new files to
create, and, rarely, edits to other files), computed with ``libcst`` so that everything
the fix does not touch keeps its formatting and comments byte for byte. The command line
applies the safe fixes (``--fix``), the unsafe ones too (``--unsafe-fixes``), or prints
them as a diff (``--diff``); the language server offers the same fixes as code actions.

This module imports nothing heavy: ``libcst`` (110 ms) and the fixers are imported by
:func:`fixes_for` when it is called, so ``b03lint check`` without ``--fix`` never loads
them.

For an editor (code actions): call :func:`fixes_for` with the buffer's text and the
findings of that file (pass ``project=`` when the chain is loaded already). Each
:class:`Fix` becomes one workspace edit: its ``edits`` on ``path`` (:func:`lsp_text_edit`),
a ``CreateFile`` plus the text for each of ``follow_up_files``, and the edits of
``other_edits`` on their files; ``fix.finding`` is the diagnostic it resolves. A fix with a
``placeholder`` (the suppression, ``<reason>``) is the user's to finish; the waiver needs
an ADR: offer one action per :func:`known_adrs` (``adr=`` each).

Positions (:class:`TextEdit`): ``line`` is 1-based, ``col`` is 0-based and counts Unicode
code points of the line (a Python ``str`` index), lines being separated by ``"\\n"``; the
end is exclusive. The language server protocol counts lines from 0 and columns in UTF-16
code units by default: :func:`lsp_text_edit` converts.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from b03lint.fixes.model import (
    REASON_PLACEHOLDER,
    Fix,
    FixError,
    TextEdit,
    apply,
    edit_between,
    known_adrs,
    lsp_text_edit,
    offset_of,
    position_of,
    resolve_adr,
)

if TYPE_CHECKING:
    from b03lint.config import Config
    from b03lint.findings import Finding
    from b03lint.project import Project

__all__ = ["REASON_PLACEHOLDER", "Fix", "FixError", "TextEdit", "apply", "edit_between",
           "fixes_for", "known_adrs", "lsp_text_edit", "offset_of", "position_of",
           "resolve_adr"]


def fixes_for(source: str, path: Path, findings: Sequence[Finding], *, config: Config,
              adr: str | None = None, project: Project | None = None,
              manual: bool = True) -> list[Fix]:
    """The fixes for ``findings`` (those of the migration file ``path``, whose current
    text is ``source``), safe and unsafe, each computed against ``source`` alone.

    ``adr`` is the ADR the destructive-DDL waiver fix cites (``ADR-003``, ``003``); no
    waiver fix is made without it, and one that has no file in ``adr_dir`` raises
    :class:`FixError`. ``project``: the loaded chain, when the caller has it (the server);
    otherwise it is read when a fix needs it (the follow-up migration's place in the
    chain). ``manual=False`` leaves out the fixes the user must finish (the suppression
    with its reason to write), which the command line never applies. A file that does not
    parse gets no fixes."""
    from b03lint.fixes.engine import compute

    return compute(source, path, findings, config=config, adr=adr, project=project,
                   manual=manual)
