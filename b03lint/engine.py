"""The engine: read every migration once, build the graph, run every enabled rule, apply
waivers and configuration, and hand back findings. It never prints."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import field, replace
from functools import cached_property, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from b03lint.config import Config, ConfigError
from b03lint.findings import Finding, ToolError, sort_findings, via_operation, via_operations
from b03lint.operations import MigrationFile, Severity, Unresolved
from b03lint.paths import display_path
from b03lint.project import Project as Project  # re-exported (rules import b03lint.project)
from b03lint.rules.base import FileContext, Rule
from b03lint.rules.registry import Registry, RegistryError, build_registry, default_registry

if TYPE_CHECKING:
    from dataclasses import dataclass as record
else:  # the same classes, made without dataclasses' start-up cost (b03lint.records)
    from b03lint.records import record

SEVERITIES: tuple[Severity, ...] = ("blocking", "warning", "info")


@record
class Result:
    findings: list[Finding] = field(default_factory=list)
    errors: list[ToolError] = field(default_factory=list)
    files: int = 0
    operations: int = 0
    unresolved: int = 0
    #: of those, data statements (INSERT/UPDATE/DELETE/SELECT): they change no schema fact
    unresolved_data: int = 0
    #: set when the run deliberately checked nothing (CI mode with no changed migration)
    skipped: str | None = None
    #: display paths of the migration files reported on (file-level findings)
    checked: list[str] = field(default_factory=list)
    #: findings dropped by ``# b03lint: ignore[...]`` suppressions and by the baseline
    suppressed: int = 0
    baselined: int = 0
    #: the run was cut short (Ctrl-C, SIGTERM, SIGHUP): exit code 130, never PASS
    interrupted: bool = False
    #: the environments checked, when the project has several (each its own chain)
    environments: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        """``ERROR`` when the run has an error or was cut short, whatever it found;
        ``BLOCKING`` when a complete run has a blocking finding; else ``PASS``. Every
        reporter and evidence file shows this one value (DESIGN.md's contract)."""
        if self.errors or self.interrupted:
            return "ERROR"
        return "BLOCKING" if any(f.blocking for f in self.findings) else "PASS"

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return 130
        if self.errors:
            return 2
        return 1 if self.verdict == "BLOCKING" else 0

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = dict.fromkeys(SEVERITIES, 0)
        for f in self.findings:
            out[f.severity] += 1
        return out

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "version": 1,
            "verdict": self.verdict,
            "findings": [f.to_json() for f in self.findings],
            "errors": [e.to_json() for e in self.errors],
            "summary": {**self.counts(), "files": self.files, "operations": self.operations,
                        "unresolved_operations": self.unresolved,
                        "unresolved_schema_operations": self.unresolved - self.unresolved_data,
                        "unresolved_data_statements": self.unresolved_data,
                        **({"environments": self.environments} if self.environments else {})},
        }
        if self.interrupted:
            out["interrupted"] = True
        return out


def discover(folder: Path, errors: list[ToolError], recursive: bool = True) -> list[Path]:
    """Every revision file in ``folder`` (and its sub-folders when ``recursive``, symlinks
    followed once), as Alembic finds them: ``*.py`` except ``__init__.py`` and editor lock
    files."""
    return [path for path, _link in _discover(folder, errors, recursive)]


def _discover(folder: Path, errors: list[ToolError],
              recursive: bool = True) -> list[tuple[Path, bool]]:
    """:func:`discover`'s files, each with whether it is a symlink, in ``os.walk``'s order
    (top-down, names sorted). What a file or folder is comes from the listing itself (the
    type the folder entry carries), not from a ``stat`` of each path; a folder's real path
    is resolved only where a link leads into it, so that a loop is still walked once."""
    found: list[tuple[Path, bool]] = []
    seen: set[str] = set()
    top = os.fspath(folder)
    stack = [(top, os.path.realpath(top))]
    while stack:
        where, real = stack.pop()
        if real in seen:
            continue
        seen.add(real)
        try:
            with os.scandir(where) as listing:
                entries = list(listing)
        except OSError as exc:
            errors.append(ToolError(f"cannot list folder: {exc.strerror}", exc.filename))
            continue
        folders: list[tuple[str, str]] = []
        for entry in sorted(entries, key=lambda e: e.name):
            name = entry.name
            try:  # the entry's type, or (where the listing has none) a stat of it
                is_dir = entry.is_dir()
                link = entry.is_symlink()
            except OSError:
                is_dir, link = False, False
            if is_dir:
                if recursive and name != "__pycache__" and not name.startswith("."):
                    path = os.path.join(where, name)
                    folders.append((path, os.path.realpath(path) if link
                                    else os.path.join(real, name)))
            elif name.endswith(".py") and not name.startswith((".#", "__init__")):
                found.append((Path(os.path.join(where, name)), link))
        stack += reversed(folders)
    from b03lint import overlay

    found += [(path, False) for path in overlay.new_files(folder, recursive)]
    return found


