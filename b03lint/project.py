"""What a rule may look at for one run: the configuration, every migration file, the
revision graph, the run's targets and errors, and views computed on demand.

It lives below the engine (which builds it) and below the rules (which are handed it), so
neither imports the other through it."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from b03lint.config import Config
from b03lint.findings import Finding, ToolError
from b03lint.graph import RevisionGraph
from b03lint.operations import MigrationFile

if TYPE_CHECKING:
    from b03lint.schema.timeline import Timeline
    from b03lint.waivers import AdrPattern


class Project:
    """Everything a rule may look at for one run. Costly views are computed on demand."""

    def __init__(self, config: Config, registry: Any, files: list[MigrationFile],
                 targets: set[str] | None, rev: str | None, errors: list[ToolError]):
        self.config = config
        #: the run's :class:`~b03lint.rules.registry.Registry`. Typed loosely on purpose:
        #: rules are handed the project, so naming the registry's type here would draw the
        #: circle rules -> project -> registry -> rules (the engine keeps the typed one)
        self.registry = registry
        self.files = files
        self.targets = targets
        self.rev = rev
        self.errors = errors
        self.graph = RevisionGraph.build(files)
        #: arbitrary per-run memo for rules that share expensive work
        self.memo: dict[str, Any] = {}
        #: display paths of the chain's files
        self.paths = {mf.path for mf in files}
        #: what :func:`~b03lint.engine.lint` found in this chain (configured and suppressed)
        self.findings: list[Finding] = []
        #: operation kinds whose schema-before the enabled rules ask for (see timeline)
        self.schema_kinds: frozenset[str] = frozenset()

    def is_target(self, path: str) -> bool:
        return self.targets is None or path in self.targets

    @cached_property
    def adrs(self) -> dict[str, Path]:
        from b03lint.waivers import adr_index

        return adr_index(self.config.path("adr_dir"), self.adr_pattern)

    @cached_property
    def adr_pattern(self) -> AdrPattern:
        """How ADR files are named (``adr_pattern``)."""
        from b03lint.waivers import adr_pattern

        return adr_pattern(self.config.get("adr_pattern"))

    def file_for(self, revision: str) -> MigrationFile | None:
        return self.graph.nodes.get(revision)

    @cached_property
    def timeline(self) -> Timeline:
        """The state of each operation's table just before it, for the linted files."""
        from b03lint.schema.timeline import Timeline

        return Timeline(self.graph, self.schema_kinds,
                        [mf for mf in self.files if self.is_target(mf.path)])
