"""Fix a whole run, as ``b03lint check --fix`` does: lint, apply the fixes that do not
touch the same lines, lint again, until nothing more is fixed (as ruff does).

Nothing here prints; :func:`fix_run` hands back what it changed and the last run's
result, and the command line reports it. With ``write=False`` (``--diff``) the fixed
texts stand in for the files while the chain is linted again (:mod:`b03lint.overlay`):
nothing is written, and the diff shows what ``--fix`` would do, rounds included.
"""

from __future__ import annotations

import ast
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from b03lint import overlay
from b03lint.fixes import Fix, TextEdit, apply, fixes_for

if TYPE_CHECKING:
    from b03lint.config import Config
    from b03lint.engine import Result
    from b03lint.findings import Finding
    from b03lint.project import Project

#: a fix of one round can make another possible (a statement moved into an autocommit
#: block can then be made robust); rounds stop when one fixes nothing
MAX_ROUNDS = 20


@dataclass
class Outcome:
    #: the run after the fixes (what remains)
    result: Result
    #: rule code -> fixes applied
    fixed: Counter[str] = field(default_factory=Counter)
    #: path -> (text before, or None for a new file; text after)
    changed: dict[Path, tuple[str | None, str]] = field(default_factory=dict)
    #: fixes of the remaining findings that need --unsafe-fixes
    unsafe_left: int = 0
    #: files that could not be read or written, with why
    problems: list[str] = field(default_factory=list)
    rounds: int = 0

    @property
    def count(self) -> int:
        return sum(self.fixed.values())


def _real(shown: str, root: Path) -> Path:
    p = Path(shown)
    return p if p.is_absolute() else Path(os.path.abspath(p))


def _lines(edit: TextEdit) -> range:
    return range(edit.start_line, edit.end_line + 1)


class _Round:
    """The fixes chosen in one round: none of them touches lines another touches."""

    def __init__(self, texts: dict[Path, str]):
        self.texts = texts
        self.taken: dict[Path, list[range]] = {}
        self.new: set[Path] = set()
        self.chosen: list[Fix] = []

    def _free(self, path: Path, edits: tuple[TextEdit, ...]) -> bool:
        spans = self.taken.get(path, [])
        return all(not (set(_lines(e)) & set(s)) for e in edits for s in spans)

    def offer(self, fix: Fix) -> bool:
        if not self._free(fix.path, fix.edits):
            return False
        if any(p in self.new or p in self.texts or p.exists() for p, _ in fix.follow_up_files):
            return False
        if any(p in self.new or not self._free(p, edits) for p, edits in fix.other_edits):
            return False
        self.taken.setdefault(fix.path, []).extend(_lines(e) for e in fix.edits)
        for p, edits in fix.other_edits:
            self.taken.setdefault(p, []).extend(_lines(e) for e in edits)
        self.new.update(p for p, _ in fix.follow_up_files)
        self.chosen.append(fix)
        return True


def fix_run(config: Config, lint: Callable[[], Result], *, unsafe: bool, write: bool,
            adr: str | None = None, max_rounds: int = MAX_ROUNDS) -> Outcome:
    """Lint with ``lint`` and fix, round after round. ``unsafe``: apply unsafe fixes too;
    ``write``: write the files (else they only stand in for the files while linting);
    ``adr``: the ADR the waiver fix cites (checked first: :class:`FixError`)."""
    if adr is not None:
        from b03lint.fixes import resolve_adr

        adr = resolve_adr(adr, config)
    original: dict[Path, str | None] = {}
    texts: dict[Path, str] = {}
    outcome: Outcome | None = None
    fixed: Counter[str] = Counter()
    problems: list[str] = []
    rounds = 0
    while True:
        with overlay.texts(texts):
            result = lint()
            # a fix reads the chain too (the follow-up migration's place): as linted
            available = _available(config, result, texts, adr, problems)
        applicable = [f for f in available if not f.manual and (f.safe or unsafe)]
        if not applicable or rounds >= max_rounds:
            outcome = Outcome(result, fixed, {}, problems=problems, rounds=rounds)
            outcome.unsafe_left = sum(1 for f in available if not f.manual and not f.safe
                                      and not unsafe)
            break
        rounds += 1
        chosen = _Round(texts)
        for fix in applicable:
            chosen.offer(fix)
        for fix in _together(chosen.chosen, texts, original):
            fixed[fix.code] += 1
    for path, before in original.items():
        after = texts[path]
        if before != after:
            outcome.changed[path] = (before, after)
    if write:
        for path, (_before, after) in sorted(outcome.changed.items()):
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                with open(path, "w", encoding="utf-8", newline="") as fh:
                    fh.write(after)
            except OSError as exc:
                problems.append(f"{path}: error: cannot write: {exc.strerror or exc}")
    return outcome


