"""`b03lint init`: adopt b03lint in an existing Alembic project, in one command.

Each step writes what the guide's process needs, is skippable (``--skip STEP``), and never
overwrites a file that exists without ``--force``; running it twice changes nothing:

- ``config``: ``[tool.b03lint]`` in ``pyproject.toml`` (the folders come from
  ``alembic.ini``; several environments become ``[[tool.b03lint.environments]]``);
- ``canonical``: the canonical SQL and its YAML mirror, from the schema the chain builds at
  head (static replay), or from a live database read-only (``--from-database-url-env``);
- ``drift``: an empty drift register with its documented header;
- ``adr``: the ADR folder with a template (``template.md``, which no waiver can cite);
- ``baseline``: today's blocking and warning findings, accepted (``b03lint baseline``);
- ``pre-commit``: a ``b03lint`` hook in ``.pre-commit-config.yaml``;
- ``ci``: ``.github/workflows/b03lint.yml``, the workflow of b03lint's docs/ci.md.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from b03lint import __version__
from b03lint.commands.canonical import print_error

if TYPE_CHECKING:
    from b03lint.config import Config
    from b03lint.scaffold import ProjectPlan
    from b03lint.schema.model import Schema

HELP = ("adopt b03lint in an existing Alembic project: configuration, canonical schema, "
        "drift register, ADR folder, baseline, pre-commit hook and CI workflow")

STEPS = ("config", "canonical", "drift", "adr", "baseline", "pre-commit", "ci")
#: ADR folders looked for, in this order, and the pattern their files suggest
_ADR_DIRS = ("docs/architecture/adr", "docs/adr", "doc/adr", "docs/decisions", "adr",
             "decisions")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--force", action="store_true",
                   help="overwrite the files that exist (without it, nothing is overwritten)")
    p.add_argument("--skip", action="append", default=[], metavar="STEP",
                   help=f"skip a step (repeatable, or comma-separated): {', '.join(STEPS)}")
    p.add_argument("--alembic-ini", type=Path, metavar="FILE",
                   help="the Alembic configuration (default: alembic.ini here)")
    p.add_argument("--migrations", metavar="FOLDER",
                   help="the version folder, for a project without alembic.ini")
    p.add_argument("--adr-dir", metavar="FOLDER",
                   help="the ADR folder (default: an existing one, else docs/architecture/adr)")
    p.add_argument("--adr-pattern", metavar="PATTERN",
                   help="how ADRs are named: guide, adr-tools, madr (default: what the ADR "
                        "folder's files look like, else guide)")
    p.add_argument("--from-database-url-env", metavar="VAR",
                   help="write the canonical schema from the live database whose URL is in "
                        "the environment variable VAR (read-only; never printed)")
    p.add_argument("--schema", default="public",
                   help="the database schema to read with --from-database-url-env")
    p.add_argument("--env", metavar="NAME",
                   help="the environment the database describes, when there are several")
    p.add_argument("--requirement", metavar="SPEC", default=f"b03lint=={__version__}",
                   help="the pip requirement pre-commit and CI install b03lint from "
                        f"(default: b03lint=={__version__}; a path, or "
                        "'b03lint @ git+URL@REV')")
    p.add_argument("--pre-commit-repo", metavar="URL",
                   help="use the hooks of b03lint's repository at URL (with "
                        "--pre-commit-rev) instead of a local hook")
    p.add_argument("--pre-commit-rev", metavar="REV",
                   help="a tag or a commit of --pre-commit-repo")


@dataclass
class Report:
    """What each step did, printed at the end."""

    lines: list[str] = field(default_factory=list)
    failed: bool = False
    written: list[str] = field(default_factory=list)

    def add(self, verb: str, what: str, note: str = "") -> None:
        self.lines.append(f"  {verb:<8} {what}{f'  ({note})' if note else ''}")
        if verb in ("wrote", "updated"):
            self.written.append(what.split(" ", 1)[0])

    def fail(self, what: str, why: str) -> None:
        self.add("FAILED", what, why)
        self.failed = True


def _shown(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def _write(path: Path, text: str, root: Path, report: Report, force: bool,
           what: str = "") -> bool:
    """Write ``text`` unless ``path`` exists (and no --force); say which."""
    shown = _shown(path, root) + (f" {what}" if what else "")
    if path.exists() and not force:
        same = path.is_file() and path.read_text(encoding="utf-8", errors="replace") == text
        report.add("kept", shown, "unchanged" if same else "exists; --force overwrites it")
        return False
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        report.fail(shown, f"cannot write: {exc.strerror or exc}")
        return False
    report.add("wrote", shown)
    return True


def run(args: argparse.Namespace) -> int:
    skip = {s.strip() for item in args.skip for s in item.split(",") if s.strip()}
    unknown = sorted(skip - set(STEPS))
    if unknown:
        print(f"error: unknown step(s) {', '.join(unknown)} (steps: {', '.join(STEPS)})",
              file=sys.stderr)
        return 2
    if bool(args.pre_commit_repo) != bool(args.pre_commit_rev):
        print("error: --pre-commit-repo and --pre-commit-rev go together (rev: a tag or a "
              "commit of that repository)", file=sys.stderr)
        return 2
    root = Path.cwd()
    report = Report()
    config = _config_step(args, root, report, "config" in skip)
    if config is None:
        for line in report.lines:
            print(line)
        return 2
    if "canonical" not in skip:
        _canonical_step(args, config, root, report)
    if "drift" not in skip:
        from b03lint.scaffold import drift_register

        for chain in config.chains():
            path = chain.path("drift_register")
            if path is not None:
                _write(path, drift_register(), root, report, args.force)
    if "adr" not in skip:
        from b03lint.scaffold import adr_template

        folder = config.path("adr_dir")
        if folder is not None:
            _write(folder / "template.md", adr_template(), root, report, args.force)
    if "baseline" not in skip:
        _baseline_step(args, config, root, report)
    top = _repository_top(root)
    if "pre-commit" not in skip:
        _precommit_step(args, config, root, top, report)
    if "ci" not in skip:
        from b03lint.scaffold import workflow

        workdir = _shown(root, top) if root.resolve() != top.resolve() else "."
        _write(top / ".github/workflows/b03lint.yml", workflow(args.requirement, workdir),
               root, report, args.force)
    print(f"b03lint init in {root}:")
    for line in report.lines:
        print(line)
    if report.failed:
        print("some steps failed (above); fix them and run `b03lint init` again",
              file=sys.stderr)
        return 2
    if report.written:
        print(f"next: b03lint check   (then commit: git add {' '.join(report.written)})")
    else:
        print("nothing to write: the project is set up (next: b03lint check)")
    return 0


# --------------------------------------------------------------------------- config


def _config_step(args: argparse.Namespace, root: Path, report: Report,
                 skipped: bool) -> Config | None:
    from b03lint.config import ConfigError, load_config
    from b03lint.scaffold import pyproject_table, replace_table

    pyproject = root / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8") if pyproject.is_file() else ""
    has_table = any(line.strip() in ("[tool.b03lint]", "[[tool.b03lint.environments]]")
                    for line in text.splitlines())
    try:
        if skipped or (has_table and not args.force):
            if has_table:
                report.add("kept", "pyproject.toml [tool.b03lint]",
                           "exists; --force rewrites it")
            else:
                report.add("skipped", "pyproject.toml [tool.b03lint]", "--skip config")
            config = load_config(start=root,
                                 explicit=pyproject if pyproject.is_file() else None)
            config.environments()
            return config
        plan = _plan(args, root)
        if plan is None:
            report.fail("pyproject.toml", "no Alembic project here: no alembic.ini (pass "
                        "--alembic-ini FILE) and no alembic/versions or migrations/versions "
                        "(pass --migrations FOLDER)")
            return None
        new = replace_table(text, pyproject_table(plan))
        pyproject.write_text(new, encoding="utf-8")
        report.add("updated" if text else "wrote", "pyproject.toml [tool.b03lint]",
                   "; ".join(plan.notes))
        config = load_config(explicit=pyproject)
        config.environments()
        return config
    except ConfigError as exc:
        where = f"{exc.path}:{exc.line}" if exc.path and exc.line else (exc.path or "")
        report.fail("configuration", f"{where + ': ' if where else ''}{exc}")
        return None
    except OSError as exc:
        report.fail("pyproject.toml", f"cannot write: {exc.strerror or exc}")
        return None


def _plan(args: argparse.Namespace, root: Path) -> ProjectPlan | None:
    from b03lint.alembic_ini import read_environments, read_pyproject
    from b03lint.config import ConfigError
    from b03lint.scaffold import ChainPlan, ProjectPlan

    ini = (args.alembic_ini or Path("alembic.ini"))
    ini = ini if ini.is_absolute() else root / ini
    names: list[str] = []
    migrations: str | None = None
    alembic_ini: str | None = None
    notes: list[str] = []
    if ini.is_file() and not args.migrations:
        from b03lint.alembic_ini import AlembicConfigError

        try:
            envs = read_environments(ini)
        except AlembicConfigError as exc:
            raise ConfigError(str(exc), str(exc.path), exc.line) from None
        if not envs:
            raise ConfigError("no section sets `script_location` (pass --migrations FOLDER)",
                              str(ini))
        names = [e.name for e in envs]
        if ini.resolve() != (root / "alembic.ini").resolve():
            alembic_ini = _shown(ini, root)
        notes.append(f"{len(envs)} environment(s) from {_shown(ini, root)}: "
                     + ", ".join(names))
    elif args.migrations:
        migrations = args.migrations
    else:
        toml = read_pyproject(root / "pyproject.toml") if (root / "pyproject.toml").is_file() \
            else None
        if toml is not None:
            names = [toml.name]
            notes.append("the folders of [tool.alembic]")
        else:
            found = next((c for c in ("alembic/versions", "migrations/versions")
                          if (root / c).is_dir()), None)
            if found is None:
                return None
            migrations = found
    several = len(names) > 1
    chains: list[ChainPlan] = []
    for name in names or ["default"]:
        base = f"db/schema/{name}" if several else "db/schema"
        chains.append(ChainPlan(
            name=name, canonical_sql=f"{base}/canonical_schema.sql",
            canonical_yaml=f"{base}/canonical_schema.yaml",
            drift_register=f"{base}/drift_register.yaml",
            alembic_section=name if several else None,
            migrations=migrations))
    adr_dir, adr_pattern = _adr_choice(args, root)
    return ProjectPlan(chains, adr_dir, adr_pattern, ".b03lint-baseline.json", alembic_ini,
                       notes)


def _adr_choice(args: argparse.Namespace, root: Path) -> tuple[str, str]:
    from b03lint.waivers import ADR_PATTERNS

    folder = args.adr_dir or next((d for d in _ADR_DIRS if (root / d).is_dir()),
                                  "docs/architecture/adr")
    if args.adr_pattern:
        return folder, args.adr_pattern
    names = [p.name for p in (root / folder).iterdir()] if (root / folder).is_dir() else []
    for pattern in ("guide", "adr-tools"):
        if any(ADR_PATTERNS[pattern].file.match(n) for n in names):
            return folder, "madr" if folder.endswith("decisions") and pattern != "guide" \
                else pattern
    return folder, "madr" if folder.endswith("decisions") else "guide"


# --------------------------------------------------------------------------- canonical


def _canonical_step(args: argparse.Namespace, config: Config, root: Path,
                    report: Report) -> None:
    from b03lint.commands.canonical import yaml_mirror

    chains = config.chains()
    live_for = None
    if args.from_database_url_env:
        if len(chains) > 1 and not args.env:
            report.fail("canonical schema", "--from-database-url-env: the project has "
                        f"{len(chains)} environments; say which one the database describes "
                        "with --env NAME")
            return
        live_for = args.env or (chains[0].env.name if chains[0].env else None)
    for chain in chains:
        sql_path, yaml_path = chain.path("canonical_sql"), chain.path("canonical_yaml")
        if sql_path is None:
            report.add("skipped", "canonical schema", "canonical_sql is not configured")
            continue
        env_name = chain.env.name if chain.env else None
        if not sql_path.exists() or args.force:
            live = live_for is not None and env_name == live_for
            schema = _live_schema(args, report) if live else _replayed_schema(chain, report)
            if schema is None:
                continue
            from b03lint.schema.emit import schema_to_sql

            origin = (f"the live database (schema {args.schema}) read by `b03lint init`" if live
                      else "the schema the migration chain builds at head (`b03lint init`)")
            text = (f"-- Canonical executable schema, written from {origin}.\n"
                    "-- From now on it is the source of truth: change it through an ADR, and "
                    "the chain with it.\n\n" + schema_to_sql(schema))
            _write(sql_path, text, root, report, True)
        else:
            _write(sql_path, "", root, report, False)
        if yaml_path is None:
            continue
        if yaml_path.exists() and not args.force:
            report.add("kept", _shown(yaml_path, root), "exists; --force overwrites it")
            continue
        mirror = yaml_mirror(chain, sql_path, yaml_path if yaml_path.exists() else None,
                             _shown(yaml_path, root))
        if mirror is None:
            report.fail(_shown(yaml_path, root), "the YAML mirror could not be written "
                        "(the errors above)")
            continue
        _write(yaml_path, mirror, root, report, True)


def _replayed_schema(chain: Config, report: Report) -> Schema | None:
    from b03lint.contract import project_replay
    from b03lint.engine import load_project

    project = load_project(chain)
    if project.errors:
        for err in project.errors:
            print(err, file=sys.stderr)
        report.fail("canonical schema", "the chain could not be read completely (the "
                    "errors above), so its schema is not known")
        return None
    replay = project_replay(project, None, label="migrations at head")
    for op in replay.unknown_anywhere:
        print_error(f"{op.describe()}: not known statically, so the canonical schema may "
                    "miss what it does; check it by hand", op.loc.path, op.loc.line,
                    "warning")
    return replay.schema


def _live_schema(args: argparse.Namespace, report: Report) -> Schema | None:
    """The schema of the live database, read in a read-only transaction."""
    url = os.environ.get(args.from_database_url_env, "").strip()
    if not url:
        report.fail("canonical schema", f"the environment variable "
                    f"{args.from_database_url_env} is not set (or empty)")
        return None
    from b03lint.live import LiveError
    from b03lint.live.connect import Target, explain
    from b03lint.live.introspect import introspect
    from b03lint.live.redact import scrub

    try:
        target = Target.parse(url)
        readonly = Target({**target.params, "options": (
            target.params.get("options", "") + " -c default_transaction_read_only=on"
        ).strip()})
        import psycopg

        try:
            with readonly.connect() as conn:
                snap = introspect(conn, target.label(), schema=args.schema)
        except psycopg.Error as exc:
            raise explain(exc, f"cannot read the catalog of {target.label()}") from None
    except LiveError as exc:
        report.fail("canonical schema", scrub(str(exc)))
        return None
    return snap.schema


# --------------------------------------------------------------------------- baseline


def _baseline_step(args: argparse.Namespace, config: Config, root: Path,
                   report: Report) -> None:
    from b03lint.baseline import DEFAULT_FILE, BaselineError, write
    from b03lint.engine import lint

    target = config.path("baseline") or config.root / DEFAULT_FILE
    shown = _shown(target, root)
    if target.exists() and not args.force:
        report.add("kept", shown, "exists; --force rewrites it")
        return
    result = lint(config, baseline=None)
    if result.errors:
        for e in result.errors:
            print(e, file=sys.stderr)
        report.fail(shown, f"the check could not complete ({len(result.errors)} error(s) "
                    "above), so there is no baseline to write")
        return
    try:
        entries = write(target, result.findings, config.root)
    except BaselineError as exc:
        report.fail(shown, str(exc))
        return
    total = sum(e.count for e in entries)
    report.add("wrote", shown, f"{total} blocking/warning finding(s) of today accepted")


# --------------------------------------------------------------------------- pre-commit


def _repository_top(root: Path) -> Path:
    from b03lint.changes import GitError, repository_root

    try:
        return repository_root(root)
    except GitError:
        return root


def _precommit_step(args: argparse.Namespace, config: Config, root: Path, top: Path,
                    report: Report) -> None:
    import yaml

    from b03lint.scaffold import (
        hook_files_regex,
        precommit_config,
        precommit_local,
        precommit_remote,
    )

    folders = [_shown(f, top) for chain in config.chains() for f in chain.migration_folders()]
    project_files: list[str] = []
    for chain in config.chains():
        for key in ("canonical_sql", "canonical_yaml", "drift_register"):
            path = chain.path(key)
            if path is not None and _shown(path, top) not in project_files:
                project_files.append(_shown(path, top))
    files = hook_files_regex(folders, project_files)
    entry = (precommit_remote(args.pre_commit_repo, args.pre_commit_rev, files)
             if args.pre_commit_repo else precommit_local(args.requirement, files))
    path = top / ".pre-commit-config.yaml"
    if not path.exists() or (args.force and _only_ours(path)):
        _write(path, precommit_config(entry), root, report, True)
        return
    text = path.read_text(encoding="utf-8")
    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        report.fail(_shown(path, root), f"invalid YAML, not changed: {exc}")
        return
    repos = doc.get("repos") if isinstance(doc, dict) else None
    hooks = [h for r in repos or [] if isinstance(r, dict) for h in r.get("hooks") or []
             if isinstance(h, dict)]
    if any(h.get("id") in ("b03lint", "b03lint-schema") for h in hooks):
        report.add("kept", _shown(path, root), "it already has a b03lint hook")
        return
    if not isinstance(doc, dict) or not isinstance(repos, list) or list(doc)[-1] != "repos":
        report.fail(_shown(path, root), "add this entry under `repos:` by hand:\n" + entry)
        return
    path.write_text(text + ("" if text.endswith("\n") else "\n") + entry, encoding="utf-8")
    report.add("updated", _shown(path, root), "b03lint hook added")


def _only_ours(path: Path) -> bool:
    """A .pre-commit-config.yaml that init wrote and nobody changed since (so --force
    may rewrite it); any other is only ever added to."""
    text = path.read_text(encoding="utf-8", errors="replace")
    return text.startswith("repos:\n  # b03lint, written by `b03lint init`") and \
        text.count("- repo:") == 1
