"""``path:line:col: CODE severity message`` lines and the summary, without code frames."""

from __future__ import annotations

from typing import TYPE_CHECKING

from b03lint.reporters import text

if TYPE_CHECKING:
    from b03lint.engine import Result
    from b03lint.reporters import ReportOptions


def render(result: Result, options: ReportOptions) -> str:
    return text.render(result, options, frames=False)