def _read(path: Path, texts: dict[Path, str]) -> str | None:
    if path in texts:
        return texts[path]
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            return fh.read()
    except (OSError, UnicodeDecodeError):
        return None


def _available(config: Config, result: Result, texts: dict[Path, str], adr: str | None,
               problems: list[str]) -> list[Fix]:
    by_path: dict[Path, list[Finding]] = {}
    for f in result.findings:
        if f.path.endswith(".py"):
            by_path.setdefault(_real(f.path, config.root), []).append(f)
    from b03lint.engine import load_project
    from b03lint.fixes.context import chain_of

    out: list[Fix] = []
    #: each chain read once a round (a fix that needs it, L003's, asks for it)
    projects: dict[tuple[str, ...], Project] = {}
    for path, findings in sorted(by_path.items()):
        text = _read(path, texts)
        if text is None:
            continue
        project: Project | None = None
        if any(f.code == "L003" for f in findings):
            chain = chain_of(config, path)
            key = tuple(str(f) for f in chain.migration_folders())
            if key not in projects:
                projects[key] = load_project(chain)
            project = projects[key]
        out += fixes_for(text, path, findings, config=config, adr=adr, manual=False,
                         project=project)
    return out


def _together(fixes: list[Fix], texts: dict[Path, str],
              original: dict[Path, str | None]) -> list[Fix]:
    """Make ``fixes`` (computed against the same texts, on lines apart) in ``texts``, each
    file's edits at once; a fix whose file would not parse with it (or cannot be read) is
    left for the next round. The fixes made are returned."""
    base: dict[Path, str | None] = {}
    edits: dict[Path, list[TextEdit]] = {}
    made: list[Fix] = []
    if _all_at_once(fixes, texts, original):
        return fixes
    for fix in fixes:
        mine = [(fix.path, fix.edits), *fix.other_edits]
        trial: dict[Path, str] = {}
        for path, more in mine:
            if path not in base:
                base[path] = _read(path, texts)
            before = base[path]
            if before is None:
                break
            try:
                after = apply(before, [*edits.get(path, []), *more])
                ast.parse(after)
            except (ValueError, SyntaxError):
                break
            trial[path] = after
        else:
            for path, more in mine:
                edits.setdefault(path, []).extend(more)
            for path, after in [*trial.items(), *fix.follow_up_files]:
                if path not in original:
                    original[path] = _read(path, texts) if (path.exists() or path in texts) \
                        else None
                texts[path] = after
            made.append(fix)
    return made


def _all_at_once(fixes: list[Fix], texts: dict[Path, str],
                 original: dict[Path, str | None]) -> bool:
    """Make all ``fixes`` in one go when every file they edit parses afterwards (the
    usual case, and linear in their number); False, with nothing changed, otherwise."""
    edits: dict[Path, list[TextEdit]] = {}
    for fix in fixes:
        for path, more in ((fix.path, fix.edits), *fix.other_edits):
            edits.setdefault(path, []).extend(more)
    after: dict[Path, str] = {}
    for path, mine in edits.items():
        before = _read(path, texts)
        if before is None:
            return False
        try:
            after[path] = apply(before, mine)
            ast.parse(after[path])
        except (ValueError, SyntaxError):
            return False
    for fix in fixes:
        after.update(fix.follow_up_files)
    for path, text in after.items():
        if path not in original:
            original[path] = _read(path, texts) if (path.exists() or path in texts) else None
        texts[path] = text
    return True


def unified_diff(changed: dict[Path, tuple[str | None, str]], shown: Callable[[Path], str]
                 ) -> str:
    """The changes as one unified diff (``a/`` and ``b/`` paths as git writes them)."""
    import difflib

    out: list[str] = []
    for path, (before, after) in sorted(changed.items()):
        name = shown(path)
        old = (before or "").splitlines(keepends=True)
        new = after.splitlines(keepends=True)
        lines = list(difflib.unified_diff(old, new, "/dev/null" if before is None
                                          else f"a/{name}", f"b/{name}"))
        for line in lines:
            out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)
