"""The corpus of malformed and hostile inputs (``tests/corpus/cases.yaml``): every case is a
throwaway project linted by ``b03lint check`` in a subprocess, and its outcome (exit code,
finding codes, paths and lines, tool errors) is asserted exactly as the manifest states it.

The big inputs (a 10 MB migration, a 20,000-revision chain, 10,000-deep nesting) are made
here at test time by the generators below, never committed. Nothing here asserts a
duration: the subprocess timeout only turns a hang into a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from ci_skip import skip_outside_ci

CORPUS = Path(__file__).resolve().parent / "corpus"
FILES = CORPUS / "files"
CASES: list[dict[str, Any]] = yaml.safe_load((CORPUS / "cases.yaml").read_text())["cases"]
#: generous: a hang fails the case instead of stalling the suite
TIMEOUT = 600

PYPROJECT = """\
[tool.b03lint]
migrations = "alembic/versions"
adr_dir = "adr"
"""

# --------------------------------------------------------------------------- generators

MIGRATION_HEAD = '''\
"""{doc}"""
from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
'''


def deep_parentheses(path: Path) -> None:
    path.write_text(MIGRATION_HEAD.format(doc="10,000 nested parentheses")
                    + "X = " + "(" * 10_000 + "1" + ")" * 10_000 + "\n")


def deep_brackets(path: Path) -> None:
    path.write_text(MIGRATION_HEAD.format(doc="10,000 nested brackets")
                    + "X = " + "[" * 10_000 + "]" * 10_000 + "\n")


def long_concatenation(path: Path) -> None:
    path.write_text("X = " + " + ".join(["'a'"] * 100_000) + "\n"
                    + MIGRATION_HEAD.format(doc="a 100,000-term concatenation"))


def huge_literals(path: Path) -> None:
    path.write_text(MIGRATION_HEAD.format(doc="huge literals")
                    + "BLOB = '" + "x" * 5_000_000 + "'\n"
                    + "NUMBER = " + "7" * 4_000 + "\n"
                    + "\n\ndef upgrade():\n    op.execute(\"COMMENT ON TABLE tenants IS '"
                    + "y" * 100_000 + "'\")\n")


def ten_megabyte_migration(path: Path) -> None:
    """A migration of 10 MB written the ways big migrations are: many ``op.*`` calls, a
    long ``op.execute`` of SQL, a data literal for ``op.bulk_insert``; the one destructive
    operation is at the very end."""
    parts = [MIGRATION_HEAD.format(doc="a 10 MB migration"), "ROWS = [\n"]
    row = '    {{"id": {i}, "name": "tenant number {i}", "note": "imported from the old system"}},\n'
    size = sum(map(len, parts))
    i = 0
    while size < 4_000_000:
        parts.append(row.format(i=i))
        size += len(parts[-1])
        i += 1
    parts.append("]\n\n\ndef upgrade():\n")
    for n in range(10_000):
        parts.append(f'    op.add_column("tenants", sa.Column("c{n:05d}", sa.String(length=100),'
                     f' nullable=True))\n')
    parts.append('    op.execute("""\n')
    size = sum(map(len, parts))
    n = 0
    while size < 10_000_000:
        parts.append(f"        INSERT INTO tenants (id, name) VALUES ({n}, 'tenant {n}');\n")
        size += len(parts[-1])
        n += 1
    parts.append('    """)\n')
    parts.append('    op.bulk_insert(sa.table("tenants", sa.column("id"), sa.column("name")), '
                 'ROWS)\n')
    parts.append('    op.drop_column("tenants", "name")\n')
    text = "".join(parts)
    assert len(text) >= 10_000_000
    path.write_text(text)


def long_chain(folder: Path) -> None:
    """20,000 revisions, each the parent of the next, in nested folders of 1,000."""
    for i in range(20_000):
        down = "None" if i == 0 else f'"r{i - 1:05d}"'
        sub = folder / f"batch_{i // 1000:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"r{i:05d}.py").write_text(
            f'from alembic import op\n\nrevision = "r{i:05d}"\ndown_revision = {down}\n\n\n'
            f"def upgrade():\n    pass\n")


