"""Baseline adoption: accept today's findings once, report only new ones from then on.

``b03lint baseline`` writes the fingerprints of the current blocking and warning findings
to a JSON file (``baseline`` in ``[tool.b03lint]``, else ``.b03lint-baseline.json`` in the
project root). Later ``check`` runs drop the findings whose fingerprint is in it and report
each entry that no longer occurs as an info finding of rule ``S004``
(``stale-baseline-entry``) at the entry's line in the baseline file.

A fingerprint is the rule code, the file's path relative to the project root, the schema
object and the text of the offending line with all whitespace removed, never its number:
it survives lines inserted above it, re-indentation, re-spacing and edits elsewhere in the
file. A file renamed, or
the offending line edited, makes the finding new. Each entry has a ``count``: two identical
findings need two matches. Info findings are an audit trail (waived destructive DDL, what
could not be resolved) and are never baselined.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from b03lint.findings import Finding
from b03lint.operations import Location

if TYPE_CHECKING:
    from b03lint.config import Config
    from b03lint.rules.registry import Registry

DEFAULT_FILE = ".b03lint-baseline.json"
VERSION = 1
#: severities a baseline records
RECORDED = ("blocking", "warning")
STALE = ("S004", "stale-baseline-entry")


class BaselineError(Exception):
    """The baseline file cannot be used (exit code 2)."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None):
        super().__init__(message)
        self.path = path
        self.line = line


class SourceLines:
    """Lines of source files, each file read once (fingerprints and code frames). Paths
    are as findings show them: relative to the working directory, or absolute."""

    def __init__(self) -> None:
        self._files: dict[str, list[str] | None] = {}

    def lines(self, path: str) -> list[str] | None:
        if path not in self._files:
            try:
                data = Path(path).read_bytes()
            except OSError:
                self._files[path] = None
            else:
                text = data.decode("utf-8", errors="replace")
                self._files[path] = [ln.rstrip("\r") for ln in text.split("\n")]
        return self._files[path]

    def line(self, path: str, line: int) -> str:
        """The text of ``line`` (1-based), or "" when unknown."""
        lines = self.lines(path)
        if lines is None or not 1 <= line <= len(lines):
            return ""
        return lines[line - 1]


def relative_path(shown: str, root: Path) -> str:
    """A finding's path relative to the project root (as the baseline stores it)."""
    p = Path(shown)
    if not p.is_absolute():
        p = Path.cwd() / p
    try:
        real = p.resolve(strict=True)
    except (OSError, RuntimeError):  # missing, dangling or a symlink loop: the link itself
        real = p.absolute().parent.resolve() / p.name
    try:
        return real.relative_to(root.resolve()).as_posix()
    except ValueError:
        return Path(shown).as_posix()


def anchor_text(line: str) -> str:
    """The offending line's text as a fingerprint sees it: without any whitespace, so
    that re-indenting or re-spacing (a formatter run) keeps the finding's identity."""
    return "".join(line.split())


def fingerprint(finding: Finding, root: Path, sources: SourceLines) -> str:
    """The finding's identity across line shifts and unrelated edits (see the module
    docstring)."""
    anchored = replace(finding, path=relative_path(finding.path, root))
    return anchored.fingerprint(anchor_text(sources.line(finding.path, finding.line)))


@dataclass
class Entry:
    fingerprint: str
    code: str
    path: str
    line: int
    message: str
    rule: str = ""
    count: int = 1
    #: the entry's line in the baseline file (where a stale entry is reported)
    file_line: int = 1

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "count": self.count, "fingerprint": self.fingerprint,
                "line": self.line, "message": self.message, "path": self.path,
                "rule": self.rule}


def entries_for(findings: Iterable[Finding], root: Path,
                sources: SourceLines | None = None) -> list[Entry]:
    """The baseline entries of ``findings`` (blocking and warning ones), sorted."""
    sources = sources or SourceLines()
    out: dict[str, Entry] = {}
    for f in findings:
        if f.severity not in RECORDED:
            continue
        fp = fingerprint(f, root, sources)
        if fp in out:
            out[fp].count += 1
        else:
            out[fp] = Entry(fp, f.code, relative_path(f.path, root), f.line, f.message, f.rule)
    return sorted(out.values(), key=lambda e: (e.path, e.line, e.code, e.fingerprint))


