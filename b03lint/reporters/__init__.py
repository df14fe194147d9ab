"""Reporters turn one run's findings into one output format; each lives in its own module
with a ``render(result, options) -> str`` function and is imported only when chosen."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from b03lint.engine import Result
    from b03lint.rules.registry import Registry

#: format name -> module
FORMATS: dict[str, str] = {
    "text": "b03lint.reporters.text",
    "concise": "b03lint.reporters.concise",
    "json": "b03lint.reporters.json",
    "sarif": "b03lint.reporters.sarif",
    "github": "b03lint.reporters.github",
    "junit": "b03lint.reporters.junit",
    "markdown": "b03lint.reporters.markdown",
}

#: formats that print the CI-mode skip message themselves (others leave it to stderr)
SAYS_SKIPPED = frozenset({"text", "concise", "github", "markdown"})


@dataclass(frozen=True)
class ReportOptions:
    color: bool = False
    #: the project root (``[tool.b03lint]``'s folder); finding paths are relative to the
    #: working directory, as they are shown
    root: str = "."
    tool_version: str = ""
    #: the rules of the run (documentation for SARIF); the built-in ones when None
    registry: Registry | None = None
    #: code frames under each finding of the text format (the command shows them on a
    #: terminal only)
    frames: bool = True


def renderer(name: str) -> Callable[[Result, ReportOptions], str]:
    module = importlib.import_module(FORMATS[name])
    render: Callable[[Result, ReportOptions], str] = module.render
    return render
