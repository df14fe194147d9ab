"""How paths are shown: relative to the working directory when below it (as ruff does).
Imported by every layer, so it imports nothing of b03lint's."""

from __future__ import annotations

from pathlib import Path


def display_path(path: Path, cwd: Path | None = None) -> str:
    """Paths relative to the working directory when below it, as ruff prints them."""
    cwd = cwd or Path.cwd()
    try:
        real = path.resolve(strict=True)
    except (RuntimeError, OSError):
        # missing, a dangling symlink or a symlink loop (RuntimeError before Python 3.13):
        # name the link itself, not where it points
        real = path.absolute().parent.resolve() / path.name
    try:
        return real.relative_to(cwd.resolve()).as_posix()
    except ValueError:
        return path.as_posix()
