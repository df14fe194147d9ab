"""The project, kept loaded between edits: what ``b03lint check`` reads once per run, read
once per server, and re-linted where an edit can change something.

A :class:`Workspace` holds the configuration, the rule set, the canonical schemas, the
ADRs, and for each chain (:class:`ChainState`) every migration as read from disk plus the
open editor buffers over them (unsaved text included). An edit of a migration re-reads
that one buffer and lints the chain again, keeping:

- each other file's findings, unless the file now sees another schema-before
  (:class:`~b03lint.server.incremental.IncrementalTimeline` says which);
- both folds of the chain up to the edited revision
  (:mod:`~b03lint.server.incremental`);
- the canonical schema, the ADR index and the base schema (reloaded only when their files
  change: :meth:`Workspace.file_changed`).

Project-wide rules (graph, contract, drift register, suppressions, the baseline) run in
full on every lint: their findings can move to any file. The result is what ``b03lint
check`` prints for the same files, buffers in place of the saved text
(``tests/test_lsp_incremental.py`` compares the two after every edit). File and
operation rules are handed their own file, its schema-before and the configuration; a
plugin rule that reads other files from those hooks sees them as of its own file's last
re-check.

Nothing here imports an LSP library: the server (:mod:`b03lint.server.lsp`) and
``bench/server.py`` drive it alike.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from b03lint.config import Config, ConfigError, load_config
from b03lint.findings import Finding, ToolError, sort_findings
from b03lint.operations import MigrationFile
from b03lint.paths import display_path
from b03lint.server.incremental import (
    IncrementalTimeline,
    ReplayMemo,
    TimelineMemo,
    replay_to_head,
)

if TYPE_CHECKING:
    from b03lint.engine import RuleSet
    from b03lint.project import Project
    from b03lint.readers.python.project import ProjectModules
    from b03lint.rules.registry import Registry
    from b03lint.schema.canonical import Canonical
    from b03lint.schema.model import Schema

#: what a file outside the chain is to the project
FileKind = Literal["config", "canonical", "register", "base_schema", "baseline", "adr",
                   "rules", "helper"]
#: files edited most recently, remembered in order (the last one gets checkpoints)
HOT_FILES = 4


@dataclass
class FileResult:
    """One file's findings as its rules gave them (before configuration), and the errors
    its reading and its rules raised."""

    mf: MigrationFile
    findings: list[Finding]
    errors: list[ToolError]


@dataclass
class Lint:
    """What one lint found, for the whole project."""

    findings: list[Finding] = field(default_factory=list)
    errors: list[ToolError] = field(default_factory=list)
    #: files whose file and operation rules ran again (the rest were kept)
    rechecked: set[str] = field(default_factory=set)
    #: where each fold started (0: from the base), per chain
    resumed_at: list[tuple[int, int]] = field(default_factory=list)
    seconds: float = 0.0
    #: the project was read afresh for it (a changed configuration or rule)
    reloaded: bool = False
    #: CPU seconds of this process per phase (summed over chains), for bench/server.py
    #: (CPU, not wall: on a shared machine the wall time also counts other jobs)
    phases: dict[str, float] = field(default_factory=dict)
    cpu_seconds: float = 0.0

    def lap(self, phase: str, since: float) -> float:
        now = time.process_time()
        self.phases[phase] = self.phases.get(phase, 0.0) + now - since
        return now

    def by_path(self) -> dict[str, list[Finding]]:
        out: dict[str, list[Finding]] = {}
        for f in self.findings:
            out.setdefault(f.path, []).append(f)
        return out


class ChainState:
    """One chain (environment): its files from disk, the buffers over them, and what the
    last lint kept."""

    def __init__(self, workspace: Workspace, config: Config):
        self.workspace = workspace
        self.config = config
        #: display path -> path on disk, of every revision file found
        self.paths: dict[str, Path] = {}
        self.disk: dict[str, MigrationFile] = {}
        self.buffers: dict[str, MigrationFile] = {}
        self.results: dict[str, FileResult] = {}
        self.replay_memo = ReplayMemo()
        self.timeline_memo = TimelineMemo()
        self.canonical: Canonical | None = None
        self.base: Schema | None = None
        self.base_errors: list[ToolError] = []
        self.discovery_errors: list[ToolError] = []
        #: display paths edited most recently last (their folds keep checkpoints)
        self.hot: list[str] = []
        #: the last lint's project (hover and code actions query it)
        self.project: Project | None = None
        #: display path -> (reading, the names its operations create)
        self.created: dict[str, tuple[MigrationFile, frozenset[str]]] = {}
        #: (base schema, the union of ``created``) of the last lint
        self.union: tuple[Schema | None, frozenset[str]] | None = None

    # ------------------------------------------------------------------ reading

    def discover(self) -> None:
        from b03lint.engine import chain_files

        self.discovery_errors = []
        self.paths = chain_files(self.config, self.discovery_errors)

    def read_disk(self, shown: Iterable[str] | None = None) -> None:
        """(Re-)read files from disk: ``shown`` or every one (through the parse cache)."""
        from b03lint.loader import load_files

        wanted = sorted(self.paths) if shown is None else sorted(set(shown) & set(self.paths))
        for gone in set(self.disk) - set(self.paths):
            del self.disk[gone]
        for mf in load_files([(s, self.paths[s]) for s in wanted], self.config):
            self.disk[mf.path] = mf

    def load_canonical(self) -> None:
        from b03lint.schema.canonical import load

        self.canonical = load(self.config)

    def load_base(self) -> None:
        """The ``base_schema`` the chain starts from, read once (as the contract reads it)."""
        from b03lint.contract import base_schema
        from b03lint.project import Project

        probe = Project(self.config, self.workspace.registry, [], None, None, [])
        self.base = base_schema(probe)
        self.base_errors = list(probe.errors)

    def owns(self, path: Path) -> bool:
        """Whether ``path`` is (or would be, once saved) a revision file of this chain."""
        if path.suffix != ".py" or path.name.startswith((".#", "__init__")):
            return False
        real = path.absolute().resolve()
        for folder in self.config.migration_folders():
            base = folder.absolute().resolve()
            if self.config.recursive and real.is_relative_to(base):
                return True
            if real.parent == base:
                return True
        return False

    def files(self) -> list[MigrationFile]:
        shown = sorted(set(self.disk) | set(self.buffers))
        return [self.buffers.get(s) or self.disk[s] for s in shown]

    def knowable(self, project: Project) -> set[str]:
        """What the chain or its base creates (:func:`b03lint.contract.knowable`), from
        each file's names, kept per version of the file (and the union kept while no
        file's names change)."""
        from b03lint.contract import remember_knowable
        from b03lint.schema.replay import created_names

        kept: dict[str, tuple[MigrationFile, frozenset[str]]] = {}
        same = set(self.created) == {mf.path for mf in project.graph.nodes.values()}
        for mf in project.graph.nodes.values():
            hit = self.created.get(mf.path)
            if hit is None or hit[0] is not mf:
                names_of = frozenset(created_names(mf.upgrade_ops))
                same = same and hit is not None and hit[1] == names_of
                hit = (mf, names_of)
            kept[mf.path] = hit
        self.created = kept
        if not same or self.union is None or self.union[0] is not self.base:
            names = created_names((), self.base)
            for _mf, file_names in kept.values():
                names |= file_names
            self.union = (self.base, frozenset(names))
        remember_knowable(project.graph, self.base, self.union[1])
        return set(self.union[1])

    def touch(self, shown: str) -> None:
        if shown in self.hot:
            self.hot.remove(shown)
        self.hot.append(shown)
        del self.hot[:-HOT_FILES]

    def forget(self) -> None:
        """Drop every kept result (the next lint re-checks every file and folds from the
        base)."""
        self.results.clear()
        self.replay_memo.checkpoints.clear()
        self.timeline_memo.checkpoints.clear()
        self.timeline_memo.before.clear()

    # ------------------------------------------------------------------ linting

    def lint(self, out: Lint, dirty: set[str], debug: bool) -> Project:
        """Lint the chain into ``out``: file rules again for ``dirty`` files and those
        whose schema-before changed, kept for the rest; project rules in full."""
        from b03lint.contract import replay_key
        from b03lint.engine import Result, chain_findings, file_findings
        from b03lint.project import Project

        ws = self.workspace
        ruleset = ws.ruleset
        assert ruleset is not None
        t = time.process_time()
        result = Result()
        files = self.files()
        project = Project(self.config, ws.registry, files, None, None, result.errors)
        result.errors += self.discovery_errors
        project.schema_kinds = ws.schema_kinds
        project.__dict__["adrs"] = ws.adrs  # the cached_property, read once per server
        project.memo["base_schema"] = self.base
        if self.canonical is not None:
            project.memo["canonical"] = self.canonical
        t = out.lap("graph", t)
        # checkpoints are taken for the file edited last (the one being typed in); those
        # of files edited before are kept while they are usable, never taken again on
        # the way (each would cost a copy per keystroke elsewhere)
        hot = set(self.hot[-1:])
        timeline = IncrementalTimeline(project.graph, ws.schema_kinds, self.timeline_memo,
                                       hot)
        project.__dict__["timeline"] = timeline
        t = out.lap("timeline", t)
        replay = replay_to_head(project.graph, self.base, self.knowable(project),
                                self.replay_memo, hot)
        project.memo[replay_key(None)] = replay
        out.resumed_at.append((self.replay_memo.resumed_at, self.timeline_memo.resumed_at))
        t = out.lap("replay", t)

        again = dirty | timeline.changed_paths
        raw: list[Finding] = []
        kept: dict[str, FileResult] = {}
        for mf in files:
            done = self.results.get(mf.path)
            if done is None or done.mf is not mf or mf.path in again:
                errors: list[ToolError] = []
                done = FileResult(mf, file_findings(project, mf, ruleset, errors, debug),
                                  errors)
                out.rechecked.add(mf.path)
            kept[mf.path] = done
            raw += done.findings
            result.errors += done.errors
        self.results = kept
        result.errors += self.base_errors  # `check` meets them when the contract asks
        t = out.lap("file rules", t)
        project.findings = chain_findings(project, raw, ruleset, result, debug)
        name = self.config.environment
        out.findings += ([replace(f, environment=name) for f in project.findings] if name
                         else project.findings)
        out.errors += result.errors
        out.lap("project rules", t)
        self.project = project
        return project


