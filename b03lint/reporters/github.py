"""GitHub Actions workflow commands: one annotation a finding, shown on the pull request's
changed lines::

    ::error file=PATH,line=L,col=C,title=CODE rule-name::message

``::error`` for blocking findings, ``::warning`` for warnings, ``::notice`` for info.
Values are escaped as the runner expects (``%``, CR and LF everywhere; ``:`` and ``,`` in
properties too). Tool errors are ``::error`` annotations as well; a plain summary line
ends the output (the CI-mode skip message, when nothing was checked).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from b03lint.engine import Result
    from b03lint.reporters import ReportOptions

COMMANDS = {"blocking": "error", "warning": "warning", "info": "notice"}


def escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def annotation(command: str, message: str, **props: object) -> str:
    given = ",".join(f"{k}={escape_property(str(v))}" for k, v in props.items()
                     if v is not None)
    return f"::{command}{' ' + given if given else ''}::{escape_data(message)}"


def render(result: Result, options: ReportOptions) -> str:
    from b03lint.reporters.text import summary

    lines = [annotation(COMMANDS[f.severity], f.shown_message, file=f.path, line=f.line,
                        col=f.column, title=f"{f.code} {f.rule}")
             for f in result.findings]
    lines += [annotation("error", e.message, file=e.path, line=e.line, col=e.column,
                         title="b03lint error") for e in result.errors]
    lines.append(summary(result))
    return "\n".join(lines) + "\n"
