"""``path:line:col: CODE severity message``, one finding a line, each followed (when
``options.frames``: on a terminal) by a short code frame (the source line with a caret
under the column, and the fix), then a summary. A finding at the call of a helper function
is followed by ``via path:line:col: in helper `f()``` for the line in the helper where the
operation is written (one line per helper on the way), on a terminal or not.

The first line of each finding keeps exactly that shape: tools and tests parse it. Colours
only when asked for (the command enables them on a terminal without ``NO_COLOR``). The
``concise`` format (:mod:`b03lint.reporters.concise`) is these lines without frames.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from b03lint.baseline import SourceLines
    from b03lint.engine import Result
    from b03lint.findings import Finding
    from b03lint.reporters import ReportOptions

_COLORS = {"blocking": "\033[31m", "warning": "\033[33m", "info": "\033[36m"}
_BOLD, _DIM, _RESET = "\033[1m", "\033[2m", "\033[0m"
#: longest source line shown in a frame
_MAX_WIDTH = 160


def render(result: Result, options: ReportOptions, *, frames: bool = True) -> str:
    from b03lint.baseline import SourceLines

    sources = SourceLines()
    lines: list[str] = []
    for f in result.findings:
        sev: str = f.severity
        code = f.code
        where = f"{f.path}:{f.line}:{f.column}:"
        if options.color:
            where = f"{_BOLD}{where}{_RESET}"
            code = f"{_BOLD}{code}{_RESET}"
            sev = f"{_COLORS[sev]}{sev}{_RESET}"
        lines.append(f"{where} {code} {sev} {f.shown_message}")
        if frames:
            lines += [f"  via {r.loc.path}:{r.loc.line}:{r.loc.column + 1}: {r.message}"
                      for r in f.related]
        if frames and options.frames:
            lines += frame(f, sources, options.color)
    for e in result.errors:
        lines.append(str(e))
    lines.append(summary(result))
    return "\n".join(lines) + "\n"


def frame(f: Finding, sources: SourceLines, color: bool = False) -> list[str]:
    """The offending source line with a caret under the finding's column, and the fix
    suggestion of a blocking or warning finding; no frame when the line cannot be read."""
    text = sources.line(f.path, f.line).expandtabs(4)
    out: list[str] = []
    if text.strip():
        start = max(f.column - 1, 0)
        if start > len(text):
            start = len(text.rstrip())
        shown, offset = text.rstrip(), 0
        if len(shown) > _MAX_WIDTH:  # keep the caret in view on very long lines
            offset = max(0, min(start - 20, len(shown) - _MAX_WIDTH))
            shown = shown[offset:offset + _MAX_WIDTH]
        gutter = str(f.line)
        pad = " " * len(gutter)
        caret = " " * (start - offset) + "^"
        if color:
            caret = f"{_COLORS[f.severity]}{caret}{_RESET}"
            out += [f"  {_DIM}{gutter} |{_RESET} {shown}", f"  {_DIM}{pad} |{_RESET} {caret}"]
        else:
            out += [f"  {gutter} | {shown}", f"  {pad} | {caret}"]
    if f.fix and f.severity != "info":
        first, *rest = f.fix.splitlines()
        out.append(f"  = fix: {first}")
        out += [f"         {line}".rstrip() for line in rest]  # code of a fix, aligned
    return out


def summary(result: Result) -> str:
    if result.skipped:
        return result.skipped
    counts = result.counts()
    parts = [f"{counts['blocking']} blocking", f"{counts['warning']} warning",
             f"{counts['info']} info"]
    tail = f"; {len(result.errors)} error(s)" if result.errors else ""
    if result.interrupted:
        tail += "; interrupted"
    schema_ops = result.unresolved - result.unresolved_data
    unresolved = (f", {schema_ops} unresolved schema operation(s)" if schema_ops else "")
    if result.unresolved_data:
        unresolved += f", {result.unresolved_data} unresolved data statement(s)"
    hidden = "".join(f", {n} {what}" for n, what in (
        (result.suppressed, "suppressed"), (result.baselined, "accepted by the baseline"))
        if n)
    # never "PASS" when something could not be read or checked (exit code 2 or 130)
    envs = (f" of {len(result.environments)} environments ({', '.join(result.environments)})"
            if result.environments else "")
    return (f"{result.verdict}: {', '.join(parts)} in {result.files} file(s){envs} "
            f"({result.operations} operation(s) checked{unresolved}{hidden}){tail}")
