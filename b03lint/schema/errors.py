"""The error of a canonical file the tool cannot use, shared by the loaders of the
canonical SQL (``canonical.py``) and of its YAML mirror (``canonical_yaml.py``)."""

from __future__ import annotations

from b03lint.findings import ToolError

__all__ = ["CanonicalError"]


class CanonicalError(Exception):
    """A canonical file the tool cannot use: missing, unreadable, invalid (exit code 2)."""

    def __init__(self, message: str, path: str, line: int | None = None):
        super().__init__(message)
        self.path = path
        self.line = line

    def to_error(self) -> ToolError:
        return ToolError(str(self), self.path, self.line)