@record
class RuleSet:
    """The enabled rules, instantiated with their severity and options."""

    rules: list[Rule]
    by_kind: dict[str, list[Rule]]
    enabled_codes: set[str]

    @cached_property
    def file_rules(self) -> list[Rule]:
        """The rules with a whole-file hook."""
        return [r for r in self.rules if type(r).check_file is not Rule.check_file]

    @classmethod
    def from_config(cls, registry: Registry, config: Config,
                    select: Sequence[str] = (), ignore: Sequence[str] = ()) -> RuleSet:
        # from the registry's table alone: only the modules of the chosen rules are imported
        chosen: set[str]
        selectors = list(select) or list(config.get("select"))
        if selectors:
            chosen = {c for s in selectors for c in registry.select_codes(s)}
        else:
            chosen = set(registry.default_codes())
        chosen |= {c for s in config.get("extend_select") for c in registry.select_codes(s)}
        for s in [*config.get("ignore"), *ignore]:
            chosen -= set(registry.select_codes(s))
        severities: dict[str, Severity] = {}
        for ident, sev in config.get("severity").items():
            if sev not in SEVERITIES:
                raise ValueError(f"severity of {ident} must be one of "
                                 f"{', '.join(SEVERITIES)}, not {sev!r}")
            for code in registry.select_codes(ident):
                severities[code] = sev
        options: dict[str, dict[str, Any]] = {}
        for ident, table in config.get("options").items():
            if not isinstance(table, dict):
                raise ValueError(f"options of {ident} must be a table")
            for code in registry.select_codes(ident):
                options.setdefault(code, {}).update(table)
        for s in config.get("per_file_ignores").values():
            for ident in s if isinstance(s, list) else [s]:
                registry.select_codes(ident)  # unknown codes are errors, not silence
        rules = [rule_cls(severities.get(rule_cls.code), options.get(rule_cls.code))
                 for rule_cls in registry.rules(sorted(chosen))]
        by_kind: dict[str, list[Rule]] = {}
        for rule in rules:
            for kind in rule.operation_kinds:
                by_kind.setdefault(kind, []).append(rule)
        return cls(rules, by_kind, chosen)


def _guard(rule: Rule, errors: list[ToolError], debug: bool,
           call: Callable[[], Iterable[Finding]], where: str | None = None) -> list[Finding]:
    """Run one rule hook; a crash in a rule is an error (exit 2), never a traceback."""
    try:
        return list(call())
    except Exception as exc:
        if debug:
            import traceback  # only for a crash (it brings textwrap and linecache)

            detail = traceback.format_exc()
        else:
            detail = f"{type(exc).__name__}: {exc}"
        errors.append(ToolError(f"internal error in rule {rule.code} ({rule.name}): {detail}",
                                where))
        return []


