"""The guide's destructive-DDL waiver: ``# CI:DESTRUCTIVE_OK - See ADR-<id>``.

A waiver sits on the operation's line or the line above it (inside SQL as
``-- CI:DESTRUCTIVE_OK - See ADR-<id>``). It waives only when it cites an ADR that has a
file in ``adr_dir``; otherwise it waives nothing and is itself reported. A waived finding
stays visible as ``info``: an audit trail of every destructive step and its ADR.

Which file names are ADRs is ``adr_pattern`` (:data:`ADR_PATTERNS`): the guide's
``ADR-<id>-*.md``, or the numbered ``NNNN-*.md`` files of adr-tools and MADR, or a regular
expression with an ``id`` group. Numeric ids are compared as numbers, so a waiver citing
``ADR-7``, ``ADR-007`` or (with the numbered patterns) ``0007`` finds ``0007-*.md``.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from b03lint.findings import Finding
from b03lint.operations import Location, MigrationFile

if TYPE_CHECKING:
    from dataclasses import dataclass as record
else:  # the same classes, made without dataclasses' start-up cost (b03lint.records)
    from b03lint.records import record

WAIVER_RE = re.compile(r"CI:DESTRUCTIVE_OK\b(?P<rest>.*)", re.IGNORECASE)
ADR_RE = re.compile(r"\bADR[-_ ]?(?P<id>[A-Za-z0-9]+)\b", re.IGNORECASE)
#: a bare number cited by a waiver (``See 0007``), for the numbered ADR conventions
NUMBER_RE = re.compile(r"\b(?P<id>[0-9]{1,6})\b")
#: operations a waiver may stand by besides the destructive ones
WAIVABLE_KINDS = frozenset({"drop_index", "drop_constraint"})
ADR_FILE_RE = re.compile(r"^ADR[-_ ]?(?P<id>[A-Za-z0-9]+)(?:[-_ .].*)?$", re.IGNORECASE)
_NUMBERED_FILE_RE = re.compile(r"^(?P<id>[0-9]{1,6})-.+\.(md|markdown|rst|txt|adoc)$",
                               re.IGNORECASE)


@record(frozen=True)
class AdrPattern:
    """How ADR files are named (``file``) and shown in messages (``shown``); ``numbered``
    lets a waiver cite the bare number (``See 0007``)."""

    name: str
    file: re.Pattern[str]
    shown: str
    numbered: bool


#: ``adr_pattern`` names -> how ADR files are named
ADR_PATTERNS: dict[str, AdrPattern] = {
    "guide": AdrPattern("guide", ADR_FILE_RE, "ADR-<id>-*.md", False),
    "adr-tools": AdrPattern("adr-tools", _NUMBERED_FILE_RE, "NNNN-*.md", True),
    "madr": AdrPattern("madr", _NUMBERED_FILE_RE, "NNNN-*.md", True),
}


def adr_pattern(value: str | None) -> AdrPattern:
    """The pattern ``adr_pattern`` names, or a regular expression with an ``id`` group;
    raises ValueError with a message for the configuration."""
    value = value or "guide"
    if value in ADR_PATTERNS:
        return ADR_PATTERNS[value]
    try:
        compiled = re.compile(value)
    except re.error as exc:
        raise ValueError(f"adr_pattern {value!r} is neither one of "
                         f"{', '.join(ADR_PATTERNS)} nor a regular expression ({exc})") from None
    if "id" not in compiled.groupindex:
        raise ValueError(f"adr_pattern {value!r} needs an `(?P<id>...)` group (or one of "
                         f"{', '.join(ADR_PATTERNS)})")
    return AdrPattern(value, compiled, f"/{value}/", False)


@record(frozen=True)
class Waiver:
    path: str
    line: int
    text: str
    adr: str | None  # "ADR-003", or None when the waiver cites none


def _canon_adr(ident: str) -> str:
    ident = ident.upper()
    return f"ADR-{int(ident):03d}" if ident.isdigit() else f"ADR-{ident}"


def adr_index(adr_dir: Path | None, pattern: AdrPattern | None = None) -> dict[str, Path]:
    """ADR id (``ADR-003``) -> its file, from the file names in ``adr_dir`` that match
    ``pattern`` (the guide's by default)."""
    regex = (pattern or ADR_PATTERNS["guide"]).file
    found: dict[str, Path] = {}
    if adr_dir is None or not adr_dir.is_dir():
        return found
    for entry in sorted(adr_dir.iterdir()):
        m = regex.match(entry.name)
        if m and m.group("id") and entry.is_file():
            found.setdefault(_canon_adr(m.group("id")), entry)
    return found


def cited_adr(rest: str, pattern: AdrPattern | None = None) -> str | None:
    """The ADR a waiver's text after ``CI:DESTRUCTIVE_OK`` cites (``ADR-003``), or None."""
    adr = ADR_RE.search(rest)
    if adr:
        return _canon_adr(adr.group("id"))
    if pattern is not None and pattern.numbered:
        number = NUMBER_RE.search(rest)
        if number:
            return _canon_adr(number.group("id"))
    return None


def waivers_in(mf: MigrationFile, pattern: AdrPattern | None = None) -> dict[int, Waiver]:
    out: dict[int, Waiver] = {}
    for line, text in mf.comments.items():
        m = WAIVER_RE.search(text)
        if not m:
            continue
        out[line] = Waiver(mf.path, line, text.strip(), cited_adr(m.group("rest"), pattern))
    return out


def _waiver_for(finding: Finding, waivers: dict[int, Waiver]) -> Waiver | None:
    last = finding.end_line or finding.line
    for line in (finding.line, finding.line - 1, *range(finding.line + 1, last + 1)):
        if line in waivers:
            return waivers[line]
    return None


def apply_waivers(
    mf: MigrationFile, findings: list[Finding], adrs: dict[str, Path], adr_dir: str,
    pattern: AdrPattern | None = None,
) -> list[Finding]:
    """Waive the waivable findings of one file; add findings for bad and unused waivers."""
    pattern = pattern or ADR_PATTERNS["guide"]
    waivers = waivers_in(mf, pattern)
    if not waivers:
        return findings
    # A waiver is used when it stands by a destructive upgrade step (whichever rules are
    # selected). The guide's shell check waived downgrade() lines too; b03lint checks
    # upgrade() only, so a waiver by a downgrade step is out of scope, not unused.
    used: set[int] = set()
    for op in mf.operations:
        if op.phase == "downgrade" or op.destructive or op.kind in WAIVABLE_KINDS:
            last = op.loc.end_line or op.loc.line
            used.update(range(op.loc.line - 1, last + 1))
    out: list[Finding] = []
    for f in findings:
        waiver = _waiver_for(f, waivers) if f.data.get("waivable") else None
        if waiver is None:
            out.append(f)
            continue
        if waiver.adr is not None and waiver.adr in adrs:
            used.add(waiver.line)  # it waived a finding: not unused, whatever the step
            out.append(replace(f, severity="info",
                               message=f"{f.message} (waived: {waiver.adr})",
                               data={**f.data, "waived_by": waiver.adr}))
        else:
            out.append(f)
    for line, waiver in sorted(waivers.items()):
        loc = Location(mf.path, line, 0)
        if waiver.adr is None:
            out.append(Finding.at(
                loc, code="D020", rule="waiver-without-adr", severity="blocking",
                message="destructive-DDL waiver cites no ADR, so it waives nothing",
                fix="write it as '# CI:DESTRUCTIVE_OK - See ADR-<id>'",
            ))
        elif waiver.adr not in adrs:
            out.append(Finding.at(
                loc, code="D021", rule="waiver-unknown-adr", severity="blocking",
                message=f"destructive-DDL waiver cites {waiver.adr}, which has no file "
                        f"named {pattern.shown} in {adr_dir} (adr_pattern = "
                        f"{pattern.name!r}), so it waives nothing",
                fix=f"add the ADR to {adr_dir} as {_example_name(waiver.adr, pattern)}, "
                    "cite an existing one, or set adr_pattern to how your ADRs are named",
                object=waiver.adr,
            ))
        elif line not in used:
            out.append(Finding.at(
                loc, code="D022", rule="unused-waiver", severity="warning",
                message=f"destructive-DDL waiver ({waiver.adr}) waives no destructive "
                        "operation on this line or the next",
                fix="move it onto (or just above) the destructive operation, or remove it",
                object=waiver.adr,
            ))
    return out


def _example_name(adr: str, pattern: AdrPattern) -> str:
    """A file name the pattern accepts for ``adr`` (``ADR-007-title.md``, ``0007-title.md``)."""
    ident = adr.removeprefix("ADR-")
    if pattern.numbered and ident.isdigit():
        return f"{int(ident):04d}-<title>.md"
    if pattern.name == "guide":
        return f"{adr}-<title>.md"
    return f"a file matching {pattern.shown}"
