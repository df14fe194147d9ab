"""The files ``b03lint init`` (and ``drift init``) writes into a project, as text.

Templates that are plain files (the drift register's documented header, the ADR template,
the CI workflow) live in ``b03lint/templates/`` and are shipped in the package; the
others are rendered here from the project's folders. Nothing here touches the disk except
to read those templates: :mod:`b03lint.commands.init` decides what is written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import PurePosixPath

#: the CI workflow's install line in the template (replaced by the chosen requirement)
INSTALL_PLACEHOLDER = "{b03lint_requirement}"
#: ``--config DIR/pyproject.toml`` when the project is in a sub-folder of the repository
CONFIG_PLACEHOLDER = "{config_argument}"


def template(name: str) -> str:
    """The text of ``b03lint/templates/NAME``."""
    return resources.files("b03lint").joinpath("templates").joinpath(name).read_text(
        encoding="utf-8")


def drift_register() -> str:
    """An empty drift register with its documented header (format 1)."""
    return template("drift_register.yaml")


def adr_template() -> str:
    return template("adr_template.md")


def workflow(requirement: str, project_dir: str = ".") -> str:
    """The GitHub Actions workflow of docs/ci.md, installing ``requirement``. A project in
    a sub-folder is named by ``--config`` (b03lint still runs at the repository root, so
    annotations name files as GitHub does)."""
    config = "" if project_dir in ("", ".") else f" --config {project_dir}/pyproject.toml"
    return (template("github_workflow.yml").replace(INSTALL_PLACEHOLDER, requirement)
            .replace(CONFIG_PLACEHOLDER, config))


# --------------------------------------------------------------------------- pyproject


@dataclass
class ChainPlan:
    """What ``init`` configures for one environment."""

    name: str
    canonical_sql: str
    canonical_yaml: str
    drift_register: str
    #: ``alembic_section`` to write (several environments from alembic.ini), else None
    alembic_section: str | None = None
    #: ``migrations`` to write (no alembic.ini), else None
    migrations: str | None = None


@dataclass
class ProjectPlan:
    chains: list[ChainPlan]
    adr_dir: str
    adr_pattern: str
    baseline: str
    #: ``alembic_ini`` to write when it is not the default ``alembic.ini``
    alembic_ini: str | None = None
    notes: list[str] = field(default_factory=list)


def _q(value: str) -> str:
    return json.dumps(value)


def pyproject_table(plan: ProjectPlan) -> str:
    """``[tool.b03lint]`` (and ``[[tool.b03lint.environments]]``) for ``plan``."""
    lines = ["[tool.b03lint]",
             "# Written by `b03lint init`; `b03lint config` prints every setting and where it",
             "# came from."]
    if plan.alembic_ini is not None:
        lines.append(f"alembic_ini = {_q(plan.alembic_ini)}")
    several = len(plan.chains) > 1
    if not several:
        (chain,) = plan.chains
        if chain.migrations is not None:
            lines.append(f"migrations = {_q(chain.migrations)}")
        else:
            lines.append("# The migration folders are the ones alembic.ini names.")
        lines += [f"canonical_sql = {_q(chain.canonical_sql)}",
                  f"canonical_yaml = {_q(chain.canonical_yaml)}",
                  f"drift_register = {_q(chain.drift_register)}"]
    lines += [f"adr_dir = {_q(plan.adr_dir)}", f"adr_pattern = {_q(plan.adr_pattern)}",
              f"baseline = {_q(plan.baseline)}"]
    if several:
        lines.append("# Each environment of alembic.ini is its own chain, with its own "
                     "canonical schema.")
        for chain in plan.chains:
            lines += ["", "[[tool.b03lint.environments]]", f"name = {_q(chain.name)}"]
            if chain.alembic_section is not None:
                lines.append(f"alembic_section = {_q(chain.alembic_section)}")
            if chain.migrations is not None:
                lines.append(f"migrations = {_q(chain.migrations)}")
            lines += [f"canonical_sql = {_q(chain.canonical_sql)}",
                      f"canonical_yaml = {_q(chain.canonical_yaml)}",
                      f"drift_register = {_q(chain.drift_register)}"]
    return "\n".join(lines) + "\n"


def replace_table(text: str, table: str) -> str:
    """``text`` (a pyproject.toml) with its ``[tool.b03lint]`` tables replaced by ``table``
    (appended when it has none); everything else kept as written."""
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    start: int | None = None
    inside = False
    for line in lines:
        header = line.strip()
        if header.startswith("["):
            name = header.strip("[]").strip()
            inside = name == "tool.b03lint" or name.startswith("tool.b03lint.")
            if inside and start is None:
                start = len(out)
        if not inside:
            out.append(line)
    if start is None:
        body = "".join(out)
        if body and not body.endswith("\n"):
            body += "\n"
        return body + ("\n" if body.strip() else "") + table
    while start > 0 and not out[start - 1].strip():
        start -= 1
    before, after = "".join(out[:start]), "".join(out[start:]).lstrip("\n")
    middle = ("\n" if before else "") + table + ("\n" if after else "")
    return before + middle + after


# --------------------------------------------------------------------------- pre-commit


def hook_files_regex(folders: Sequence[str], project_files: Sequence[str]) -> str:
    """A ``files:`` pattern matching the migrations below ``folders`` and the project's
    own files (canonical SQL/YAML, drift register, rules), paths relative to the
    repository root."""
    parts = [re.escape(PurePosixPath(f).as_posix().rstrip("/")) + "/.*\\.py"
             for f in folders]
    parts += [re.escape(PurePosixPath(p).as_posix()) for p in project_files]
    return "^(" + "|".join(parts) + ")$"


def precommit_local(requirement: str, files: str) -> str:
    """A ``repo: local`` entry that installs ``requirement`` in pre-commit's own
    virtualenv (no tag of b03lint's repository needed)."""
    return (
        "  # b03lint, written by `b03lint init`: installed by pre-commit from the requirement\n"
        "  # below (pin the version your CI installs).\n"
        "  - repo: local\n"
        "    hooks:\n"
        "      - id: b03lint\n"
        "        name: b03lint\n"
        "        entry: b03lint check\n"
        "        language: python\n"
        f"        additional_dependencies: [{_q(requirement)}]\n"
        f"        files: {_yaml_single(files)}\n"
        "        require_serial: true\n")


def precommit_remote(repo: str, rev: str, files: str) -> str:
    """An entry for the hooks of b03lint's repository at ``rev`` (a tag or a commit)."""
    return (
        "  # b03lint, written by `b03lint init`; rev: a tag or a commit of that repository.\n"
        f"  - repo: {_yaml_single(repo)}\n"
        f"    rev: {_yaml_single(rev)}\n"
        "    hooks:\n"
        "      - id: b03lint\n"
        f"        files: {_yaml_single(files)}\n")


def precommit_config(entry: str) -> str:
    return "repos:\n" + entry


def _yaml_single(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
