"""Reporters turn one run's findings into one output format; each lives in its own module
with a ``render(result, options) -> str`` function and is imported only when chosen."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from b03lint.engine import Result

#: format name -> module
FORMATS: dict[str, str] = {
    "text": "b03lint.reporters.text",
    "json": "b03lint.reporters.json",
}


@dataclass(frozen=True)
class ReportOptions:
    color: bool = False
    #: the folder paths are shown relative to (for reading source lines)
    root: str = "."
    tool_version: str = ""


def renderer(name: str) -> Callable[[Result, ReportOptions], str]:
    module = importlib.import_module(FORMATS[name])
    render: Callable[[Result, ReportOptions], str] = module.render
    return render