def chain_files(config: Config, errors: list[ToolError]) -> dict[str, Path]:
    """Display path -> path of every revision file of one chain (``config.chain()``); a
    missing folder is an error (exit code 2), except a version folder of an Alembic
    environment beside one that exists, which Alembic skips too."""
    found: dict[str, Path] = {}
    try:
        config = config.chain()
        folders = config.migration_folders()
    except ConfigError as exc:
        errors.append(ToolError(str(exc), exc.path, exc.line))
        return found
    from_alembic = config.env is not None and config.env.source.endswith("]")
    existing = [f for f in folders if f.is_dir()]
    missing = [f for f in folders if f not in existing and not (from_alembic and existing)]
    for folder in missing:
        what = "is not a folder" if folder.exists() else "folder not found"
        origin = config.sources.get("migrations", "default")
        hint = ("set `migrations` in [tool.b03lint] or pass --migrations"
                if origin == "default" else f"from {origin}")
        errors.append(ToolError(f"migrations {what} ({hint})", display_path(folder)))
    # display_path resolves symlinks (a few syscalls per path); resolve each folder once
    # and only look closer at files that are links themselves
    shown_dirs: dict[Path, str] = {}
    for folder in existing:
        for p, link in _discover(folder, errors, config.recursive):
            if link:
                shown = display_path(p)
            else:
                parent = shown_dirs.get(p.parent)
                if parent is None:
                    parent = shown_dirs[p.parent] = display_path(p.parent)
                shown = p.name if parent == "." else f"{parent}/{p.name}"
            found.setdefault(shown, p)
    return found


def load_project(config: Config, rev: str | None = None,
                 registry: Registry | None = None) -> Project:
    """Read the whole chain into a :class:`Project` without running any rule (for the
    commands that query it: show, graph, report, schema, drift, reconcile). A missing
    folder and unreadable files land in ``project.errors``."""
    from b03lint.loader import load_files

    config = config.chain()
    errors: list[ToolError] = []
    paths = chain_files(config, errors)
    files = load_files(sorted(paths.items()), config)
    for mf in files:
        for d in mf.diagnostics:
            if d.fatal:
                errors.append(ToolError(f"{d.code}: {d.message}", d.loc.path, d.loc.line,
                                        d.loc.column + 1))
    return Project(config, registry or default_registry(), files, None, rev, errors)


def lint(
    config: Config,
    paths: Sequence[Path] = (),
    *,
    rev: str | None = None,
    registry: Registry | None = None,
    select: Sequence[str] = (),
    ignore: Sequence[str] = (),
    debug: bool = False,
    baseline: Path | Literal["auto"] | None = "auto",
    environments: Sequence[str] = (),
) -> Result:
    """Lint every chain under ``config`` (only the ``environments`` named, when given; a
    chain's own configuration lints that chain); report file-level findings for ``paths``
    only (every migration when empty). Chain-wide checks always run, each chain with its
    own graph and contract. ``baseline``: a baseline file, ``"auto"`` (the configured
    one, else ``.b03lint-baseline.json`` when it exists) or None (no baseline)."""
    result = Result()
    errors = result.errors
    if registry is None:
        try:
            registry = build_registry(config)
        except RegistryError as exc:
            errors.append(exc.to_error())
            return result
    try:
        ruleset = RuleSet.from_config(registry, config, select, ignore)
    except (KeyError, ValueError) as exc:
        errors.append(ToolError(f"configuration: {exc.args[0] if exc.args else exc}",
                                str(config.pyproject) if config.pyproject else None))
        return result

    try:
        chains = config.chains(environments) if config.env is None else [config]
    except ConfigError as exc:
        errors.append(ToolError(str(exc), exc.path, exc.line))
        return result
    chain_paths = [chain_files(c, errors) for c in chains]
    targets: list[set[str] | None] = [None] * len(chains)
    if paths:
        targets = [set() for _ in chains]
        for given in paths:
            if given.is_dir():
                discovered = discover(given, errors)
            elif given.exists() or given.is_symlink():  # a looping link: read, reported
                discovered = [given]
            else:
                errors.append(ToolError("no such file or folder", display_path(given)))
                continue
            for p in discovered:
                shown = display_path(p)
                i = _chain_of(p, shown, chains, chain_paths)
                chain_paths[i].setdefault(shown, p)
                targets[i].add(shown)  # type: ignore[union-attr]

    from b03lint.cache import one_run

    findings: list[Finding] = []
    projects: list[Project] = []
    all_paths = {shown for found in chain_paths for shown in found}
    # each chain's paths are handed over, and let go once read (_lint_chain)
    for chain, found_paths, chain_targets in zip(chains, chain_paths, targets, strict=True):
        with one_run():  # one instance of the parse cache for the files and the canonical
            project = _lint_chain(chain, found_paths, chain_targets, result, registry,
                                  ruleset, rev, debug)
        projects.append(project)
        name = chain.environment
        findings += [replace(f, environment=name) for f in project.findings] if name else \
            project.findings
    if len(chains) > 1:
        result.environments = [c.env.name for c in chains if c.env is not None]
    final = _baseline(findings, result, config, projects, ruleset, registry, all_paths,
                      baseline)
    result.findings = sort_findings(final)
    return result


