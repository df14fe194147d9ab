"""The one finding type every rule yields and every reporter renders."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import field, replace
from typing import TYPE_CHECKING, Any

from b03lint.operations import Location, Operation, Related, Severity

if TYPE_CHECKING:
    from dataclasses import dataclass as record
else:  # the same classes, made without dataclasses' start-up cost (b03lint.records)
    from b03lint.records import record

SEVERITY_ORDER: dict[str, int] = {"blocking": 0, "warning": 1, "info": 2}


@record(frozen=True, slots=True)
class Finding:
    code: str
    rule: str
    severity: Severity
    message: str
    path: str
    line: int
    #: 1-based, as editors and SARIF count (``Location.column`` is 0-based)
    column: int = 1
    end_line: int | None = None
    end_column: int | None = None
    #: the schema object it concerns (``dead_events.remediation_status``), or None
    object: str | None = None
    #: a short suggestion of how to fix it
    fix: str | None = None
    #: extra machine-readable facts (waiver ADR, drift id, revision, ...)
    data: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    #: the Alembic environment (chain) it belongs to, when the project has several
    environment: str | None = None
    #: other places that explain it (the helper function an operation was written in,
    #: when the finding sits at the helper's call); JSON ``related``, SARIF
    #: ``relatedLocations``, text ``via``
    related: tuple[Related, ...] = field(default=(), compare=False)

    @classmethod
    def at(
        cls,
        loc: Location,
        *,
        code: str,
        rule: str,
        severity: Severity,
        message: str,
        object: str | None = None,
        fix: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> Finding:
        return cls(
            code=code, rule=rule, severity=severity, message=message, path=loc.path,
            line=loc.line, column=loc.column + 1, end_line=loc.end_line,
            end_column=None if loc.end_column is None else loc.end_column + 1,
            object=object, fix=fix, data=dict(data or {}),
        )

    @property
    def shown_message(self) -> str:
        """The message as reporters print it: prefixed with ``[environment]`` when the
        project has several chains."""
        return f"[{self.environment}] {self.message}" if self.environment else self.message

    @property
    def blocking(self) -> bool:
        return self.severity == "blocking"

    def with_severity(self, severity: Severity, **data: Any) -> Finding:
        return replace(self, severity=severity, data={**self.data, **data})

    def sort_key(self) -> tuple[str, int, int, int, str, str]:
        return (self.path, self.line, self.column, SEVERITY_ORDER[self.severity], self.code,
                self.message)

    def fingerprint(self, line_text: str = "") -> str:
        """A stable identity that survives line shifts: code, path, object and the text of
        the offending line (whitespace-folded), not its number."""
        anchor = " ".join(line_text.split()) or self.message
        basis = "\0".join((self.code, self.path, self.object or "", anchor))
        return hashlib.sha256(basis.encode()).hexdigest()[:16]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
            "code": self.code,
            "rule": self.rule,
            "severity": self.severity,
            "message": self.message,
            "object": self.object,
        }
        if self.fix:
            out["fix"] = self.fix
        if self.environment:
            out["environment"] = self.environment
        if self.data:
            out["data"] = self.data
        if self.related:
            out["related"] = [
                {"path": r.loc.path, "line": r.loc.line, "column": r.loc.column + 1,
                 "end_line": r.loc.end_line,
                 "end_column": None if r.loc.end_column is None else r.loc.end_column + 1,
                 "message": r.message}
                for r in self.related
            ]
        return out


@record(frozen=True, slots=True)
class ToolError:
    """The tool could not do part of its job (exit code 2): a file it could not read, a
    configuration it could not use. Other files are still linted."""

    message: str
    path: str | None = None
    line: int | None = None
    column: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "line": self.line, "column": self.column,
                "message": self.message}

    def __str__(self) -> str:
        where = ""
        if self.path:
            where = self.path
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
            where += ": "
        return f"{where}error: {self.message}"


def _at(f: Finding, loc: Location) -> bool:
    return f.path == loc.path and f.line == loc.line and f.column == loc.column + 1


def via_operation(findings: list[Finding], op: Operation) -> list[Finding]:
    """The findings a rule gave for ``op``, with ``op``'s helper trail as their related
    locations when they sit where ``op`` does (a finding of its own elsewhere is left)."""
    if not op.related:
        return findings
    return [replace(f, related=op.related) if not f.related and _at(f, op.loc) else f
            for f in findings]


def via_operations(findings: list[Finding], operations: Iterable[Operation]) -> list[Finding]:
    """Related locations for findings that file and project rules place at an
    operation's location, when the operations there came through one helper trail."""
    trails: dict[tuple[str, int, int], set[tuple[Related, ...]]] = {}
    for op in operations:
        if op.related:
            trails.setdefault((op.loc.path, op.loc.line, op.loc.column + 1), set()).add(
                op.related)
    if not trails:
        return findings
    out = []
    for f in findings:
        found = trails.get((f.path, f.line, f.column)) if not f.related else None
        if found is not None and len(found) == 1:
            f = replace(f, related=next(iter(found)))
        out.append(f)
    return out


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """Deterministic order: path, line, column, severity, code, message; duplicates removed."""
    seen: set[tuple[str, int, int, str, str]] = set()
    out: list[Finding] = []
    for f in sorted(findings, key=Finding.sort_key):
        key = (f.path, f.line, f.column, f.code, f.message)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out
