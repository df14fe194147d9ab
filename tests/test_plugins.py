"""Python rules from outside b03lint: ``rule_modules`` in the configuration, and rule packs
installed under the entry-point group ``b03lint.rules``.

The end-to-end test builds a tiny rule pack (its own ``pyproject.toml`` declaring the entry
points), installs it with pip into a fresh virtual environment that sees this one's
packages, and runs that environment's ``b03lint`` in a temporary project.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from b03lint.cli import main
from b03lint.config import load_config
from b03lint.rules.plugins import load_entry_point_rules, load_rule_modules, rules_from_object
from b03lint.rules.registry import RegistryError, build_registry

REPO = Path(__file__).resolve().parent.parent

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

    code = "{code}"
    name = "{name}"
    category = "project"
    operation_kinds = frozenset({{"create_table"}})
    invalid = (Example(_mig('    op.create_table("tmp_events")'), line=6),)
    valid = (Example(_mig('    op.create_table("events")')),)

    def check_operation(self, op, ctx):
        if op.table.startswith("tmp_"):
            yield self.finding(op.loc, f"{{op.table}} looks temporary", object=op.table)
'''

MIGRATION = '''\
"""tmp"""
from alembic import op

revision = "a1"
down_revision = None


def upgrade():
    op.create_table("tmp_events")


def downgrade():
    pass
'''


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    write(tmp_path, {"alembic/versions/a1.py": MIGRATION})
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(cwd)


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def configure(root: Path, extra: str) -> None:
    write(root, {"pyproject.toml": '[tool.b03lint]\nmigrations = "alembic/versions"\n' + extra})


# --------------------------------------------------------------------------- rule_modules


def test_a_dotted_rule_module_from_the_project_root_runs_like_a_built_in(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    package = unique("teamrules")
    write(project, {f"{package}/__init__.py": "",
                    f"{package}/naming.py": RULE_MODULE.format(code="TEAM001",
                                                               name="no-temp-tables")})
    configure(project, f'rule_modules = ["{package}.naming"]\n')
    assert main(["check", "--output-format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    (finding,) = [f for f in report["findings"] if f["code"] == "TEAM001"]
    assert (finding["line"], finding["rule"], finding["object"]) == (9, "no-temp-tables",
                                                                      "tmp_events")
    assert main(["rule", "no-temp-tables"]) == 0
    out = capsys.readouterr().out
    assert f"Defined in rule module {package}.naming" in out and "How to fix:" in out
    assert main(["rules", "--test", "TEAM001"]) == 0
    assert "ok   TEAM001 no-temp-tables: 2 example(s)" in capsys.readouterr().out
    assert str(project) not in sys.path  # the root was only on the path for the import


def test_a_rule_module_given_as_a_file_path(project: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    write(project, {"tools/lint_rules.py": RULE_MODULE.format(code="TEAM002",
                                                              name="no-tmp")})
    configure(project, 'rule_modules = ["tools/lint_rules.py"]\n')
    assert main(["check", "--select", "no-tmp"]) == 1
    assert "TEAM002" in capsys.readouterr().out


@pytest.mark.parametrize(("source", "words"), [
    ("import does_not_exist_anywhere\n", ["cannot import rule module", "ModuleNotFoundError"]),
    ("x = 1\n", ["defines no rule"]),
    ("RULES = [object]\n", ["is not a subclass of b03lint.rules.base.Rule"]),
    ("raise RuntimeError('boom')\n", ["RuntimeError: boom", ".py:1)"]),
])
def test_a_broken_rule_module_is_an_error_not_a_traceback(
        project: Path, capsys: pytest.CaptureFixture[str], source: str,
        words: list[str]) -> None:
    name = unique("broken")
    write(project, {f"{name}.py": source})
    configure(project, f'rule_modules = ["{name}"]\n')
    for argv in (["check"], ["rules"]):
        assert main(argv) == 2
        captured = capsys.readouterr()
        text = captured.out + captured.err
        assert "Traceback" not in text
        for word in words:
            assert word in text, text


def test_a_rule_module_clashing_with_a_built_in_names_both_origins(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    name = unique("clash")
    write(project, {f"{name}.py": RULE_MODULE.format(code="D001", name="not-drop-table")})
    configure(project, f'rule_modules = ["{name}"]\n')
    assert main(["check"]) == 2
    out = capsys.readouterr()
    text = out.out + out.err
    assert f"rule D001 (not-drop-table) from rule module {name}" in text
    assert "clashes with D001 (drop-table) from builtin" in text


def test_rule_modules_are_imported_only_when_the_configuration_names_them(
        tmp_path: Path) -> None:
    name = unique("lazy")
    write(tmp_path, {f"{name}.py": RULE_MODULE.format(code="TEAM003", name="lazy-rule"),
                     "pyproject.toml": "[tool.b03lint]\n"})
    build_registry(load_config(explicit=tmp_path / "pyproject.toml"))
    assert name not in sys.modules
    configure(tmp_path, f'rule_modules = ["{name}"]\n')
    registry = build_registry(load_config(explicit=tmp_path / "pyproject.toml"))
    assert name in sys.modules and registry.get("lazy-rule") is not None


def test_importing_b03lint_loads_no_rule_pack_and_no_rule_file() -> None:
    code = ("import sys, b03lint.cli, b03lint.engine, b03lint.rules.registry\n"
            "print(sorted(m for m in sys.modules if m in ('b03lint.rules.plugins', "
            "'b03lint.rules.declarative', 'importlib.metadata')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=REPO).stdout
    assert "b03lint.rules.plugins" not in out and "b03lint.rules.declarative" not in out


def test_rules_from_object_accepts_modules_classes_lists_and_factories() -> None:
    import types

    from b03lint.rules.destructive import DropColumnRule, DropTableRule

    module = types.ModuleType("m")
    module.RULES = (DropTableRule,)  # type: ignore[attr-defined]
    assert rules_from_object(module, "x") == [DropTableRule]
    assert rules_from_object(DropTableRule, "x") == [DropTableRule]
    assert rules_from_object([DropTableRule, DropColumnRule], "x") == [DropTableRule,
                                                                       DropColumnRule]
    assert rules_from_object(lambda: [DropColumnRule], "x") == [DropColumnRule]
    with pytest.raises(RegistryError, match="expected a module"):
        rules_from_object(42, "x")
    with pytest.raises(RegistryError, match="not a subclass"):
        rules_from_object(int, "x")


def test_load_rule_modules_returns_each_rule_with_its_origin(tmp_path: Path) -> None:
    name = unique("origin")
    write(tmp_path, {f"{name}.py": RULE_MODULE.format(code="TEAM004", name="origin-rule")})
    ((rule, origin),) = load_rule_modules([name], tmp_path)
    assert rule.code == "TEAM004" and origin == f"rule module {name}"


# --------------------------------------------------------------------------- entry points


def fake_distribution(root: Path, dist: str, entry_points: str, files: dict[str, str]) -> None:
    """An installed distribution as importlib.metadata finds it: a ``.dist-info`` folder
    on ``sys.path`` (the layout pip writes to site-packages)."""
    info = root / f"{dist}-0.1.dist-info"
    write(root, {f"{info.name}/METADATA": f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n",
                 f"{info.name}/entry_points.txt": "[b03lint.rules]\n" + entry_points,
                 **files})


def test_entry_points_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = unique("eprules")
    fake_distribution(tmp_path, "eppack", f"team = {module}\nlisted = {module}:RULES\n",
                      {f"{module}.py": RULE_MODULE.format(code="EP001", name="ep-rule")
                       + "\nRULES = [NoTempTables]\n"})
    monkeypatch.syspath_prepend(str(tmp_path))
    loaded = load_entry_point_rules()
    origins = [o for _, o in loaded]
    assert [r.code for r, _ in loaded] == ["EP001", "EP001"]
    assert origins[0].startswith(f"entry point listed = {module}:RULES of eppack 0.1")
    registry = build_registry()  # the same class twice is one rule, not a clash
    assert registry.get("EP001") is not None
    assert registry.origin_of(registry.get("ep-rule")).startswith(  # type: ignore[arg-type]
        "entry point listed")
    assert len([r for r in build_registry(entry_points=False) if r.code == "EP001"]) == 0


@pytest.mark.parametrize(("value", "files", "words"), [
    ("missing_module_xyz", {}, ["cannot import entry point bad = missing_module_xyz of badpack",
                                "ModuleNotFoundError"]),
    ("{mod}:NOPE", {"{mod}.py": "x = 1\n"}, ["AttributeError"]),
    ("{mod}", {"{mod}.py": RULE_MODULE.format(code="D002", name="x-drop-column")},
     ["clashes with D002 (drop-column) from builtin", "entry point bad"]),
    ("{mod}", {"{mod}.py": RULE_MODULE.format(code="bad", name="bad")},
     ["code 'bad' is not like ABC123"]),
])
def test_a_broken_entry_point_is_an_error_naming_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str,
        files: dict[str, str], words: list[str]) -> None:
    module = unique("badrules")
    fake_distribution(tmp_path, "badpack", f"bad = {value.format(mod=module)}\n",
                      {k.format(mod=module): v for k, v in files.items()})
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(RegistryError) as info:
        build_registry()
    for word in words:
        assert word in str(info.value)


# --------------------------------------------------------------------------- a real install

BACKEND = '''\
"""A dependency-free PEP 517 backend, so that pip can build this pack offline with
--no-build-isolation whatever setuptools/wheel the environment has."""
import base64
import hashlib
import zipfile
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib


def get_requires_for_build_wheel(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    project = tomllib.loads(Path("pyproject.toml").read_text())["project"]
    name, version = project["name"], project["version"]
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    records = []
    target = Path(wheel_directory) / f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(target, "w") as wheel:
        def add(arcname, data):
            wheel.writestr(arcname, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            records.append(f"{arcname},sha256={digest.decode()},{len(data)}")
        for path in sorted(Path(dist).rglob("*.py")):
            add(path.as_posix(), path.read_bytes())
        add(f"{info}/METADATA",
            f"Metadata-Version: 2.1\\nName: {name}\\nVersion: {version}\\n".encode())
        add(f"{info}/WHEEL", b"Wheel-Version: 1.0\\nGenerator: test-backend\\n"
                             b"Root-Is-Purelib: true\\nTag: py3-none-any\\n")
        groups = project.get("entry-points", {})
        text = "".join(f"[{group}]\\n" + "".join(f"{k} = {v}\\n" for k, v in eps.items())
                       for group, eps in groups.items())
        add(f"{info}/entry_points.txt", text.encode())
        wheel.writestr(f"{info}/RECORD", "\\n".join([*records, f"{info}/RECORD,,"]) + "\\n")
    return target.name
'''

PACK_PYPROJECT = '''\
[build-system]
requires = []
build-backend = "build_backend"
backend-path = ["."]

[project]
name = "b03lint-demo-pack"
version = "0.1"

[project.entry-points."b03lint.rules"]
demo = "b03lint_demo_pack.rules"
demo-listed = "b03lint_demo_pack.more:RULES"
'''

MORE = '''\
from b03lint_demo_pack.rules import NoTempTables


class NoTempColumns(NoTempTables):
    """
    What it does:
        Flags a column added with a name that starts with ``tmp_``.

    Why it matters:
        Scratch columns outlive the experiment they were made for.

    Example:
        ``op.add_column("events", sa.Column("tmp_flag", sa.Boolean()))``

    How to fix:
        Give it a real name, or drop it.
    """

    code = "DEMO002"
    name = "no-temp-columns"
    operation_kinds = frozenset({"add_column"})
    invalid = ()
    valid = ()

    def check_operation(self, op, ctx):
        if op.column.name.startswith("tmp_"):
            yield self.finding(op.loc, f"{op.column.name} looks temporary")


RULES = [NoTempColumns]
'''


@pytest.fixture(scope="module")
def pack_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtual environment with the demo pack installed by pip from its pyproject."""
    base = tmp_path_factory.mktemp("pack")
    pack = base / "pack"
    write(pack, {"pyproject.toml": PACK_PYPROJECT, "build_backend.py": BACKEND,
                 "b03lint_demo_pack/__init__.py": "",
                 "b03lint_demo_pack/rules.py": RULE_MODULE.format(code="DEMO001",
                                                                  name="no-temp-tables"),
                 "b03lint_demo_pack/more.py": MORE})
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip",
                    str(venv)], check=True)
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    # --system-site-packages shows the base interpreter's packages; when the tests run in
    # a virtual environment themselves, make its packages (b03lint, pip, PyYAML, ...)
    # visible too, the way a .pth file does in site-packages
    purelib = subprocess.run([str(python), "-c", "import sysconfig; "
                              "print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(purelib, "b03lint_parent_env.pth").write_text(
        "".join(f"import site; site.addsitedir({p!r})\n" for p in sorted(ours)))
    subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "--no-build-isolation",
                    "--no-index", "--quiet", str(pack)], check=True,
                   env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    return python


