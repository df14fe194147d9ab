"""Reading migration files into :class:`MigrationFile`s: the one place the engine gets
them from (so caching and parallel parsing live here, not in the rules)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from b03lint.config import Config
from b03lint.operations import Diagnostic, Location, MigrationFile


def read_file(path: Path, shown: str) -> MigrationFile:
    """Read one file; an I/O error becomes a fatal diagnostic, never an exception."""
    from b03lint.readers.python import read_migration

    try:
        data = path.read_bytes()
    except OSError as exc:
        failed = MigrationFile(path=shown)
        failed.diagnostics.append(Diagnostic(
            code="I002", message=f"cannot read file: {exc.strerror or exc}",
            loc=Location(shown, 1, 0), fatal=True))
        return failed
    mf: MigrationFile = read_migration(shown, data)
    return mf


def load_files(items: Sequence[tuple[str, Path]], config: Config) -> list[MigrationFile]:
    """Read every ``(display path, path)`` pair, in the order given."""
    return [read_file(path, shown) for shown, path in items]
