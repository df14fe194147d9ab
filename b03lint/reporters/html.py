"""One self-contained HTML page of a run: the verdict, the findings grouped by schema
object and by migration, the drift register as the guide's table, and the revision graph
as inline SVG. Inline CSS only: no script, no external resource, so it opens offline and
can be attached to a pull request or a ticket as it is. Every piece of text is escaped."""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from b03lint.engine import Result
    from b03lint.findings import Finding, ToolError
    from b03lint.pictures import GraphView
    from b03lint.reporters import ReportOptions
    from b03lint.schema.drift import Register

CSS = """
:root{--ok:#1a7f37;--bad:#b00020;--warn:#9a6700;--info:#0550ae;--line:#d0d7de}
*{box-sizing:border-box}
body{font:14px/1.45 -apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#1f2328;
 margin:0;background:#f6f8fa}
main{max-width:1240px;margin:0 auto;padding:24px}
h1{font-size:24px;margin:0 0 8px}
h2{font-size:19px;margin:32px 0 10px;padding-bottom:4px;border-bottom:1px solid var(--line)}
h3{font-size:15px;margin:18px 0 6px}
code{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.verdict{display:inline-block;padding:4px 14px;border-radius:16px;color:#fff;font-weight:700;
 font-size:16px;letter-spacing:.04em}
.verdict.pass{background:var(--ok)}.verdict.blocking{background:var(--bad)}
.verdict.error{background:#6e7781}
.summary{margin:8px 0 0;color:#424a53}
nav ul{list-style:none;padding:0;margin:12px 0;display:flex;gap:16px;flex-wrap:wrap}
nav a{color:var(--info)}
table{border-collapse:collapse;width:100%;background:#fff;margin:6px 0 14px}
th,td{border:1px solid var(--line);padding:5px 8px;text-align:left;vertical-align:top;
 overflow-wrap:anywhere}
th{background:#eaeef2;font-weight:600;overflow-wrap:normal;word-break:keep-all;
 white-space:nowrap}
td.code{white-space:nowrap}
td.where code{word-break:break-all}
tr.sev-blocking td.sev{color:var(--bad);font-weight:700}
tr.sev-warning td.sev{color:var(--warn);font-weight:700}
tr.sev-info td.sev{color:var(--info)}
.fix{color:#57606a;font-size:13px}
.muted{color:#6e7781}
.status-open{color:var(--warn);font-weight:600}
.status-resolved{color:var(--ok);font-weight:600}
.graph{background:#fff;border:1px solid var(--line);padding:8px;overflow-x:auto}
.errors li{color:var(--bad)}
footer{margin-top:40px;color:#6e7781;font-size:12px}
"""


@dataclass
class ReportContext:
    """What the page shows besides the findings."""

    view: GraphView | None = None
    register: Register | None = None
    #: migration path -> (revision id, message)
    revisions: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    title: str = "b03lint report"
    #: problems met while preparing the page (an unreadable register, ...)
    errors: list[ToolError] = field(default_factory=list)


def e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _verdict(result: Result) -> tuple[str, str]:
    if result.verdict == "ERROR":
        return "error", "ERROR"
    return ("blocking", "BLOCKING") if result.verdict == "BLOCKING" else ("pass", "PASS")


def _rows(findings: Iterable[Finding], *, show_path: bool = True,
          show_object: bool = False) -> list[str]:
    head = ["<th>Severity</th>", "<th>Code</th>", "<th>Rule</th>"]
    if show_path:
        head.append("<th>Location</th>")
    else:
        head.append("<th>Line</th>")
    if show_object:
        head.append("<th>Object</th>")
    head.append("<th>Message</th>")
    out = ["<table>", f"<thead><tr>{''.join(head)}</tr></thead>", "<tbody>"]
    for f in findings:
        where = f"{f.path}:{f.line}"
        cells = [f'<td class="sev">{e(f.severity)}</td>',
                 f'<td class="code"><code>{e(f.code)}</code></td>',
                 f"<td>{e(f.rule)}</td>",
                 f'<td class="where"><code>{e(where if show_path else f.line)}</code></td>']
        if show_object:
            cells.append(f"<td><code>{e(f.object or '')}</code></td>")
        message = e(f.shown_message)
        if f.fix:
            message += f'<div class="fix">Fix: {e(f.fix)}</div>'
        cells.append(f"<td>{message}</td>")
        out.append(f'<tr class="finding sev-{e(f.severity)}" data-code="{e(f.code)}" '
                   f'data-where="{e(where)}">{"".join(cells)}</tr>')
    out += ["</tbody>", "</table>"]
    return out


def _by_object(findings: list[Finding]) -> list[str]:
    groups: dict[str, list[Finding]] = {}
    for f in findings:
        groups.setdefault(f.object or "", []).append(f)
    out: list[str] = []
    for obj in sorted(groups, key=lambda o: (o == "", o)):
        label = f"<code>{e(obj)}</code>" if obj else '<span class="muted">no schema object' \
                                                      "</span>"
        items = groups[obj]
        out.append(f'<h3 id="object-{e(_anchor(obj or "none"))}">{label} '
                   f'<span class="muted">({len(items)})</span></h3>')
        out += _rows(items)
    return out


