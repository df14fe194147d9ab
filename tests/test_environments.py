"""Version folders found the way Alembic finds them (``alembic.ini``: ``script_location``,
``version_locations``, ``recursive_version_locations``, ``%(here)s``, ``package:path``), and
several environments in one repository, each checked as its own chain (issue 12, item 5).

The projects are synthetic reproductions of real layouts: one ``[alembic]`` section with a
``migrations`` folder (polar), ``[DEFAULT]`` + ``[alembic]`` + a second section for a
per-tenant chain (onyx), two sections naming ``package:path`` folders inside the package
that holds ``alembic.ini`` (dispatch)."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import pytest

from b03lint.cli import main


def rev(revision: str, down: str | None, body: str = "    pass", doc: str = "step") -> str:
    return textwrap.dedent(f'''\
        """{doc}"""
        from alembic import op
        import sqlalchemy as sa

        revision = "{revision}"
        down_revision = {down!r}


        def upgrade():
        ''') + body + "\n\n\ndef downgrade():\n    pass\n"


CREATE = '    op.create_table("t", sa.Column("id", sa.Integer(), primary_key=True), ' \
         'sa.Column("name", sa.Text()))'
DROP = '    op.drop_column("t", "name")'
ENV_PY = '"""env.py"""\nfrom alembic import context\n\ncontext.configure()\nop = None\n'
HELPER = '"""Shared helpers."""\n\n\ndef quote(name):\n    return f\'"{name}"\'\n'


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


def check(root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
          *args: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    monkeypatch.chdir(root)
    capsys.readouterr()
    code = main(["check", "--output-format", "json", "--no-cache", *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, json.loads(out) if out.strip() else {"errors": [err], "findings": []}


def cli(root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        *args: str) -> tuple[int, str, str]:
    monkeypatch.chdir(root)
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def codes(doc: dict) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    return sorted((f["code"], f["path"]) for f in doc["findings"])


# ------------------------------------------------------------------ one environment


def polar_like(root: Path, extra_ini: str = "") -> Path:
    """`[alembic] script_location = migrations`, env.py and a helper beside the versions."""
    return write(root, {
        "alembic.ini": "[alembic]\nscript_location = migrations\nprepend_sys_path = .\n"
                       "version_path_separator = os  # Use os.pathsep.\n" + extra_ini +
                       "\n[loggers]\nkeys = root\n",
        "migrations/env.py": ENV_PY,
        "migrations/script.py.mako": "${upgrades}\n",
        "migrations/utils.py": 'from alembic import op\n\n\ndef drop():\n'
                               '    op.drop_table("t")\n',
        "migrations/versions/0001_create.py": rev("0001", None, CREATE),
        "migrations/versions/0002_drop.py": rev("0002", "0001", DROP),
    })


def test_without_configuration_the_folders_come_from_alembic_ini(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    root = polar_like(tmp_path)
    code, doc = check(root, monkeypatch, capsys)
    assert code == 1, doc
    # only the version folder: env.py, the template and the helper module are not revisions
    assert codes(doc) == [("D002", "migrations/versions/0002_drop.py")]
    assert "environment" not in doc["findings"][0]  # one chain: no environment named
    assert doc["summary"]["files"] == 2


def test_a_configured_migrations_folder_wins_over_alembic_ini(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    root = polar_like(tmp_path)
    write(root, {"pyproject.toml": '[tool.b03lint]\nmigrations = "other"\n',
                 "other/0001.py": rev("0001", None, CREATE)})
    code, doc = check(root, monkeypatch, capsys)
    assert code == 0, doc
    assert doc["summary"]["files"] == 1


def test_version_locations_here_and_script_location_interpolation(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Two version folders of one chain, split on `path_separator`; `%(here)s` and
    `%(script_location)s`; a revision in the second folder builds on the first."""
    root = write(tmp_path, {
        "alembic.ini": "[alembic]\nscript_location = %(here)s/db\npath_separator = ;\n"
                       "version_locations = %(script_location)s/versions;%(here)s/extra\n",
        "db/env.py": ENV_PY,
        "db/versions/0001_create.py": rev("0001", None, CREATE),
        "extra/0002_drop.py": rev("0002", "0001", DROP),
        "db/unused/0003_not_a_location.py": rev("0003", "0002", DROP),
    })
    code, doc = check(root, monkeypatch, capsys)
    assert code == 1, doc
    assert codes(doc) == [("D002", "extra/0002_drop.py")]
    # no G003 (unknown parent): both folders are one chain
    code, out, _ = cli(root, monkeypatch, capsys, "config")
    assert "db/versions, extra" in out


