"""A Markdown summary a bot can post on a pull request: the verdict, the counts, a table
of the blocking and warning findings, the info findings collapsed in a ``<details>``
section, and tool errors. Table cells are escaped (``|``, newlines, HTML)."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from b03lint.engine import Result
    from b03lint.findings import Finding
    from b03lint.reporters import ReportOptions

ICONS = {"blocking": "\u274c", "warning": "\u26a0\ufe0f", "info": "\u2139\ufe0f"}
#: a comment is limited in size; longer tables are cut with a note
MAX_ROWS = 200


def cell(text: str) -> str:
    return html.escape(" ".join(text.split()), quote=False).replace("|", "\\|")


def _table(findings: list[Finding]) -> list[str]:
    rows = ["| | Location | Rule | Message |", "|---|---|---|---|"]
    for f in findings[:MAX_ROWS]:
        fix = f"<br>*Fix:* {cell(f.fix)}" if f.fix else ""
        rows.append(f"| {ICONS[f.severity]} | `{cell(f.path)}:{f.line}` | "
                    f"`{f.code}` {cell(f.rule)} | {cell(f.shown_message)}{fix} |")
    if len(findings) > MAX_ROWS:
        rows.append(f"\n*{len(findings) - MAX_ROWS} more not shown; run `b03lint check` "
                    "for all of them.*")
    return rows


def render(result: Result, options: ReportOptions) -> str:
    if result.skipped:
        return f"## b03lint: \u23ed\ufe0f skipped\n\n{result.skipped}\n"
    counts = result.counts()
    if result.verdict == "ERROR":
        verdict = "\U0001f6a8 ERROR (the check could not complete)"
    elif result.verdict == "BLOCKING":
        verdict = "\u274c BLOCKING"
    else:
        verdict = "\u2705 PASS"
    out = [f"## b03lint: {verdict}", ""]
    hidden = "".join(f", {n} {what}" for n, what in (
        (result.suppressed, "suppressed"), (result.baselined, "accepted by the baseline"))
        if n)
    out.append(f"**{counts['blocking']} blocking**, {counts['warning']} warning, "
               f"{counts['info']} info in {result.files} file(s) "
               f"({result.operations} operation(s) checked{hidden}).")
    main = [f for f in result.findings if f.severity != "info"]
    info = [f for f in result.findings if f.severity == "info"]
    if main:
        out += ["", *_table(main)]
    if info:
        out += ["", f"<details><summary>{len(info)} info finding(s)</summary>", "",
                *_table(info), "", "</details>"]
    if result.errors:
        out += ["", "### Errors", ""]
        out += [f"- {cell(str(e))}" for e in result.errors]
    return "\n".join(out) + "\n"