def run_in(python: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(python), "-m", "b03lint", *args], cwd=cwd,
                          capture_output=True, text=True)


def test_an_installed_rule_pack_fires_through_b03lint_check(pack_venv: Path,
                                                            project: Path) -> None:
    write(project, {"alembic/versions/a2.py": MIGRATION.replace('"a1"', '"a2"', 1)
                    .replace("down_revision = None", 'down_revision = "a1"')
                    .replace('op.create_table("tmp_events")',
                             'op.add_column("t", sa.Column("tmp_flag", sa.Boolean()))')})
    configure(project, "")
    done = run_in(pack_venv, project, "check", "--output-format", "json")
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    hits = sorted((f["code"], f["path"], f["line"]) for f in report["findings"]
                  if f["code"].startswith("DEMO"))
    assert hits == [("DEMO001", "alembic/versions/a1.py", 9),
                    ("DEMO002", "alembic/versions/a2.py", 9)]
    # this test process's own environment does not have the pack
    assert main(["rule", "DEMO001"]) == 2


def test_an_installed_rule_pack_documents_and_tests_itself(pack_venv: Path,
                                                           project: Path) -> None:
    configure(project, "")
    listed = run_in(pack_venv, project, "rules", "--output-format", "json")
    rows = {r["code"]: r for r in json.loads(listed.stdout)}
    assert rows["DEMO001"]["origin"].startswith(
        "entry point demo = b03lint_demo_pack.rules of b03lint-demo-pack 0.1")
    assert rows["DEMO002"]["name"] == "no-temp-columns" and rows["DEMO001"]["enabled"]
    shown = run_in(pack_venv, project, "rule", "no-temp-tables")
    assert shown.returncode == 0 and "Why it matters:" in shown.stdout
    tested = run_in(pack_venv, project, "rules", "--test", "DEMO")
    assert tested.returncode == 1  # DEMO002 ships without examples, and it says so
    assert "ok   DEMO001 no-temp-tables: 2 example(s)" in tested.stdout
    assert "FAIL DEMO002" in tested.stdout and "has no example" in tested.stdout
    without = run_in(pack_venv, project, "rules", "--no-plugins", "--output-format", "json")
    assert not [r for r in json.loads(without.stdout) if r["code"].startswith("DEMO")]


