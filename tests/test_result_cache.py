"""The whole-run result cache (b03lint/runcache.py): a re-run with nothing changed prints
exactly what a full run prints, and a change to any input is a fresh run.

Every run here is the real command (``python -m b03lint``) in a fresh process, on a private
copy of the bundled example (chain, canonical SQL and YAML, drift register, ADRs, YAML
rules), with its own per-user secret (``XDG_CACHE_HOME``). Whether a run *would* be served
is asked in a separate process with the same streams, so the answer never comes from the
run itself.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from b03lint import runcache
from b03lint.reporters import FORMATS

PROBE = """\
import sys
from b03lint import runcache
print("served" if runcache.lookup(["check", *sys.argv[1:]]) is not None else "miss")
"""

RULE_MODULE = '''\
"""A team's own rule."""
from b03lint.rules.base import Example, Rule


def _mig(body):
    return ('revision = "a1"\\ndown_revision = None\\n\\n\\n'
            'def upgrade():\\n' + body + '\\n')


class NoTempTables(Rule):
    """
    What it does:
        Flags a table whose name starts with ``tmp_``.

    Why it matters:
        Temporary tables belong in a session, not in the schema.

    Example:
        ``op.create_table("tmp_events")``

    How to fix:
        Use ``CREATE TEMPORARY TABLE`` in the code that needs it.
    """

    code = "X901"
    name = "no-temp-tables"
    category = "project"
    operation_kinds = frozenset({"create_table"})
    invalid = (Example(_mig('    op.create_table("tmp_events")'), line=6),)
    valid = (Example(_mig('    op.create_table("events")')),)

    def check_operation(self, op, ctx):
        if op.table.startswith("tmp_"):
            yield self.finding(op.loc, f"{op.table} looks temporary", object=op.table)