def dumps(entries: list[Entry]) -> str:
    """One entry a line, so that a stale entry can be reported at its line and diffs of
    the file stay readable."""
    body = ",\n".join("    " + json.dumps(e.to_json(), sort_keys=True, ensure_ascii=False)
                      for e in entries)
    return (f'{{\n  "version": {VERSION},\n  "tool": "b03lint",\n  "findings": [\n'
            + (body + "\n" if body else "") + "  ]\n}\n")


def write(path: Path, findings: Iterable[Finding], root: Path) -> list[Entry]:
    entries = entries_for(findings, root)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dumps(entries), encoding="utf-8")
    except OSError as exc:
        raise BaselineError(f"cannot write baseline: {exc.strerror or exc}", str(path)) from None
    return entries


def load(path: Path, shown: str | None = None) -> list[Entry]:
    shown = shown or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BaselineError("baseline file not found (write it with `b03lint baseline`)",
                            shown) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BaselineError(f"cannot read baseline: {exc}", shown) from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BaselineError(f"invalid JSON in baseline: {exc.msg}", shown, exc.lineno) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("findings"), list):
        raise BaselineError('baseline must be an object with a "findings" list', shown)
    if doc.get("version") != VERSION:
        raise BaselineError(f"unsupported baseline version {doc.get('version')!r} "
                            f"(expected {VERSION}); write it again with `b03lint baseline`",
                            shown)
    lines = text.split("\n")
    entries: list[Entry] = []
    for i, item in enumerate(doc["findings"]):
        try:
            fp = str(item["fingerprint"])
            entry = Entry(fp, str(item["code"]), str(item["path"]), int(item.get("line", 1)),
                          str(item.get("message", "")), str(item.get("rule", "")),
                          int(item.get("count", 1)))
        except (KeyError, TypeError, ValueError):
            raise BaselineError(f"baseline entry {i + 1} lacks fingerprint, code or path",
                                shown) from None
        entry.file_line = next((n for n, ln in enumerate(lines, 1) if fp in ln), 1)
        entries.append(entry)
    return entries


def resolve(config: Config, given: Path | Literal["auto"] | None) -> Path | None:
    """Which baseline file a run uses: ``given`` (a flag), else ``baseline`` of the
    configuration, else ``.b03lint-baseline.json`` in the root when it exists; None for
    none (``given=None``, as ``--no-baseline`` says)."""
    if given is None:
        return None
    if given != "auto":
        return given
    configured = config.path("baseline")
    if configured is not None:
        return configured
    default = config.root / DEFAULT_FILE
    return default if default.is_file() else None


@dataclass
class Applied:
    kept: list[Finding]
    #: stale entries, as ``S004`` findings
    added: list[Finding] = field(default_factory=list)
    #: findings the baseline accepted
    matched: int = 0


def apply_baseline(
    entries: list[Entry],
    findings: list[Finding],
    *,
    root: Path,
    shown: str,
    enabled: set[str],
    in_scope: Callable[[str], bool],
    registry: Registry | None = None,
) -> Applied:
    """Drop the findings the baseline accepts; report its entries that no longer occur.

    ``shown`` is the baseline file's path as findings show it. An entry is only judged
    stale when its rule is enabled and ``in_scope(entry path relative to root)`` (a run
    that reports on some files only cannot tell about the others)."""
    remaining = {e.fingerprint: e.count for e in entries}
    sources = SourceLines()
    kept: list[Finding] = []
    matched = 0
    for f in findings:
        if f.severity in RECORDED:
            fp = fingerprint(f, root, sources)
            if remaining.get(fp, 0) > 0:
                remaining[fp] -= 1
                matched += 1
                continue
        kept.append(f)
    known = registry.get(STALE[0]) if registry is not None else None
    added: list[Finding] = []
    for e in entries:
        left = remaining.get(e.fingerprint, 0)
        if left <= 0 or e.code not in enabled or not in_scope(e.path):
            continue
        remaining[e.fingerprint] = 0  # a duplicated entry is reported once
        times = f" ({left} of {e.count} occurrences)" if e.count > 1 else ""
        added.append(Finding.at(
            Location(shown, e.file_line, 0), code=STALE[0],
            rule=known.name if known is not None else STALE[1],
            severity=known.default_severity if known is not None else "info",
            message=f"baseline entry no longer occurs{times}: {e.code} at {e.path}:{e.line} "
                    f"({e.message})",
            fix="run `b03lint baseline` again to drop fixed entries", object=e.code,
            data={"baseline_entry": e.to_json()}))
    return Applied(kept, added, matched)