class Workspace:
    """The project of ``start`` (the nearest ``pyproject.toml`` with ``[tool.b03lint]``
    above it, or ``config_path``), kept loaded; see the module docstring.

    The process works from the project's root (display paths are relative to it, as
    ``b03lint check`` prints them when run there): loading changes directory to it."""

    def __init__(self, start: Path, config_path: Path | None = None, debug: bool = False):
        self.root = start.resolve()
        self.config_path = config_path
        self.debug = debug
        os.chdir(self.root)
        self.config: Config | None = None
        self.registry: Registry | None = None
        self.ruleset: RuleSet | None = None
        self.schema_kinds: frozenset[str] = frozenset()
        self.adrs: dict[str, Path] = {}
        self.chains: list[ChainState] = []
        #: errors that stop the project from being linted at all (bad configuration)
        self.fatal: list[ToolError] = []
        self.modules: ProjectModules | None = None
        #: display path -> text of every open buffer (migration or not)
        self.open_texts: dict[str, str] = {}
        #: display path -> path of the buffers staged and not yet read
        self.pending: dict[str, Path] = {}
        #: CPU seconds spent reading buffers since the last lint (its "read buffer" phase)
        self.read_cpu = 0.0
        self.last: Lint = Lint()

    # ------------------------------------------------------------------ loading

    def load(self) -> Lint:
        """Read everything afresh (start-up, a changed configuration) and lint."""
        from b03lint.engine import RuleSet
        from b03lint.readers.python.project import ProjectModules
        from b03lint.rules.registry import RegistryError, build_registry

        self.fatal = []
        self.chains = []
        config: Config | None = None
        try:
            config = load_config(self.root, self.config_path)
            if config.sources.get("jobs") == "default":
                # worker processes forked from a threaded server are not safe; the parse
                # cache makes a restart quick
                config.set("jobs", 1, "the language server")
            registry = build_registry(config)
            ruleset = RuleSet.from_config(registry, config)
            chains = config.chains()
        except ConfigError as exc:
            self.fatal.append(ToolError(str(exc), exc.path, exc.line))
            return self.relint()
        except RegistryError as exc:
            self.fatal.append(exc.to_error())
            return self.relint()
        except (KeyError, ValueError) as exc:
            self.fatal.append(ToolError(f"configuration: {exc.args[0] if exc.args else exc}",
                                        str(config.pyproject) if config and config.pyproject
                                        else None))
            return self.relint()
        self.config, self.registry, self.ruleset = config, registry, ruleset
        # the project's root, where `check` would be run (display paths are relative to it)
        self.root = config.root.resolve()
        os.chdir(self.root)
        self.schema_kinds = frozenset(kind for r in ruleset.rules if r.uses_schema_before
                                      for kind in r.operation_kinds)
        self.modules = ProjectModules([self.root, self.root / "src"])
        self.load_adrs()
        for chain_config in chains:
            chain = ChainState(self, chain_config)
            chain.discover()
            chain.read_disk()
            chain.load_canonical()
            chain.load_base()
            self.chains.append(chain)
        for shown, text in self.open_texts.items():
            owner = self.chain_of(self.root / shown)
            if owner is not None:
                owner.buffers[shown] = self.parse(shown, text.encode("utf-8"))
        lint = self.relint(everything=True)
        lint.reloaded = True
        return lint

    def load_adrs(self) -> None:
        from b03lint.waivers import adr_index, adr_pattern

        assert self.config is not None
        try:
            pattern = adr_pattern(self.config.get("adr_pattern"))
        except ValueError:
            pattern = adr_pattern(None)
        self.adrs = adr_index(self.config.path("adr_dir"), pattern)

    def parse(self, shown: str, data: bytes) -> MigrationFile:
        """Read one migration from its bytes (an editor's buffer), as the loader reads a
        file, the project's helper modules included."""
        from b03lint.readers.python import read_migration

        modules = None
        if self.modules is not None:
            modules = self.modules.for_file(self.root / shown, self.root)
        return read_migration(shown, data, modules)

    # ------------------------------------------------------------------ where things are

    def shown(self, path: Path) -> str:
        return display_path(path)

    def chain_of(self, path: Path) -> ChainState | None:
        """The chain whose migration ``path`` is (or would be), if any."""
        shown = self.shown(path)
        for chain in self.chains:
            if shown in chain.paths or shown in chain.buffers:
                return chain
        return next((c for c in self.chains if c.owns(path)), None)

    def kind_of(self, path: Path) -> FileKind | None:
        """What a file that is not a migration is to the project (None: nothing)."""
        real = path.absolute().resolve()
        if path.name == "pyproject.toml" and real.parent == self.root:
            return "config"
        if any(e.path and _resolved(Path(e.path)) == real for e in self.fatal):
            return "config"  # the file that stopped the project from loading
        if self.config is None:
            return None
        if real == _resolved(self.config.pyproject) or \
                real == _resolved(self.config.path("alembic_ini")):
            return "config"
        for chain in self.chains:
            c = chain.config
            if real in (_resolved(c.path("canonical_sql")), _resolved(c.path("canonical_yaml"))):
                return "canonical"
            if real == _resolved(c.path("drift_register")):
                return "register"
            base = c.get("base_schema")
            if isinstance(base, str) and base != "external" and real == _resolved(
                    Path(base) if Path(base).is_absolute() else self.root / base):
                return "base_schema"
        from b03lint.baseline import DEFAULT_FILE

        if real in (_resolved(self.config.path("baseline")),
                    _resolved(self.root / DEFAULT_FILE)):
            return "baseline"
        adr_dir = _resolved(self.config.path("adr_dir"))
        if adr_dir is not None and real.is_relative_to(adr_dir):
            return "adr"
        for folder in self.config.get("rules_dirs"):
            if real.is_relative_to(_resolved(self.root / folder) or self.root / folder) \
                    and real.suffix in (".yaml", ".yml", ".py"):
                return "rules"
        if real.suffix == ".py" and real.is_relative_to(self.root):
            return "helper"
        return None

    # ------------------------------------------------------------------ edits

    def edit(self, path: Path, text: str) -> Lint:
        """An editor opened or changed ``path`` (unsaved ``text``): re-read that buffer
        when it is a migration, and lint."""
        self.stage(path, text)
        return self.flush()

    def stage(self, path: Path, text: str) -> None:
        """Record an editor's text of ``path``; :meth:`flush` reads and lints (so a burst
        of changes is read and linted once)."""
        shown = self.shown(path)
        self.open_texts[shown] = text
        self.pending[shown] = path

    def flush(self) -> Lint:
        """Read the buffers staged since the last flush and lint once (or return the
        last lint when none of them changes what a migration says)."""
        dirty: set[str] = set()
        fresh = False  # a buffer now reads as its saved file: a lint for its checkpoints
        for shown, path in self.pending.items():
            chain = self.chain_of(path)
            if chain is None:
                continue
            old = chain.buffers.get(shown) or chain.disk.get(shown)
            data = self.open_texts[shown].encode("utf-8")
            chain.touch(shown)
            if old is not None and _same_text(old, data):
                if chain.buffers.get(shown) is not old:
                    # opened as saved: the reading from disk serves, its findings are kept
                    chain.buffers[shown] = old
                    fresh = True
                continue
            cpu = time.process_time()
            chain.buffers[shown] = self.parse(shown, data)
            self.read_cpu += time.process_time() - cpu
            dirty.add(shown)
        self.pending.clear()
        if not dirty and not fresh:
            return self.last
        return self.relint(dirty)

    def close(self, path: Path) -> Lint:
        """The editor closed ``path``: its saved text counts again."""
        shown = self.shown(path)
        self.open_texts.pop(shown, None)
        chain = self.chain_of(path)
        if chain is None or shown not in chain.buffers:
            return self.last
        del chain.buffers[shown]
        if shown in chain.hot:
            chain.hot.remove(shown)
        if shown in chain.paths:
            chain.read_disk([shown])
        return self.relint({shown})

    def file_changed(self, path: Path, exists: bool = True) -> Lint:
        """``path`` was saved, created or deleted on disk: reload what it affects."""
        chain = self.chain_of(path)
        if chain is not None:
            return self._migration_on_disk(chain, path, exists)
        kind = self.kind_of(path)
        if kind is None:
            return self.last
        if kind == "config" or kind == "rules":
            return self.load()
        if kind == "canonical":
            for chain in self.chains:
                chain.load_canonical()
            return self.relint(everything=True)  # declarative rules may ask the canonical
        if kind == "base_schema":
            for chain in self.chains:
                chain.load_base()
            return self.relint()
        if kind == "adr":
            self.load_adrs()
            return self.relint(everything=True)  # waivers cite ADRs
        if kind == "helper":
            return self._helper_changed(path)
        return self.relint()  # the register and the baseline are read by every lint

    def _migration_on_disk(self, chain: ChainState, path: Path, exists: bool) -> Lint:
        shown = self.shown(path)
        known = shown in chain.paths
        if exists and known and shown in chain.buffers:
            chain.read_disk([shown])
            return self.last  # saved from the editor: its buffer was linted already
        if exists:
            chain.paths[shown] = path
            chain.read_disk([shown])
        elif known:
            del chain.paths[shown]
            chain.disk.pop(shown, None)
        return self.relint({shown})

    def _helper_changed(self, path: Path) -> Lint:
        """A project module a migration imports names from: read again the files whose
        reading used it."""
        from b03lint.readers.python.project import ProjectModules

        self.modules = ProjectModules([self.root, self.root / "src"])
        real = str(path.absolute().resolve())
        dirty: set[str] = set()
        for chain in self.chains:
            users = {s for s, mf in {**chain.disk, **chain.buffers}.items()
                     if any(str(Path(p).resolve()) == real for p, _ in mf.sources)}
            chain.read_disk(users)
            for shown in users & set(chain.buffers):
                chain.buffers[shown] = self.parse(shown,
                                                  self.open_texts[shown].encode("utf-8"))
            dirty |= users
        return self.relint(dirty) if dirty else self.last

    # ------------------------------------------------------------------ lint

    def relint(self, dirty: set[str] | None = None, everything: bool = False) -> Lint:
        """Lint every chain; the file rules run again for ``dirty`` files (every file
        when ``everything``), for files never checked, and where the schema-before
        changed."""
        from b03lint.engine import Result, _baseline

        started = time.perf_counter()
        cpu = time.process_time()
        out = Lint(errors=list(self.fatal))
        if self.read_cpu:
            out.phases["read buffer"] = self.read_cpu
            self.read_cpu = 0.0
        if self.config is None or self.ruleset is None or self.registry is None:
            self.last = out
            return out
        if everything:
            for chain in self.chains:
                chain.forget()
        projects: list[Project] = []
        for chain in self.chains:
            projects.append(chain.lint(out, dirty or set(), self.debug))
        all_paths = {shown for c in self.chains for shown in (*c.paths, *c.buffers)}
        # the baseline, as `check` applies it: once, to every chain's findings
        t = time.process_time()
        final = _baseline(out.findings, Result(errors=out.errors), self.config, projects,
                          self.ruleset, self.registry, all_paths, "auto")
        out.findings = sort_findings(final)
        out.lap("baseline", t)
        out.seconds = time.perf_counter() - started
        out.cpu_seconds = time.process_time() - cpu
        self.last = out
        return out

    # ------------------------------------------------------------------ queries

    def migration(self, path: Path) -> tuple[ChainState, MigrationFile] | None:
        """The chain and current reading (buffer, else disk) of migration ``path``."""
        chain = self.chain_of(path)
        if chain is None:
            return None
        shown = self.shown(path)
        mf = chain.buffers.get(shown) or chain.disk.get(shown)
        return (chain, mf) if mf is not None else None


def _resolved(path: Path | None) -> Path | None:
    if path is None:
        return None
    try:
        return path.absolute().resolve()
    except (OSError, RuntimeError):
        return None


def _same_text(mf: MigrationFile, data: bytes) -> bool:
    import hashlib

    return bool(mf.digest) and mf.digest == hashlib.sha256(data).hexdigest()
