"""The JSON contract of DESIGN.md: ``{"version": 1, "verdict": ..., "findings": [...],
"errors": [...]}`` (plus a ``summary`` object)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from b03lint.engine import Result
    from b03lint.reporters import ReportOptions


def render(result: Result, options: ReportOptions) -> str:
    return json.dumps(result.to_json(), indent=2, sort_keys=False) + "\n"