def test_legacy_version_locations_split_on_spaces_and_commas(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    root = write(tmp_path, {
        "alembic.ini": "[alembic]\nscript_location = db\nversion_locations = a, b c\n",
        "a/0001.py": rev("0001", None, CREATE),
        "b/0002.py": rev("0002", "0001"),
        "c/0003.py": rev("0003", "0002", DROP),
    })
    code, doc = check(root, monkeypatch, capsys)
    assert (code, codes(doc)) == (1, [("D002", "c/0003.py")])


@pytest.mark.parametrize("flag", ["true", "false"])
def test_recursive_version_locations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str], flag: str) -> None:
    """Alembic reads sub-folders only with `recursive_version_locations = true`."""
    root = write(tmp_path, {
        "alembic.ini": f"[alembic]\nscript_location = alembic\n"
                       f"recursive_version_locations = {flag}\n",
        "alembic/versions/0001.py": rev("0001", None, CREATE),
        "alembic/versions/2024/0002.py": rev("0002", "0001", DROP),
    })
    code, doc = check(root, monkeypatch, capsys)
    if flag == "true":
        assert (code, codes(doc)) == (1, [("D002", "alembic/versions/2024/0002.py")])
    else:
        assert (code, codes(doc)) == (0, [])
        assert doc["summary"]["files"] == 1