def _by_migration(findings: list[Finding], ctx: ReportContext) -> list[str]:
    groups: dict[str, list[Finding]] = {}
    for f in findings:
        groups.setdefault(f.path, []).append(f)
    order = list(ctx.revisions)

    def key(path: str) -> tuple[int, str]:
        return (order.index(path) if path in order else len(order), path)

    out: list[str] = []
    for path in sorted(groups, key=key):
        rev, message = ctx.revisions.get(path, (None, None))
        title = f"<code>{e(path)}</code>"
        if rev:
            title = f"<code>{e(rev)}</code> " + title
        if message:
            title += f' <span class="muted">{e(message)}</span>'
        items = groups[path]
        out.append(f"<h3>{title} <span class=\"muted\">({len(items)})</span></h3>")
        out += _rows(items, show_path=False, show_object=True)
    return out


def _anchor(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in text)


def _register(register: Register) -> list[str]:
    out = ["<table>", "<thead><tr><th>ID</th><th>Object</th><th>Drift Type</th>"
           "<th>Canonical Truth</th><th>Migration State</th><th>Resolution Decision</th>"
           "<th>Status</th><th>ADR</th><th>Revisions</th></tr></thead>", "<tbody>"]
    for entry in register.entries:
        status = entry.status.capitalize() + (f" ({entry.status_note})"
                                              if entry.status_note else "")
        also = (f'<div class="muted">also: {e(", ".join(entry.also))}</div>'
                if entry.also else "")
        out.append(
            f'<tr class="drift-entry" id="{e(entry.id)}"><td><code>{e(entry.id)}</code></td>'
            f"<td><code>{e(entry.object)}</code>{also}</td><td>{e(entry.drift_type)}</td>"
            f"<td>{e(entry.canonical_truth)}</td><td>{e(entry.migration_state)}</td>"
            f"<td>{e(entry.resolution)}</td>"
            f'<td class="status-{e(entry.status)}">{e(status)}</td>'
            f"<td>{e(entry.adr or '')}</td>"
            f"<td><code>{e(', '.join(entry.revisions))}</code></td></tr>")
    out += ["</tbody>", "</table>"]
    return out


def render(result: Result, options: ReportOptions,
           context: ReportContext | None = None) -> str:
    from b03lint.pictures import revisions_with_marks, to_svg

    ctx = context or ReportContext()
    cls, word = _verdict(result)
    counts = result.counts()
    hidden = "".join(f", {n} {what}" for n, what in (
        (result.suppressed, "suppressed"), (result.baselined, "accepted by the baseline"))
        if n)
    summary = (f"{counts['blocking']} blocking, {counts['warning']} warning, "
               f"{counts['info']} info in {result.files} file(s) "
               f"({result.operations} operation(s) checked{hidden})")
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{e(ctx.title)}: {e(word)}</title>", f"<style>{CSS}</style>", "</head>",
           "<body>", "<main>",
           f"<h1>{e(ctx.title)}</h1>",
           f'<p><span class="verdict {cls}" id="verdict">{e(word)}</span></p>',
           f'<p class="summary">{e(summary)}</p>']
    if result.skipped:
        out.append(f"<p>{e(result.skipped)}</p>")
    out += ['<nav><ul><li><a href="#by-object">Findings by object</a></li>',
            '<li><a href="#by-migration">Findings by migration</a></li>',
            '<li><a href="#drift-register">Drift register</a></li>',
            '<li><a href="#revision-graph">Revision graph</a></li></ul></nav>']
    errors = [*result.errors, *ctx.errors]
    if errors:
        out.append('<h2 id="errors">Errors</h2><ul class="errors">')
        out += [f"<li><code>{e(str(err))}</code></li>" for err in errors]
        out.append("</ul>")

    findings = list(result.findings)
    out.append(f'<h2 id="by-object">Findings by object ({len(findings)})</h2>')
    out += _by_object(findings) if findings else ['<p class="muted">No findings.</p>']
    out.append('<h2 id="by-migration">Findings by migration</h2>')
    out += (_by_migration(findings, ctx) if findings
            else ['<p class="muted">No findings.</p>'])

    out.append('<h2 id="drift-register">Drift register</h2>')
    if ctx.register is not None and ctx.register.entries:
        if ctx.register.path:
            out.append(f'<p class="muted">From <code>{e(ctx.register.path)}</code>.</p>')
        out += _register(ctx.register)
    else:
        out.append('<p class="muted">No drift register entries.</p>')

    out.append('<h2 id="revision-graph">Revision graph</h2>')
    if ctx.view is not None and ctx.view.graph.nodes:
        out.append(f'<div class="graph">{to_svg(ctx.view, standalone=False)}</div>')
        marked = list(revisions_with_marks(ctx.view))
        if marked:
            out.append("<h3>Revisions that introduced drift</h3>")
            out.append("<table><thead><tr><th>Revision</th><th>Object</th><th>Deviation</th>"
                       "<th>Drift register</th><th>At head</th></tr></thead><tbody>")
            for rev, marks in marked:
                for m in marks:
                    out.append(f"<tr><td><code>{e(rev)}</code></td>"
                               f"<td><code>{e(m.object)}</code></td><td>{e(m.kind)}</td>"
                               f"<td>{e(m.drift_id or 'unregistered')}</td>"
                               f"<td>{'still present' if m.at_head else 'resolved later'}"
                               "</td></tr>")
            out.append("</tbody></table>")
    else:
        out.append('<p class="muted">No revisions.</p>')
    version = f" {options.tool_version}" if options.tool_version else ""
    out += [f"<footer>Generated by b03lint{e(version)} for <code>{e(options.root)}</code>."
            "</footer>", "</main>", "</body>", "</html>"]
    return "\n".join(out) + "\n"
