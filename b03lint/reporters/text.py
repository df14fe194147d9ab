"""``path:line:col: CODE severity message``, one finding a line, then a summary."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from b03lint.engine import Result
    from b03lint.reporters import ReportOptions

_COLORS = {"blocking": "\033[31m", "warning": "\033[33m", "info": "\033[36m"}
_BOLD, _RESET = "\033[1m", "\033[0m"


def render(result: Result, options: ReportOptions) -> str:
    lines: list[str] = []
    for f in result.findings:
        sev: str = f.severity
        code = f.code
        where = f"{f.path}:{f.line}:{f.column}:"
        if options.color:
            where = f"{_BOLD}{where}{_RESET}"
            code = f"{_BOLD}{code}{_RESET}"
            sev = f"{_COLORS[sev]}{sev}{_RESET}"
        lines.append(f"{where} {code} {sev} {f.message}")
    for e in result.errors:
        lines.append(str(e))
    lines.append(summary(result))
    return "\n".join(lines) + "\n"


def summary(result: Result) -> str:
    if result.skipped:
        return result.skipped
    counts = result.counts()
    parts = [f"{counts['blocking']} blocking", f"{counts['warning']} warning",
             f"{counts['info']} info"]
    tail = f"; {len(result.errors)} error(s)" if result.errors else ""
    unresolved = (f", {result.unresolved} unresolved operation(s)" if result.unresolved else "")
    return (f"{result.verdict}: {', '.join(parts)} in {result.files} file(s) "
            f"({result.operations} operation(s) checked{unresolved}){tail}")