def _chain_of(path: Path, shown: str, chains: list[Config],
              chain_paths: list[dict[str, Path]]) -> int:
    """Which chain a file given on the command line belongs to: the one that has it, or
    whose folder holds it; else the first."""
    for i, found in enumerate(chain_paths):
        if shown in found:
            return i
    real = path.absolute().parent.resolve()
    for i, chain in enumerate(chains):
        if any(real.is_relative_to(f.resolve()) for f in chain.migration_folders()):
            return i
    return 0


def _lint_chain(config: Config, chain_paths: dict[str, Path], targets: set[str] | None,
                result: Result, registry: Registry, ruleset: RuleSet, rev: str | None,
                debug: bool) -> Project:
    """Run every rule on one chain; its configured, suppressed findings land in
    ``project.findings`` (the baseline is applied once, to every chain's findings).
    ``chain_paths`` is emptied once read."""
    from b03lint.loader import SpareProcesses, load_files

    errors = result.errors
    project_rules = [r for r in ruleset.rules
                     if type(r).check_project is not Rule.check_project]
    prefetching = bool(project_rules)
    # measured once for the run: after the prefetch forks, its child would count as load
    spare = SpareProcesses(config.get("jobs"))
    if prefetching:  # project rules read the canonical schema: read it beside the files
        from b03lint.schema import canonical

        canonical.prefetch(config, spare,
                           early=any(r.category == "contract" for r in project_rules))
    items = [(shown, chain_paths[shown]) for shown in sorted(chain_paths)]
    chain_paths.clear()  # 20,000 Path objects are 10 MB that nothing needs once read
    files = load_files(items, config, spare)
    del items
    project = Project(config, registry, files, targets, rev, errors)
    project.schema_kinds = frozenset(kind for r in ruleset.rules if r.uses_schema_before
                                     for kind in r.operation_kinds)
    result.files += len(files) if targets is None else len(targets)
    result.checked += [mf.path for mf in files if project.is_target(mf.path)]

    from b03lint.schema.expressions import remembering
    from b03lint.sqlmemo import expression_memo

    memo = expression_memo(config)  # what the replays read of expressions, for next time
    with remembering(memo):
        project.findings = _findings(project, files, ruleset, result, debug)
    if memo is not None:
        memo.flush()
    if prefetching:
        canonical.cancel_prefetch()
    return project


def _findings(project: Project, files: list[MigrationFile], ruleset: RuleSet,
              result: Result, debug: bool) -> list[Finding]:
    """Every finding of one chain: its target files', then the project rules'."""
    errors = result.errors
    raw: list[Finding] = []
    for mf in files:
        if not project.is_target(mf.path):
            continue
        result.operations += len(mf.operations)
        result.unresolved += sum(isinstance(op, Unresolved) for op in mf.operations)
        result.unresolved_data += sum(isinstance(op, Unresolved) and op.data
                                      for op in mf.operations)
        raw += file_findings(project, mf, ruleset, errors, debug)
    return chain_findings(project, raw, ruleset, result, debug)


def file_findings(project: Project, mf: MigrationFile, ruleset: RuleSet,
                  errors: list[ToolError], debug: bool = False) -> list[Finding]:
    """One file's findings as its rules give them: the reader's diagnostics, every
    operation and file rule, waivers applied (not yet configured or suppressed: see
    :func:`chain_findings`). Its fatal diagnostics and rule crashes land in ``errors``.
    The language server calls it for the files an edit can change, and keeps the rest."""
    registry: Registry = project.registry
    found: list[Finding] = [_from_diagnostic(d, registry) for d in mf.diagnostics]
    for d in mf.diagnostics:
        if d.fatal:
            errors.append(ToolError(f"{d.code}: {d.message}", d.loc.path, d.loc.line,
                                    d.loc.column + 1))
    ctx = FileContext(project, mf)
    for op in mf.operations:
        for rule in ruleset.by_kind.get(op.kind, ()):
            if op.phase in rule.phases:
                found += via_operation(_guard(rule, errors, debug, partial(
                    rule.check_operation, op, ctx), mf.path), op)
    for rule in ruleset.file_rules:
        found += _guard(rule, errors, debug, partial(rule.check_file, ctx), mf.path)
    from b03lint.waivers import apply_waivers

    return apply_waivers(mf, found, project.adrs, str(project.config.get("adr_dir")),
                         project.adr_pattern)