'''


def _env(root: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("NO_COLOR", "FORCE_COLOR", "PYTHONDONTWRITEBYTECODE")}
    env["XDG_CACHE_HOME"] = str(root.parent / "xdg")
    env.update(extra)
    return env


def _check(root: Path, *args: str, **env: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "b03lint", "check", *args], cwd=root,
                          env=_env(root, **env), capture_output=True, timeout=120)


def _served(root: Path, *args: str, **env: str) -> bool:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=root,
                          env=_env(root, **env), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip() == "served"


def _age(*paths: Path) -> None:
    """Date a path (and its folder) ten seconds back: an edit the developer made a moment
    before the run, not during it (a file changed just before a run is not trusted)."""
    past = time.time() - 10
    for path in paths:
        for p in (path, path.parent):
            if p.exists():
                os.utime(p, (past, past))


def _age_tree(root: Path) -> None:
    past = time.time() - 10
    for dirpath, _dirs, files in os.walk(root):
        for name in [*files, "."]:
            os.utime(os.path.join(dirpath, name), (past, past))


@pytest.fixture()
def project(example_copy: Path) -> Path:
    (example_copy / "project_rules.py").write_text(RULE_MODULE)
    with (example_copy / "pyproject.toml").open("a") as fh:
        fh.write('\n[tool.b03lint.options]\n')
    text = (example_copy / "pyproject.toml").read_text()
    text = text.replace("[tool.b03lint]\n",
                        '[tool.b03lint]\nrule_modules = ["project_rules.py"]\n', 1)
    (example_copy / "pyproject.toml").write_text(text)
    _age_tree(example_copy)
    return example_copy


def _append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as fh:
        fh.write(text)
    _age(path)


def test_a_rerun_is_served_and_every_input_makes_it_fresh(project: Path) -> None:
    first = _check(project)
    assert first.returncode in (0, 1), first.stderr
    assert _served(project)
    again = _check(project)
    assert (again.stdout, again.stderr, again.returncode) == \
        (first.stdout, first.stderr, first.returncode)

    # a touch that changes no byte keeps the result: inputs are keyed by content
    migration = sorted((project / "alembic" / "versions").rglob("*.py"))[-1]
    os.utime(migration, (time.time() - 5, time.time() - 5))
    assert _served(project)

    def migration_edit() -> None:
        _append(migration, "\n# edited\n")

    def new_migration() -> None:
        path = migration.parent / "zz_notes.py"
        path.write_text('"""not a revision"""\n')
        _age(path)

    def configuration() -> None:
        _append(project / "pyproject.toml", "\"C001\" = { }\n")

    def yaml_rule() -> None:
        _append(sorted((project / "rules").glob("*.yaml"))[0], "\n# edited\n")

    def rule_module() -> None:
        _append(project / "project_rules.py", "\n# edited\n")

    def canonical_sql() -> None:
        _append(project / "db" / "schema" / "canonical_schema.sql", "\n-- edited\n")

    def canonical_yaml() -> None:
        _append(project / "db" / "schema" / "canonical_schema.yaml", "\n# edited\n")

    def drift_register() -> None:
        _append(project / "db" / "schema" / "drift_register.yaml", "\n# edited\n")

    def adr_listing() -> None:
        path = project / "docs" / "architecture" / "adr" / "ADR-999-new.md"
        path.write_text("# ADR-999\n")
        _age(path)

    def baseline() -> None:
        done = subprocess.run([sys.executable, "-m", "b03lint", "baseline"], cwd=project,
                              env=_env(project), capture_output=True, timeout=120)
        assert done.returncode == 0, done.stderr
        _age(project / ".b03lint-baseline.json")

    def baseline_edit() -> None:
        path = project / ".b03lint-baseline.json"
        path.write_text(path.read_text().replace("{", "{ ", 1))
        _age(path)

    def migration_to_link() -> None:
        # the same bytes, now behind a symlink: discovery reads that from the folder's
        # listing (no stat of each file), and the finding's path names the link's target;
        # outside the project, whose own listings a new folder would change anyway
        elsewhere = project.parent / "elsewhere"
        elsewhere.mkdir()
        copy = elsewhere / migration.name
        copy.write_bytes(migration.read_bytes())
        migration.unlink()
        migration.symlink_to(copy)
        _age(copy, migration)

    for change in (migration_edit, new_migration, configuration, yaml_rule, rule_module,
                   canonical_sql, canonical_yaml, drift_register, adr_listing, baseline,
                   baseline_edit, migration_to_link):
        change()
        assert not _served(project), f"{change.__name__}: a changed input was served"
        fresh = _check(project)
        uncached = _check(project, "--no-cache")
        assert (fresh.stdout, fresh.stderr, fresh.returncode) == \
            (uncached.stdout, uncached.stderr, uncached.returncode), change.__name__
        assert _served(project), f"{change.__name__}: the fresh result was not stored"


def test_the_command_line_and_the_environment_are_part_of_the_key(project: Path) -> None:
    assert _check(project).returncode in (0, 1)
    assert _served(project)
    for args in (["--select", "D"], ["--ignore", "D001"], ["--output-format", "json"],
                 ["--rev", "head"], ["alembic/versions"], ["--no-baseline"]):
        assert not _served(project, *args), args
    # the text reporter reads the terminal's width: a variable the run read is recorded
    assert not _served(project, COLUMNS="61")


def test_versions_and_working_folder_name_the_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    argv = ["check"]
    name = runcache.entry_name(argv, "/p")
    assert runcache.entry_name(["check", "--select", "D"], "/p") != name
    assert runcache.entry_name(argv, "/q") != name
    monkeypatch.setattr(runcache, "__version__", "999")
    assert runcache.entry_name(argv, "/p") != name
    monkeypatch.undo()
    monkeypatch.setattr(sys, "version", sys.version + " (another build)")
    assert runcache.entry_name(argv, "/p") != name


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_served_output_is_byte_identical_in_every_format(project: Path, fmt: str) -> None:
    report = project / f"report.{fmt}"
    uncached = _check(project, "--no-cache", "--output-format", fmt)
    recorded = _check(project, "--output-format", fmt)
    assert _served(project, "--output-format", fmt)
    served = _check(project, "--output-format", fmt)
    for run in (recorded, served):
        assert (run.stdout, run.stderr, run.returncode) == \
            (uncached.stdout, uncached.stderr, uncached.returncode)
    # and to a file: the file is written again, byte for byte
    _check(project, "--output-format", fmt, "-o", str(report))
    written = report.read_bytes()
    report.unlink()
    assert _served(project, "--output-format", fmt, "-o", str(report))
    again = _check(project, "--output-format", fmt, "-o", str(report))
    assert again.returncode == uncached.returncode
    assert report.read_bytes() == written


def test_a_file_changed_during_the_run_is_not_trusted(project: Path) -> None:
    migration = sorted((project / "alembic" / "versions").rglob("*.py"))[-1]
    with migration.open("a") as fh:
        fh.write("\n# saved while the check runs\n")
    # its time stamp says it changed after the run began (written while it ran)
    later = time.time() + 30
    os.utime(migration, (later, later))
    assert _check(project).returncode in (0, 1)
    assert not _served(project)  # recorded inputs may not be what the run read
    _age(migration)
    assert _check(project).returncode in (0, 1)
    assert _served(project)


def test_the_entry_keeps_the_digest_of_the_bytes_the_run_read(tmp_path: Path) -> None:
    """A migration rewritten after the loader read it, its time stamp put back: the entry
    names what the run's output came from, so the next run, which reads the new bytes,
    is not served the old output."""
    from b03lint import overlay

    cache_dir = tmp_path / ".b03lint_cache"
    cache_dir.mkdir()
    migration = tmp_path / "0001_first.py"
    migration.write_bytes(b"revision = '1'\n")
    _age(migration)
    stamp = migration.stat()
    recorder = runcache.Recorder(["check"]).start()
    try:
        recorder.cache_dir = str(cache_dir)
        read = overlay.read_bytes(migration)
        runcache._ACTIVE = None  # someone else's write, not the run's own
        migration.write_bytes(b"revision = '2'\n")
        os.utime(migration, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
        runcache._ACTIVE = recorder
        entry = recorder.entry(0)
    finally:
        recorder.stop()
    assert entry is not None
    files = dict(entry["files"])
    assert files[str(migration)] == runcache._digest(read)
    assert files[str(migration)] != runcache._file_print(str(migration))


def test_runs_the_cache_cannot_see_are_never_stored(project: Path) -> None:
    # --changed-since asks git: a subprocess, whose answer no fingerprint covers
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    subprocess.run(["git", "add", "-A"], cwd=project, check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm",
                    "x"], cwd=project, check=True)
    _age_tree(project)
    assert _check(project, "--changed-since", "HEAD").returncode == 0
    assert not _served(project, "--changed-since", "HEAD")
    # a run with an error (exit 2) is never stored
    (project / "pyproject.toml").write_text("[tool.b03lint]\nunknown_key = 1\n")
    _age(project / "pyproject.toml")
    assert _check(project).returncode == 2
    assert not _served(project)


def test_an_entry_signed_by_someone_else_is_never_believed(project: Path) -> None:
    assert _check(project).returncode in (0, 1)
    assert _served(project)
    (project.parent / "xdg" / "b03lint" / "secret").write_bytes(os.urandom(32))
    assert not _served(project)


def test_flags_that_turn_it_off(project: Path) -> None:
    assert _check(project, "--no-cache").returncode in (0, 1)
    assert not (project / ".b03lint_cache" / runcache.RESULTS_DIR).exists()
    assert _check(project, "--no-result-cache").returncode in (0, 1)
    assert not _served(project, "--no-result-cache")  # never served with that flag
    assert _served(project)  # ... and the result it found is stored for the next run
