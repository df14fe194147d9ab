"""`b03lint check`: lint the migration chain."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from b03lint.commands.common import add_project_arguments, project_config, write_output

if TYPE_CHECKING:
    from b03lint.config import Config
    from b03lint.engine import Result

HELP = "lint migrations (default command): destructive DDL, the revision graph, the contract"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                   help="migration files or folders to report on (default: the whole chain); "
                        "chain-wide checks always see every migration")
    add_project_arguments(p)
    p.add_argument("--rev", metavar="REV",
                   help="check the chain as of this revision (id, prefix, head, base)")
    p.add_argument("--select", action="append", default=[], metavar="RULE",
                   help="only these rules (code, name, prefix or category; repeatable)")
    p.add_argument("--ignore", action="append", default=[], metavar="RULE",
                   help="skip these rules (repeatable)")
    from b03lint.reporters import FORMATS

    p.add_argument("--output-format", choices=sorted(FORMATS), default="text",
                   help="output format (default: text)")
    p.add_argument("-o", "--output", type=Path, metavar="FILE",
                   help="write the report to FILE instead of standard output")
    p.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    p.add_argument("--frames", choices=("auto", "always", "never"), default="auto",
                   help="code frames under each finding of the text format (default: on a "
                        "terminal only)")
    # -- CI mode and baseline (issue 5) --
    scope = p.add_mutually_exclusive_group()
    scope.add_argument("--changed-since", metavar="REF",
                       help="report on the migrations changed since the merge base of REF "
                            "and HEAD (committed, staged and unstaged; chain-wide checks "
                            "still run); when none changed, print 'No candidate migrations "
                            "detected; skipping.' and exit 0")
    scope.add_argument("--all", action="store_true",
                       help="report on every migration (the default without PATHs)")
    base = p.add_mutually_exclusive_group()
    base.add_argument("--baseline", type=Path, metavar="FILE",
                      help="report only findings not in this baseline file (default: "
                           "`baseline` of [tool.b03lint], else .b03lint-baseline.json when "
                           "it exists)")
    base.add_argument("--no-baseline", action="store_true",
                      help="ignore any baseline file: report every finding")
    p.add_argument("--defer-to-hook", metavar="ID",
                   help="(for the b03lint-schema pre-commit hook) do nothing when the "
                        "repository's .pre-commit-config.yaml also runs the hook ID, which "
                        "checks the same files: no finding is printed twice")
    p.add_argument("--no-cache", dest="cache", action="store_false", default=None,
                   help="neither read nor write the parse cache (config: cache = false)")
    p.add_argument("--no-result-cache", dest="result_cache", action="store_false",
                   default=True,
                   help="run in full even when no input changed since an identical run "
                        "(the parse cache still serves; the result is stored again)")
    p.add_argument("--jobs", "-j", type=int, metavar="N",
                   help="processes that parse uncached files (0 = automatic, 1 = no "
                        "parallelism; config: jobs)")
    # -- fixes (issue 18) --
    fixes = p.add_argument_group("fixes", "rewrite the migrations (libcst: comments and "
                                 "formatting kept) to resolve the findings that have a fix")
    fixes.add_argument("--fix", action="store_true",
                       help="apply the safe fixes, then report what remains")
    fixes.add_argument("--unsafe-fixes", action="store_true",
                       help="apply the unsafe fixes too (the destructive-DDL waiver, which "
                            "needs --adr)")
    fixes.add_argument("--diff", action="store_true",
                       help="print the fixes as a unified diff instead of writing them "
                            "(exit code 1 when there is one, else 0, as ruff's)")
    fixes.add_argument("--adr", metavar="ADR-ID",
                       help="the ADR the waiver fix cites (# CI:DESTRUCTIVE_OK - See "
                            "ADR-<id>); it must have a file in adr_dir")


def _split(values: list[str]) -> list[str]:
    return [v.strip() for item in values for v in item.split(",") if v.strip()]


def run(args: argparse.Namespace) -> int:
    from b03lint.engine import lint
    from b03lint.reporters import SAYS_SKIPPED

    config = project_config(args)
    if args.cache is False:
        config.set("cache", False, "flag --no-cache")
    from b03lint.runcache import recording

    recorder = recording()
    if recorder is not None and config.get("cache"):
        # the result of this run is stored in the project's cache, beside the parses
        cache_dir = config.path("cache_dir")
        recorder.cache_dir = str(cache_dir) if cache_dir is not None else None
    if args.jobs is not None:
        if args.jobs < 0:
            print("b03lint: error: --jobs must be 0 (automatic) or more", file=sys.stderr)
            return 2
        config.set("jobs", args.jobs, "flag --jobs")
    # a check builds a large, long-lived, acyclic object graph: collecting every 700
    # allocations walked it over and over (a warm 5,000-revision check ran 35% slower)
    import gc

    gc.set_threshold(50_000, 20, 100)
    # -- CI mode and baseline (issue 5) --
    if (args.changed_since or args.all) and args.paths:
        flag = "--all" if args.all else "--changed-since"
        print(f"error: {flag} cannot be combined with PATH arguments", file=sys.stderr)
        return 2
    if args.defer_to_hook and _configured_hook(args.defer_to_hook):
        return 0
    paths: list[Path] = list(args.paths)
    if paths and any(_project_file(p, config) for p in paths):
        # the canonical schema, the register or a rule changed: every migration is affected
        paths = []
    skipped: str | None = None
    if args.changed_since:
        from b03lint.changes import SKIP_MESSAGE, GitError, changed_migrations
        from b03lint.config import ConfigError

        try:
            chains = config.chains(args.env)
        except ConfigError:
            chains = []  # lint() reports it
        folders = [(f, c.recursive) for c in chains for f in c.migration_folders()
                   if f.is_dir()]
        if folders:
            try:
                paths = sorted({p for folder, recursive in folders
                                for p in changed_migrations(args.changed_since, folder,
                                                            config.root, recursive)})
            except GitError as exc:
                print(f"error: --changed-since {args.changed_since}: {exc}", file=sys.stderr)
                return 2
            if not paths:
                skipped = SKIP_MESSAGE
    baseline: Path | Literal["auto"] | None = "auto"
    if args.no_baseline:
        baseline = None
    elif args.baseline is not None:
        baseline = args.baseline.resolve()
    if args.adr is not None and not (args.fix or args.unsafe_fixes or args.diff):
        print("b03lint: error: --adr names the ADR of the waiver fix: use it with "
              "--unsafe-fixes (or --diff --unsafe-fixes)", file=sys.stderr)
        return 2
    if skipped is None and (args.fix or args.unsafe_fixes or args.diff):
        return _fix(args, config, lambda: lint(
            config, paths, rev=args.rev, select=_split(args.select),
            ignore=_split(args.ignore), debug=args.debug, baseline=baseline,
            environments=args.env))
    if skipped is not None:
        from b03lint.engine import Result

        result = Result(skipped=skipped)
    else:
        result = lint(config, paths, rev=args.rev, select=_split(args.select),
                      ignore=_split(args.ignore), debug=args.debug, baseline=baseline,
                      environments=args.env)
    if not _report(args, config, result):
        return 2
    if result.skipped and (args.output is not None or args.output_format not in SAYS_SKIPPED):
        # the job log must say it (guide 5.2), without breaking a machine format on stdout
        print(result.skipped, file=sys.stdout if args.output is not None else sys.stderr)
    return result.exit_code


def _report(args: argparse.Namespace, config: Config, result: Result) -> bool:
    from b03lint import __version__
    from b03lint.reporters import ReportOptions, renderer

    to_terminal = args.output is None and sys.stdout.isatty()
    color = args.color == "always" or (args.color == "auto" and to_terminal
                                       and "NO_COLOR" not in os.environ)
    frames = args.frames == "always" or (args.frames == "auto" and to_terminal)
    text = renderer(args.output_format)(
        result, ReportOptions(color=color, root=str(config.root), tool_version=__version__,
                              frames=frames))
    return write_output(text, args.output)


def _fix(args: argparse.Namespace, config: Config, lint: Callable[[], Result]) -> int:
    """``--fix`` / ``--unsafe-fixes`` / ``--diff``: fix round after round, then report
    what remains (or print the diff); the counts go to standard error."""
    from b03lint.fixes import FixError
    from b03lint.fixes.session import fix_run, unified_diff
    from b03lint.paths import display_path
    from b03lint.runcache import recording

    recorder = recording()
    if recorder is not None:
        recorder.doubt("fixes write files")  # never served from the result cache
    try:
        outcome = fix_run(config, lint, unsafe=args.unsafe_fixes, write=not args.diff,
                          adr=args.adr)
    except FixError as exc:
        print(f"b03lint: error: {exc}", file=sys.stderr)
        return 2
    result = outcome.result
    for problem in outcome.problems:
        print(problem, file=sys.stderr)
    counts = ", ".join(f"{code} x{n}" for code, n in sorted(outcome.fixed.items()))
    new = sorted(p for p, (before, _) in outcome.changed.items() if before is None)
    if args.diff:
        sys.stdout.write(unified_diff(outcome.changed, display_path))
        if outcome.count:
            print(f"Would fix {outcome.count} finding(s) ({counts}) in "
                  f"{len(outcome.changed) - len(new)} file(s)"
                  + (f", creating {len(new)} migration(s)" if new else ""), file=sys.stderr)
        else:
            print("No fixes available.", file=sys.stderr)
    else:
        if not _report(args, config, result):
            return 2
        if outcome.count:
            print(f"Fixed {outcome.count} finding(s) ({counts}) in "
                  f"{len(outcome.changed) - len(new)} file(s); "
                  f"{len(result.findings)} finding(s) remain.", file=sys.stderr)
            for path in new:
                print(f"Wrote the new migration {display_path(path)}", file=sys.stderr)
        else:
            print(f"No fixes applied; {len(result.findings)} finding(s) remain.",
                  file=sys.stderr)
    if outcome.unsafe_left:
        print(f"{outcome.unsafe_left} more fix(es) with --unsafe-fixes.", file=sys.stderr)
    if args.adr is None and any(f.data.get("waivable") and f.blocking
                                for f in result.findings):
        print("Destructive steps can be waived with --unsafe-fixes --adr ADR-<id> (an ADR "
              f"in {config.get('adr_dir')}).", file=sys.stderr)
    if outcome.problems or result.exit_code in (2, 130):
        return result.exit_code if result.exit_code == 130 else 2
    if args.diff:
        # as ruff: 1 when there is something to fix, whatever else remains
        return 1 if outcome.count else 0
    return result.exit_code


def _project_file(path: Path, config: Config) -> bool:
    """A file whose change affects the whole chain: any file that is not Python (a
    canonical file, a drift register, the baseline, the configuration), or a file of the
    project's rules."""
    from b03lint.config import ConfigError

    if path.is_file() and path.suffix != ".py":
        return True
    try:
        real = path.resolve()
    except (RuntimeError, OSError):  # a symlink loop: a file the engine reports
        return False
    wanted = {config.pyproject, config.path("alembic_ini"), config.path("baseline")}
    try:
        for chain in config.chains():
            wanted |= {chain.path(k) for k in ("canonical_sql", "canonical_yaml",
                                                "drift_register")}
    except ConfigError:
        pass
    if real in {w.resolve() for w in wanted if w is not None}:
        return True
    for folder in config.get("rules_dirs"):
        base = (config.root / folder).resolve()
        if real.is_relative_to(base) and real.suffix in (".yaml", ".yml", ".py"):
            return True
    return False


def _configured_hook(hook_id: str) -> bool:
    """Whether the .pre-commit-config.yaml of the repository (pre-commit runs hooks at its
    top) runs the hook ``hook_id``."""
    import yaml

    try:
        doc = yaml.safe_load(Path(".pre-commit-config.yaml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False
    repos = doc.get("repos") if isinstance(doc, dict) else None
    return any(isinstance(h, dict) and h.get("id") == hook_id
               for r in repos or [] if isinstance(r, dict)
               for h in r.get("hooks") or [])