def chain_findings(project: Project, raw: list[Finding], ruleset: RuleSet, result: Result,
                   debug: bool = False) -> list[Finding]:
    """The chain's findings from its files' (:func:`file_findings`): the project rules
    added, related locations of helper trails, configuration and suppressions applied."""
    for rule in ruleset.rules:
        if type(rule).check_project is not Rule.check_project:
            raw += _guard(rule, result.errors, debug, partial(rule.check_project, project))
    raw = via_operations(raw, (op for mf in project.files for op in mf.operations))
    return _suppress(_configure(raw, ruleset, project.registry, project.config), result,
                     project, ruleset)


# ----------------------------------------------------------------- suppressions, baseline


def _suppress(findings: list[Finding], result: Result, project: Project,
              ruleset: RuleSet) -> list[Finding]:
    """``# b03lint: ignore[...]`` suppressions, applied once to one chain's configured
    findings; the findings they add (S001-S005) are configured like any other."""
    from b03lint.suppressions import apply_suppressions

    config = project.config
    registry: Registry = project.registry
    s001 = next((r.opts for r in ruleset.rules if r.code == "S001"), {})
    outcome = apply_suppressions(project.files, findings, registry, ruleset.enabled_codes,
                                 project.is_target, s001)
    result.suppressed += outcome.suppressed
    return outcome.kept + _configure(outcome.added, ruleset, registry, config)


def _baseline(findings: list[Finding], result: Result, config: Config,
              projects: list[Project], ruleset: RuleSet, registry: Registry,
              chain_paths: set[str], baseline: Path | Literal["auto"] | None) -> list[Finding]:
    """The baseline, applied once to every chain's findings (one file for the project)."""
    from b03lint import baseline as bl

    try:
        path = bl.resolve(config, baseline)
        if path is None:
            return findings
        shown = display_path(path)
        entries = bl.load(path, shown)
    except bl.BaselineError as exc:
        result.errors.append(ToolError(str(exc), exc.path, exc.line))
        return findings

    def in_scope(rel: str) -> bool:
        where = display_path(config.root / rel)
        return (any(p.is_target(where) for p in projects if where in p.paths)
                or where not in chain_paths)

    applied = bl.apply_baseline(entries, findings, root=config.root, shown=shown,
                                enabled=ruleset.enabled_codes, in_scope=in_scope,
                                registry=registry)
    result.baselined = applied.matched
    return applied.kept + _configure(applied.added, ruleset, registry, config)


def _from_diagnostic(d: Any, registry: Registry) -> Finding:
    rule = registry.get(d.code)
    return Finding.at(d.loc, code=d.code, rule=rule.name if rule else d.code.lower(),
                      severity=d.severity, message=d.message, object=d.object)


def _configure(findings: list[Finding], ruleset: RuleSet, registry: Registry,
               config: Config) -> list[Finding]:
    """Selection, per-file ignores and severity overrides, applied once for all findings
    (the ones from readers and waivers too)."""
    per_file: list[tuple[str, set[str]]] = []
    for pattern, idents in config.get("per_file_ignores").items():
        codes = {c for i in (idents if isinstance(idents, list) else [idents])
                 for c in registry.select_codes(i)}
        per_file.append((pattern, codes))
    by_code = {r.code: r for r in ruleset.rules}
    out: list[Finding] = []
    for f in findings:
        if f.code not in ruleset.enabled_codes and f.code in registry:
            continue
        if any(f.code in codes and fnmatch.fnmatch(f.path, pat) for pat, codes in per_file):
            continue
        rule = by_code.get(f.code)
        if (rule is not None and rule.severity != rule.default_severity
                and f.severity == rule.default_severity):
            f = f.with_severity(rule.severity)
        out.append(f)
    return out
