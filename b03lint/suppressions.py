"""Suppressions with reasons: ``# b03lint: ignore[CODE, name] -- reason``.

A suppression sits on the finding's line or on the line above it; inside SQL strings it is
an SQL comment, ``-- b03lint: ignore[CODE] -- reason``. It names rules by code or by name
(comma-separated) and says why after two dashes. The engine applies suppressions once, to
the final findings (after selection, per-file ignores and severity overrides).

What is not accepted, and is itself reported (rules ``S001``-``S005``, see
:mod:`b03lint.rules.suppression`), suppresses nothing:

- no reason (``S001``), unless ``S001`` is disabled; a reason that does not match the
  ``reason-pattern`` option of ``S001``;
- a code or name that names no rule (``S002``);
- a blanket ``# b03lint: ignore`` without codes, and codes of destructive-DDL rules or of
  the suppression rules themselves (``S005``): the guide's
  ``# CI:DESTRUCTIVE_OK - See ADR-<id>`` stays the only waiver of destructive DDL.

A code that suppresses nothing is reported as unused (``S003``), when its rule is enabled
in the run and the file is one the run reports on.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import field
from typing import TYPE_CHECKING, Any

from b03lint.findings import Finding
from b03lint.operations import Location, MigrationFile

if TYPE_CHECKING:
    from dataclasses import dataclass as record
else:  # the same classes, made without dataclasses' start-up cost (b03lint.records)
    from b03lint.records import record

if TYPE_CHECKING:
    from b03lint.rules.registry import Registry

DIRECTIVE_RE = re.compile(r"(?:^|(?<=[\s#-]))b03lint\s*:\s*ignore\b(?P<rest>.*)$",
                          re.IGNORECASE)
_CODES_RE = re.compile(r"^\s*\[(?P<codes>[^\]]*)\]")
#: categories whose findings a suppression may not silence
NOT_SUPPRESSIBLE = frozenset({"destructive", "suppression"})
#: what the suppression fix writes for the reason: the user replaces it; until then the
#: suppression has no reason (S001) and suppresses nothing
REASON_PLACEHOLDER = "<reason>"

WITHOUT_REASON = ("S001", "suppression-without-reason")
UNKNOWN_RULE = ("S002", "unknown-rule-in-suppression")
UNUSED = ("S003", "unused-suppression")
NOT_ALLOWED = ("S005", "suppression-not-allowed")


@record(frozen=True)
class Suppression:
    """One ``b03lint: ignore`` comment."""

    path: str
    line: int
    text: str
    #: the codes/names as written (empty for a blanket ignore)
    idents: tuple[str, ...]
    reason: str
    blanket: bool


def parse(comment: str) -> tuple[tuple[str, ...], str, bool] | None:
    """``(idents, reason, blanket)`` of a comment holding a suppression, else None."""
    m = DIRECTIVE_RE.search(comment)
    if m is None:
        return None
    rest = m.group("rest")
    codes = _CODES_RE.match(rest)
    idents: tuple[str, ...] = ()
    if codes is not None:
        idents = tuple(c.strip() for c in codes.group("codes").split(",") if c.strip())
        rest = rest[codes.end():]
    reason = rest.strip().lstrip("-\u2014:").strip()
    return idents, reason, not idents


def suppressions_in(mf: MigrationFile) -> dict[int, Suppression]:
    """Every suppression of one file, by line (Python and SQL comments alike)."""
    out: dict[int, Suppression] = {}
    for line, text in mf.comments.items():
        parsed = parse(text)
        if parsed is not None:
            idents, reason, blanket = parsed
            out[line] = Suppression(mf.path, line, text.strip(), idents, reason, blanket)
    return out


@record
class Outcome:
    #: the findings that stay
    kept: list[Finding]
    #: findings about the suppressions themselves (to be configured like any other)
    added: list[Finding] = field(default_factory=list)
    #: how many findings were suppressed
    suppressed: int = 0


def _finding(registry: Registry, rule: tuple[str, str], s: Suppression, message: str,
             fix: str, obj: str | None = None) -> Finding:
    known = registry.get(rule[0])
    severity = known.default_severity if known is not None else "warning"
    return Finding.at(Location(s.path, s.line, 0), code=rule[0],
                      rule=known.name if known is not None else rule[1], severity=severity,
                      message=message, fix=fix, object=obj, data={"suppression": s.text})


def apply_suppressions(
    files: Iterable[MigrationFile],
    findings: list[Finding],
    registry: Registry,
    enabled: set[str],
    reports_on: Callable[[str], bool],
    options: Mapping[str, Any] | None = None,
) -> Outcome:
    """Drop the findings that valid suppressions cover; report the invalid and unused ones.

    ``enabled`` are the rule codes of the run; ``reports_on(path)`` tells whether the run
    reports file-level findings for a file (problems of other files' suppressions are not
    reported); ``options`` are ``S001``'s (``reason_pattern``)."""
    by_path = {mf.path: found for mf in files if (found := suppressions_in(mf))}
    if not by_path:
        return Outcome(list(findings))
    require_reason = WITHOUT_REASON[0] in enabled
    pattern_text = str((options or {}).get("reason_pattern") or "")
    pattern = re.compile(pattern_text) if pattern_text else None

    added: list[Finding] = []
    #: (path, line) -> code -> the ident as written, for the suppressions that apply
    active: dict[tuple[str, int], dict[str, str]] = {}
    for path, found in by_path.items():
        report = reports_on(path)
        for line, s in sorted(found.items()):
            problems: list[Finding] = []
            if s.blanket:
                problems.append(_finding(
                    registry, NOT_ALLOWED, s,
                    "blanket suppression without rule codes is not accepted; it suppresses "
                    "nothing",
                    "name the rules: '# b03lint: ignore[CODE] -- reason'"))
            codes: dict[str, str] = {}
            for ident in s.idents:
                rule = registry.get(ident)
                if rule is None:
                    problems.append(_finding(
                        registry, UNKNOWN_RULE, s,
                        f"suppression names {ident!r}, which is no rule",
                        "use a code or name listed by `b03lint rules`", ident))
                elif rule.category in NOT_SUPPRESSIBLE:
                    how = ("destructive DDL is waived only by '# CI:DESTRUCTIVE_OK - See "
                           "ADR-<id>'" if rule.category == "destructive" else
                           "suppression rules are configured, not suppressed")
                    problems.append(_finding(
                        registry, NOT_ALLOWED, s,
                        f"{rule.code} ({rule.name}) cannot be suppressed: {how}",
                        "use the guide's waiver citing an ADR" if rule.category ==
                        "destructive" else f"ignore {rule.code} in [tool.b03lint]",
                        rule.code))
                else:
                    codes[rule.code] = ident
            if codes and not s.blanket:
                if require_reason and not s.reason:
                    problems.append(_finding(
                        registry, WITHOUT_REASON, s,
                        "suppression gives no reason, so it suppresses nothing",
                        "say why after two dashes: '# b03lint: ignore[CODE] -- reason'"))
                elif REASON_PLACEHOLDER in s.reason:
                    problems.append(_finding(
                        registry, WITHOUT_REASON, s,
                        f"suppression's reason is still the placeholder {REASON_PLACEHOLDER}, "
                        "so it suppresses nothing",
                        f"replace {REASON_PLACEHOLDER} with why the finding does not apply"))
                elif require_reason and pattern is not None and not pattern.search(s.reason):
                    problems.append(_finding(
                        registry, WITHOUT_REASON, s,
                        f"suppression reason does not match the required pattern "
                        f"{pattern_text!r}, so it suppresses nothing",
                        "write a reason that matches reason-pattern (option of S001)"))
                else:
                    active[(path, line)] = codes
            if report:
                added += problems

    kept: list[Finding] = []
    used: dict[tuple[str, int], set[str]] = {}
    suppressed = 0
    for f in findings:
        hit = False
        for line in (f.line, f.line - 1):
            if f.code in active.get((f.path, line), {}):
                used.setdefault((f.path, line), set()).add(f.code)
                hit = True
        if hit:
            suppressed += 1
        else:
            kept.append(f)

    for (path, line), names in sorted(active.items()):
        if not reports_on(path):
            continue
        s = by_path[path][line]
        for code, ident in names.items():
            if code in enabled and code not in used.get((path, line), set()):
                added.append(_finding(
                    registry, UNUSED, s,
                    f"suppression of {ident} suppresses nothing on this line or the next",
                    "remove it (or the unused code)", code))
    return Outcome(kept, added, suppressed)
