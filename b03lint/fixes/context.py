"""What every fixer is given: the file, its tree, the configuration, the run's findings."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from b03lint.fixes.model import Fix, TextEdit
from b03lint.fixes.source import Source

if TYPE_CHECKING:
    from b03lint.config import Config
    from b03lint.findings import Finding
    from b03lint.project import Project


@dataclass
class Context:
    source: Source
    path: Path
    config: Config
    findings: Sequence[Finding]
    #: the ADR the waiver fix cites (checked: it has a file)
    adr: str | None
    _project: Project | None = None
    _memo: dict[str, object] = field(default_factory=dict)

    @property
    def postgres_version(self) -> int:
        from b03lint.pgmodel.locks import DEFAULT_VERSION

        value = self.config.get("postgres_version")
        return value if isinstance(value, int) else DEFAULT_VERSION

    def project(self) -> Project:
        """The chain this file belongs to, read (from the parse cache) when first asked."""
        if self._project is None:
            from b03lint.engine import load_project

            self._project = load_project(chain_of(self.config, self.path))
        return self._project

    @property
    def line_length(self) -> int:
        """The project's line length (ruff's, else black's, in pyproject.toml; else 88)."""
        found = self._memo.get("line_length")
        if isinstance(found, int):
            return found
        width = 88
        pyproject = self.config.pyproject
        if pyproject is not None:
            if sys.version_info >= (3, 11):
                import tomllib
            else:  # pragma: no cover - Python 3.10
                import tomli as tomllib
            try:
                data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
                data = {}
            tool = data.get("tool", {})
            for table in (tool.get("ruff", {}), tool.get("black", {})):
                value = table.get("line-length") if isinstance(table, dict) else None
                if isinstance(value, int):
                    width = value
                    break
        self._memo["line_length"] = width
        return width

    def category(self, code: str) -> str | None:
        """The category of the rule ``code`` (the project's rules included)."""
        registry = self._memo.get("registry")
        if registry is None:
            from b03lint.rules.registry import RegistryError, build_registry, default_registry

            try:
                registry = build_registry(self.config)
            except RegistryError:
                registry = default_registry()
            self._memo["registry"] = registry
        rule = registry.get(code)  # type: ignore[attr-defined]
        return rule.category if rule is not None else None

    def fix(self, finding: Finding, title: str, edit: TextEdit | None, *, safe: bool = True,
            follow_up_files: tuple[tuple[Path, str], ...] = (),
            other_edits: tuple[tuple[Path, tuple[TextEdit, ...]], ...] = (),
            placeholder: str | None = None) -> Fix | None:
        if edit is None:
            return None
        return Fix(code=finding.code, title=title, safe=safe, path=self.path, edits=(edit,),
                   follow_up_files=follow_up_files, other_edits=other_edits,
                   placeholder=placeholder, finding=finding)


Fixer = Callable[[Context, "Finding"], "Fix | None"]


def chain_of(config: Config, path: Path) -> Config:
    """The configuration of the chain (environment) whose folders hold ``path``."""
    from b03lint.config import ConfigError

    try:
        chains = config.chains()
    except ConfigError:
        return config
    real = path.resolve()
    for chain in chains:
        for folder in chain.migration_folders():
            if real.is_relative_to(folder.resolve()):
                return chain
    return chains[0] if chains else config