def test_the_pack_can_be_switched_off_like_any_rule(pack_venv: Path, project: Path) -> None:
    configure(project, 'ignore = ["no-temp-tables"]\n')
    done = run_in(pack_venv, project, "check")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "DEMO001" not in done.stdout


def test_check_example_runs_a_rule_that_is_not_registered_yet(tmp_path: Path) -> None:
    """A pack author's own test: check_example adds the rule under test to the registry."""
    from b03lint.testing import check_example

    name = unique("authoring")
    write(tmp_path, {f"{name}.py": RULE_MODULE.format(code="AUTH001", name="authoring")})
    ((rule, _),) = load_rule_modules([name], tmp_path)
    for example in rule.invalid:
        assert check_example(rule, example, invalid=True) == []
    for example in rule.valid:
        assert check_example(rule, example, invalid=False) == []
    assert textwrap.dedent(rule.documentation()).startswith("What it does:")


def test_plugin_discovery_skips_importlib_metadata_when_no_pack_declares_the_group(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from b03lint.rules.plugins import _group_may_exist

    site = tmp_path / "site"
    (site / "other-1.0.dist-info").mkdir(parents=True)
    (site / "other-1.0.dist-info" / "entry_points.txt").write_text(
        "[console_scripts]\nother = other:main\n")
    monkeypatch.setattr(sys, "path", [str(site)])
    assert not _group_may_exist("b03lint.rules")
    (site / "pack-1.0.dist-info").mkdir()
    (site / "pack-1.0.dist-info" / "entry_points.txt").write_text(
        "[b03lint.rules]\npack = pack.rules\n")
    assert _group_may_exist("b03lint.rules")
    # a path entry that is not a folder (a zip) cannot be scanned cheaply: maybe
    (tmp_path / "eggs.zip").write_bytes(b"PK")
    monkeypatch.setattr(sys, "path", [str(tmp_path / "eggs.zip")])
    assert _group_may_exist("b03lint.rules")