def test_a_helper_module_in_a_version_folder_is_an_info(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    root = polar_like(tmp_path)
    (root / "migrations/versions/0002_drop.py").unlink()
    write(root, {"migrations/versions/helpers.py": HELPER})
    code, doc = check(root, monkeypatch, capsys)
    assert code == 0, doc
    assert [(f["code"], f["severity"], f["path"]) for f in doc["findings"]] == [
        ("I006", "info", "migrations/versions/helpers.py")]
    # a file that looks like a revision but lost its id is still blocking
    write(root, {"migrations/versions/0002.py": rev("0002", "0001").replace(
        'revision = "0002"\n', "")})
    code, doc = check(root, monkeypatch, capsys)
    assert code == 1
    assert ("I005", "migrations/versions/0002.py") in codes(doc)


def test_package_path_script_location(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    """`script_location = pkg:database/revisions` inside the package that holds
    alembic.ini (found on disk, never imported), run from the project root."""
    root = write(tmp_path, {
        "pyproject.toml": '[tool.b03lint]\nalembic_ini = "src/pkg/alembic.ini"\n',
        "src/pkg/__init__.py": "raise SystemExit('b03lint must not import the package')\n",
        "src/pkg/alembic.ini": "[alembic]\nscript_location = pkg:database/revisions\n",
        "src/pkg/database/revisions/env.py": ENV_PY,
        "src/pkg/database/revisions/versions/0001.py": rev("0001", None, CREATE),
        "src/pkg/database/revisions/versions/0002.py": rev("0002", "0001", DROP),
    })
    code, doc = check(root, monkeypatch, capsys)
    assert (code, codes(doc)) == (1, [("D002", "src/pkg/database/revisions/versions/0002.py")])


def test_an_unknown_package_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    root = write(tmp_path, {"alembic.ini": "[alembic]\n\nscript_location = nowhere:revs\n"})
    code, doc = check(root, monkeypatch, capsys)
    assert code == 2
    error = doc["errors"][0]
    assert error["line"] == 3 and error["path"].endswith("alembic.ini")
    assert "cannot find the package 'nowhere'" in error["message"]


# ------------------------------------------------------------------ several environments


def onyx_like(root: Path) -> Path:
    """[DEFAULT] gives every section a script_location; [alembic] and [schema_private]
    are the two environments, both starting from a revision "0001"."""
    return write(root, {
        "alembic.ini": "[DEFAULT]\nscript_location = alembic\nversion_path_separator = os\n\n"
                       "[post_write_hooks]\nhooks = black\n\n[loggers]\nkeys = root\n\n"
                       "[alembic]\nscript_location = alembic\n"
                       "version_locations = %(script_location)s/versions\n\n"
                       "[schema_private]\nscript_location = alembic_tenants\n",
        "alembic/env.py": ENV_PY,
        "alembic/versions/0001_create.py": rev("0001", None, CREATE),
        "alembic/versions/0002_drop.py": rev("0002", "0001", DROP),
        "alembic_tenants/env.py": ENV_PY,
        "alembic_tenants/versions/0001_tenants.py": rev("0001", None, CREATE),
    })


def test_two_environments_are_two_chains(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """Same revision id in both chains, a head in each: no G004 duplicate, no G001."""
    root = onyx_like(tmp_path)
    code, doc = check(root, monkeypatch, capsys)
    assert code == 1, doc
    assert codes(doc) == [("D002", "alembic/versions/0002_drop.py")]
    assert doc["findings"][0]["environment"] == "alembic"
    assert doc["summary"]["environments"] == ["alembic", "schema_private"]
    code, out, _ = cli(root, monkeypatch, capsys, "check", "--no-cache")
    assert "D002 blocking [alembic] " in out
    assert "of 2 environments (alembic, schema_private)" in out.splitlines()[-1]
    # the same two chains read as one would be a duplicate revision
    write(root, {"pyproject.toml": '[tool.b03lint]\nmigrations = ["alembic/versions", '
                                   '"alembic_tenants/versions"]\n'})
    _, doc = check(root, monkeypatch, capsys)
    assert "G004" in {c for c, _ in codes(doc)}


def test_a_graph_finding_names_its_environment(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    root = onyx_like(tmp_path)
    write(root, {"alembic_tenants/versions/0002_other_head.py": rev("0002", None)})
    code, doc = check(root, monkeypatch, capsys, "--env", "schema_private")
    assert code == 1
    assert {(f["code"], f["environment"]) for f in doc["findings"]} == {
        ("G001", "schema_private")}


def test_env_selects_chains_and_unknown_names_are_errors(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    root = onyx_like(tmp_path)
    code, doc = check(root, monkeypatch, capsys, "--env", "schema_private")
    assert (code, codes(doc)) == (0, [])
    code, doc = check(root, monkeypatch, capsys, "--env", "tenants")
    assert code == 2
    assert "no environment named 'tenants' (environments: alembic, schema_private)" in \
        doc["errors"][0]["message"]


@pytest.mark.parametrize("command", [["schema"], ["graph"], ["show", "t"],
                                     ["drift", "table"]])
def test_one_chain_commands_ask_which_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        command: list[str]) -> None:
    root = onyx_like(tmp_path)
    code, _, err = cli(root, monkeypatch, capsys, *command)
    assert code == 2
    assert ("the project has 2 environments (alembic, schema_private); choose one with "
            "--env NAME") in err
    if command[0] in ("schema", "graph", "show"):
        code, out, err = cli(root, monkeypatch, capsys, *command, "--env", "schema_private")
        assert code == 0, err
        assert "alembic_tenants" in out or "0001" in out


def test_environment_tables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                            capsys: pytest.CaptureFixture[str]) -> None:
    """`[[tool.b03lint.environments]]`: a section of alembic.ini or folders, each with its
    own chain settings (expected_heads here)."""
    root = onyx_like(tmp_path)
    write(root, {
        "alembic_tenants/versions/0002_other_head.py": rev("0002", None),
        "pyproject.toml": textwrap.dedent('''\
            [tool.b03lint]
            ignore = ["D002"]

            [[tool.b03lint.environments]]
            name = "core"
            alembic_section = "alembic"

            [[tool.b03lint.environments]]
            name = "tenant"
            migrations = "alembic_tenants/versions"
            expected_heads = ["0001", "0002"]
            '''),
    })
    code, doc = check(root, monkeypatch, capsys)
    assert (code, codes(doc)) == (0, []), doc
    code, out, _ = cli(root, monkeypatch, capsys, "config")
    assert "core: alembic/versions (without sub-folders; from [[tool.b03lint.environments]] " \
           "core (alembic.ini [alembic]))" in out
    assert 'expected_heads = ["0001", "0002"]' in out


@pytest.mark.parametrize(("toml", "message", "line"), [
    ('[tool.b03lint]\ncanonical_sql = "db/schema.sql"\n',
     "`canonical_sql` describes one chain, and the project has 2 environments", 2),
    ('[tool.b03lint]\n\n[[tool.b03lint.environments]]\nname = "a"\nfolder = "x"\n',
     "unknown key 'folder' in environment 'a'", 3),
    ('[tool.b03lint]\n[[tool.b03lint.environments]]\nname = "a"\nmigrations = "x"\n'
     '[[tool.b03lint.environments]]\nname = "a"\nmigrations = "y"\n',
     "two environments are named 'a'", 5),
    ('[tool.b03lint]\nmigrations = "x"\n[[tool.b03lint.environments]]\nname = "a"\n'
     'migrations = "x"\n', "`migrations` is set beside [[tool.b03lint.environments]]", 2),
    ('[tool.b03lint]\n[[tool.b03lint.environments]]\nname = "a"\nalembic_section = "zz"\n',
     "no section [zz] with a script_location here (its environments: alembic, "
     "schema_private)", None),
], ids=["chain-key-at-top", "unknown-key", "duplicate-name", "migrations-beside", "section"])
def test_bad_environment_configuration_is_exit_2_with_where(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        toml: str, message: str, line: int | None) -> None:
    root = onyx_like(tmp_path)
    write(root, {"pyproject.toml": toml})
    code, doc = check(root, monkeypatch, capsys)
    assert code == 2
    errors = doc["errors"]
    text = errors[0] if isinstance(errors[0], str) else json.dumps(errors[0])
    assert message in text, text
    if line is not None:
        assert f":{line}:" in text or f'"line": {line}' in text, text


def test_migrations_flag_with_several_environments_needs_env(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    root = onyx_like(tmp_path)
    write(root, {"pyproject.toml": '[tool.b03lint]\n[[tool.b03lint.environments]]\n'
                                   'name = "a"\nalembic_section = "alembic"\n'
                                   '[[tool.b03lint.environments]]\nname = "b"\n'
                                   'alembic_section = "schema_private"\n',
                 "other/0001.py": rev("0001", None, CREATE)})
    code, _, err = cli(root, monkeypatch, capsys, "check", "--migrations", "other")
    assert code == 2 and "choose which with --env NAME" in err
    code, doc = check(root, monkeypatch, capsys, "--migrations", "other", "--env", "b")
    assert (code, codes(doc)) == (0, [])
    assert doc["summary"]["files"] == 1


def test_dispatch_like_sections_inside_a_package(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """`[alembic]` without script_location; `[core]` and `[tenant]` naming
    `pkg:database/revisions/<name>` with alembic.ini inside the package."""
    pkg = tmp_path / "src/dispatchlike"
    write(pkg, {
        "alembic.ini": "[alembic]\nfile_template = %%(rev)s\n\n"
                       "[core]\nscript_location = dispatchlike:database/revisions/core\n\n"
                       "[tenant]\nscript_location = dispatchlike:database/revisions/tenant\n"
                       "hooks = black\n",
        "database/revisions/core/env.py": ENV_PY,
        "database/revisions/core/versions/0001.py": rev("0001", None, CREATE),
        "database/revisions/tenant/env.py": ENV_PY,
        "database/revisions/tenant/versions/0001.py": rev("0001", None, CREATE),
        "database/revisions/tenant/versions/0002.py": rev("0002", "0001", DROP),
    })
    code, doc = check(pkg, monkeypatch, capsys)
    assert code == 1
    assert [(f["code"], f["environment"]) for f in doc["findings"]] == [("D002", "tenant")]


def test_changed_since_and_paths_go_to_their_own_chain(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    root = onyx_like(tmp_path)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@e", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
    subprocess.run([*git, "add", "-A"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", "base"], cwd=root, check=True)
    write(root, {"alembic_tenants/versions/0002_drop.py": rev("0002", "0001", DROP)})
    subprocess.run([*git, "add", "-A"], cwd=root, check=True)
    code, doc = check(root, monkeypatch, capsys, "--changed-since", "main")
    assert code == 1
    assert [(f["code"], f["path"], f["environment"]) for f in doc["findings"]] == [
        ("D002", "alembic_tenants/versions/0002_drop.py", "schema_private")]
    # the same file given as a path: its own chain's graph (0001 is its parent there)
    code, doc = check(root, monkeypatch, capsys, "alembic_tenants/versions/0002_drop.py")
    assert [f["code"] for f in doc["findings"]] == ["D002"]


def test_one_baseline_for_every_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    root = onyx_like(tmp_path)
    write(root, {"alembic_tenants/versions/0002_drop.py": rev("0002", "0001", DROP)})
    code, out, err = cli(root, monkeypatch, capsys, "baseline")
    assert code == 0, err
    assert "wrote 2 baseline entries" in out
    code, doc = check(root, monkeypatch, capsys)
    assert (code, codes(doc)) == (0, []), doc
    # reporting on one chain's file does not call the other chain's entry stale
    code, doc = check(root, monkeypatch, capsys, "alembic/versions/0002_drop.py")
    assert (code, codes(doc)) == (0, []), doc


# ------------------------------------------------------------------ live: alembic -n NAME


def test_rebuild_runs_alembic_with_the_environment_section(pg_cluster, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`rebuild --env tenant` runs the [tenant] section's chain with real Alembic (as
    `alembic -n tenant upgrade head`), and its static replay agrees with PostgreSQL."""
    from live_support import ROOT, b03, scratch_databases

    ini = (ROOT / "alembic.ini").read_text(encoding="utf-8")
    ini = ini.replace("[post_write_hooks]", "[tenant]\nscript_location = %(here)s/tenant_db\n"
                                            "\n[post_write_hooks]")
    env_py = (ROOT / "alembic/env.py").read_text(encoding="utf-8")
    write(tmp_path, {
        "alembic.ini": ini,
        "alembic/env.py": env_py,
        "alembic/versions/0001.py": rev("0001", None, CREATE),
        "tenant_db/env.py": env_py,
        "tenant_db/versions/t001.py": rev("t001", None, CREATE.replace('"t"', '"tenant_t"')),
        "tenant_db/versions/t002.py": rev(
            "t002", "t001", '    op.add_column("tenant_t", sa.Column("n", sa.Integer()))'),
    })
    write(tmp_path, {
        "db/tenant.sql": "CREATE TABLE tenant_t (id serial PRIMARY KEY, name text, "
                         "n integer);\n",
        "pyproject.toml": '[tool.b03lint]\ncache = false\n\n[[tool.b03lint.environments]]\n'
                          'name = "main"\nalembic_section = "alembic"\n\n'
                          '[[tool.b03lint.environments]]\nname = "tenant"\n'
                          'canonical_sql = "db/tenant.sql"\n'})
    run = b03("rebuild", "--database-url", pg_cluster.url(), "--config",
              str(tmp_path / "pyproject.toml"), "--env", "tenant", "--output-format", "json")
    assert scratch_databases(pg_cluster) == []
    assert run.code == 0, run.text
    report = run.json()
    assert report["revision"] == "t002"
    assert report["verdict"] == "PASS"
    run = b03("rebuild", "--database-url", pg_cluster.url(), "--config",
              str(tmp_path / "pyproject.toml"), "--output-format", "json")
    assert run.code == 2 and "choose one with --env NAME" in run.err