def _revisions(folder: Path, downs: list[str], ids: list[str] | None = None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i, down in enumerate(downs):
        rev = ids[i] if ids else f"r{i:05d}"
        (folder / f"r{i:05d}.py").write_text(
            f'revision = "{rev}"\ndown_revision = {down}\n\n\ndef upgrade():\n    pass\n')


def five_thousand_heads(folder: Path) -> None:
    """5,000 revisions on one parent: each head's finding named all 5,000 (125 MB)."""
    _revisions(folder, ["None"] + ['"r00000"'] * 4_999)


def five_thousand_cycle(folder: Path) -> None:
    _revisions(folder, [f'"r{(i - 1) % 5_000:05d}"' for i in range(5_000)])


def five_thousand_duplicates(folder: Path) -> None:
    _revisions(folder, ["None"] * 5_000, ["r00000"] * 5_000)


def deep_sql_expression(path: Path) -> None:
    """SQL whose 60,000 chained operators crashed the SQL parser library (a segmentation
    fault, no report), between two statements that must still be read."""
    path.write_text(MIGRATION_HEAD.format(doc="an operator chain 60,000 deep")
                    + '\n\ndef upgrade():\n    op.execute("""\n'
                    + "        ALTER TABLE tenants ADD COLUMN plan text;\n"
                    + "        SELECT " + " + ".join(["1"] * 60_000) + ";\n"
                    + "        ALTER TABLE tenants DROP COLUMN name;\n"
                    + '    """)\n')


def canonical_deep_check(path: Path) -> None:
    path.write_text("CREATE TABLE tenants (\n    id integer PRIMARY KEY,\n"
                    "    n integer CHECK (n > " + " - ".join(["1"] * 60_000) + ")\n);\n")


GENERATORS: dict[str, Callable[[Path], None]] = {f.__name__: f for f in (
    deep_parentheses, deep_brackets, long_concatenation, huge_literals, ten_megabyte_migration,
    long_chain, deep_sql_expression, canonical_deep_check, five_thousand_heads,
    five_thousand_cycle, five_thousand_duplicates)}

# --------------------------------------------------------------------------- running


def _drop_root() -> list[str] | None:
    """How to run a command without root's power to read anything (chmod 000 does not stop
    root): ``setpriv`` to ``nobody``. None when that is not possible here."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    prefix = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
    probe = subprocess.run([*prefix, sys.executable, "-c", "import b03lint"],
                           capture_output=True, timeout=60)
    return prefix if probe.returncode == 0 else None


@pytest.fixture()
def project() -> Iterator[Path]:
    """A world-readable temporary folder (``nobody`` must reach it for the unreadable case)."""
    root = Path(tempfile.mkdtemp(prefix="b03lint-corpus-"))
    root.chmod(0o755)
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def build(case: dict[str, Any], root: Path) -> None:
    config = "".join(f"{k} = {json.dumps(v)}\n" for k, v in (case.get("config") or {}).items())
    (root / "pyproject.toml").write_text(PYPROJECT + config)
    (root / "adr").mkdir()
    (root / "adr" / "ADR-003-baseline-reconciliation.md").write_text("# ADR-003\n")
    files = dict(case.get("files") or {})
    if case.get("base", True):
        files.setdefault("alembic/versions/0001_base.py", "base.py.txt")
    for rel in case.get("dirs") or ():
        (root / rel).mkdir(parents=True)
    for rel, name in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(FILES / name, target)
    for rel, name in (case.get("generate") or {}).items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        GENERATORS[name](root / rel)
    for rel, target in (case.get("symlinks") or {}).items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, root / rel)
    for rel in case.get("unreadable") or ():
        (root / rel).chmod(0)


def lint(root: Path, *args: str, prefix: list[str] | None = None) -> tuple[int, dict[str, Any],
                                                                          str]:
    env = {**os.environ, "NO_COLOR": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run(
        [*(prefix or []), sys.executable, "-m", "b03lint", "check", "--output-format", "json",
         "--no-cache", *args],
        cwd=root, capture_output=True, text=True, timeout=TIMEOUT, env=env)
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"no JSON report (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc.returncode, report, proc.stderr


def _describe(report: dict[str, Any]) -> str:
    lines = [f"{f['path']}:{f['line']}: {f['code']} {f['severity']} {f['message'][:120]}"
             for f in report["findings"][:40]]
    lines += [f"error {e['path']}:{e['line']}: {e['message'][:160]}" for e in report["errors"]]
    return "\n".join(lines) + f"\nsummary: {report.get('summary')}"


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_corpus_case(case: dict[str, Any], project: Path) -> None:
    prefix: list[str] | None = []
    if case.get("unreadable"):
        prefix = _drop_root()
        if prefix is None:  # pragma: no cover - CI runs as root with setpriv
            skip_outside_ci("cannot drop root privileges here (setpriv missing), and root "
                            "reads files whatever their mode")
    build(case, project)
    code, report, stderr = lint(project, *case.get("args", ()), prefix=prefix)
    expect = case["expect"]
    shown = _describe(report) + "\n" + stderr
    assert code == expect["exit"], shown
    # the verdict contract: ERROR whenever the run has an error (exit 2), never PASS
    assert report["verdict"] == ("ERROR" if report["errors"] else "BLOCKING" if any(
        f["severity"] == "blocking" for f in report["findings"]) else "PASS")
    assert (report["verdict"] == "ERROR") == (code == 2), shown
    for want in expect.get("findings", ()):
        assert any(f["code"] == want["code"] and f["path"] == want["path"]
                   and ("line" not in want or f["line"] == want["line"])
                   for f in report["findings"]), f"missing {want}\n{shown}"
    for want in expect.get("errors", ()):
        assert any(e["path"] == want["path"] and want["says"] in e["message"]
                   and ("line" not in want or e["line"] == want["line"])
                   for e in report["errors"]), f"missing error {want}\n{shown}"
    codes = {f["code"] for f in report["findings"]}
    for absent in expect.get("absent", ()):
        assert absent not in codes, shown
    if "unresolved" in expect:
        assert report["summary"]["unresolved_operations"] == expect["unresolved"], shown
    if "operations" in expect:
        assert report["summary"]["operations"] >= expect["operations"], shown
    if "max_report_bytes" in expect:
        assert len(json.dumps(report)) <= expect["max_report_bytes"]
    if "says" in expect:
        assert any(expect["says"] in f["message"] for f in report["findings"]), shown
    # exit 2 always comes with a reason; a file that could not be read is never a PASS
    if code == 2:
        assert report["errors"], shown
    unreadable = [f for f in report["findings"] if f["code"] in ("I000", "I001", "I002")]
    if unreadable:
        assert code == 2 and report["verdict"] == "ERROR", shown


def test_every_corpus_file_is_used() -> None:
    used = {name for case in CASES for name in (case.get("files") or {}).values()}
    used.add("base.py.txt")
    on_disk = {p.name for p in FILES.iterdir()}
    assert on_disk == used, f"unused: {on_disk - used}, missing: {used - on_disk}"


def test_every_generator_is_used() -> None:
    used = {name for case in CASES for name in (case.get("generate") or {}).values()}
    assert used == set(GENERATORS)


def test_corpus_files_keep_their_bytes() -> None:
    """The encoding cases only prove something if git kept the bytes (see .gitattributes)."""
    assert (FILES / "bom_utf8.py.txt").read_bytes().startswith(b"\xef\xbb\xbf")
    assert b"\xe9" in (FILES / "latin1_byte.py.txt").read_bytes()
    assert b"\r\r\n" in (FILES / "crlf_mixed.py.txt").read_bytes()
    assert (FILES / "nul.py.txt").read_bytes() == b"\x00"
    assert stat.S_ISREG((FILES / "empty.py.txt").stat().st_mode)


def test_text_summary_never_says_pass_when_the_check_could_not_complete(project: Path) -> None:
    """A canonical file refused (here a billion-laughs YAML) finds nothing to block on, yet
    nothing was checked against it: the text report must not read PASS."""
    case = next(c for c in CASES if c["id"] == "billion-laughs-canonical-yaml")
    build(case, project)
    proc = subprocess.run([sys.executable, "-m", "b03lint", "check", "--no-cache"], cwd=project,
                          capture_output=True, text=True, timeout=TIMEOUT,
                          env={**os.environ, "NO_COLOR": "1"})
    assert proc.returncode == 2
    last = proc.stdout.strip().splitlines()[-1]
    assert last.startswith("ERROR: ") and "1 error(s)" in last, proc.stdout
    assert "PASS" not in proc.stdout


def test_changed_since_with_a_symlink_loop(project: Path) -> None:
    """CI mode (``--changed-since``) when the change is a symlink loop: the looping files
    are reported as unreadable (exit 2), not a crash and not skipped."""
    case = next(c for c in CASES if c["id"] == "file-symlink-loop")
    build({**case, "symlinks": {}}, project)
    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t",
           "-c", "commit.gpgsign=false"]
    subprocess.run([*git, "init", "-q"], cwd=project, check=True)
    subprocess.run([*git, "add", "-A"], cwd=project, check=True)
    subprocess.run([*git, "commit", "-qm", "base"], cwd=project, check=True)
    for rel, target in case["symlinks"].items():
        os.symlink(target, project / rel)
    subprocess.run([*git, "add", "-A"], cwd=project, check=True)
    subprocess.run([*git, "commit", "-qm", "loop"], cwd=project, check=True)
    code, report, _ = lint(project, "--changed-since", "HEAD~1")
    assert code == 2
    assert {(f["code"], f["path"]) for f in report["findings"]} == {
        ("I002", "alembic/versions/a.py"), ("I002", "alembic/versions/b.py")}
