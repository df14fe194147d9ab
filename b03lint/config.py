"""``[tool.b03lint]`` of the nearest ``pyproject.toml``, overridden by command-line flags.

Every value remembers where it came from (default, the file, or a flag) so that
``b03lint config`` can say it. Unknown keys are an error that names them.

The migration chains ("environments") come from, in this order: the
``[[tool.b03lint.environments]]`` tables; else ``migrations`` (one chain of one or more
folders); else the environments of ``alembic.ini`` (``alembic_ini``), read as Alembic reads
them (:mod:`b03lint.alembic_ini`); else ``[tool.alembic]``; else ``alembic/versions``.
Each environment is checked as its own chain: :meth:`Config.chains` gives one
:class:`Config` per environment, with that environment's folders and settings.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib


class ConfigError(Exception):
    """A configuration the tool cannot use (exit code 2)."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None):
        super().__init__(message)
        self.path = path
        self.line = line


#: key -> (default, expected python type(s), description)
_KEYS: dict[str, tuple[Any, tuple[type, ...], str]] = {
    "migrations": ("alembic/versions", (str, list),
                   "folder(s) of one chain's revision files, nested folders included "
                   "(default: the version folders of alembic.ini)"),
    "alembic_ini": ("alembic.ini", (str,),
                    "Alembic configuration whose environments are the chains when "
                    "`migrations` and `environments` are not set"),
    "environments": ([], (list,),
                     "several chains: [[tool.b03lint.environments]] tables (name, "
                     "migrations or alembic_section, and per-chain settings)"),
    "canonical_sql": (None, (str,), "canonical executable schema (SQL)"),
    "canonical_yaml": (None, (str,), "canonical schema YAML mirror"),
    "drift_register": (None, (str,), "drift register YAML (SCHEMA-DRIFT-### entries)"),
    "adr_dir": ("docs/architecture/adr", (str,), "folder of ADRs that waivers cite"),
    "adr_pattern": ("guide", (str,),
                    "how ADR files are named: guide (ADR-<id>-*.md), adr-tools or madr "
                    "(NNNN-*.md), or a regular expression with an `id` group"),
    "baseline_revision": (None, (str,), "the baseline revision (e.g. B0.3's head)"),
    "base_schema": (None, (str,), "what the chain starts from: a SQL file (a pg_dump, the "
                                  "canonical SQL), or `external` (a schema it did not build)"),
    "expected_heads": ([], (list,), "revisions allowed to be heads besides a single one"),
    "tenant_column": ("tenant_id", (str,), "column that marks a table tenant-scoped"),
    "select": ([], (list,), "rule codes/names/prefixes to enable (default: all default-on)"),
    "extend_select": ([], (list,), "rules to enable in addition to the defaults"),
    "ignore": ([], (list,), "rule codes/names/prefixes to disable"),
    "per_file_ignores": ({}, (dict,), "glob -> rule codes ignored in matching files"),
    "severity": ({}, (dict,), "rule code/name -> blocking | warning | info"),
    "options": ({}, (dict,), "rule code/name -> table of rule options"),
    "rules_dirs": (["rules"], (list,), "folders of declarative YAML rules"),
    "rule_modules": ([], (list,), "Python modules that define rules"),
    "baseline": (None, (str,), "baseline file of accepted findings"),
    "cache": (True, (bool,), "cache parsed migrations by content hash"),
    "cache_dir": (".b03lint_cache", (str,), "where the cache lives"),
    "jobs": (0, (int,), "parallel processes for parsing (0 = automatic)"),
    "postgres_version": (15, (int,),
                         "PostgreSQL major the migrations run on, 10-18, for the lock model "
                         "(default: the oldest major still supported; live commands read it "
                         "from the server)"),
    "docs_url": (None, (str,),
                 "the rule reference editors link a diagnostic to (b03lint server): a URL "
                 "to which `#<code>-<name>` is appended (default: docs/rules.md of the "
                 "project when it has one, else the reference written into cache_dir)"),
    "env_settings": ([], (list,),
                     "run-time parameters env.py sets for every migration, such as "
                     '["lock_timeout", "statement_timeout"] (the lock rules count them set)'),
}

#: the majors the lock model covers (b03lint.pgmodel.locks)
POSTGRES_VERSIONS = range(10, 19)

#: keys that change how a run reads files, never what it finds (left out of fingerprint())
_RUN_ONLY_KEYS = frozenset({"cache", "cache_dir", "jobs", "docs_url"})
#: keys that say where the chains are (cached values are keyed by each file's own path)
_FOLDER_KEYS = frozenset({"migrations", "alembic_ini", "environments"})

PATH_KEYS = ("migrations", "canonical_sql", "canonical_yaml", "drift_register", "adr_dir",
             "baseline", "cache_dir", "alembic_ini")

#: settings that describe one chain: per environment, never shared by several
CHAIN_KEYS = ("canonical_sql", "canonical_yaml", "drift_register", "baseline_revision",
              "expected_heads", "base_schema")
#: keys of a ``[[tool.b03lint.environments]]`` table besides the chain keys
_ENV_OWN_KEYS: dict[str, tuple[type, ...]] = {
    "name": (str,), "migrations": (str, list), "alembic_ini": (str,),
    "alembic_section": (str,), "recursive": (bool,), "tenant_column": (str,),
}


@dataclass(frozen=True)
class Environment:
    """One migration chain: its name, its version folders and where they came from."""

    name: str
    folders: tuple[Path, ...]
    #: read sub-folders too (Alembic's ``recursive_version_locations``)
    recursive: bool
    #: where it was configured, for ``b03lint config`` and messages
    source: str
    #: per-environment settings (chain keys, tenant_column), as written
    settings: dict[str, Any] = field(default_factory=dict)
    #: the Alembic configuration and section that run it (``alembic -c INI -n SECTION``),
    #: when it came from one
    alembic_ini: Path | None = None
    alembic_section: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "folders": [str(f) for f in self.folders],
                "recursive": self.recursive, "source": self.source,
                "alembic_ini": str(self.alembic_ini) if self.alembic_ini else None,
                "alembic_section": self.alembic_section, "settings": self.settings}


@dataclass
class Config:
    root: Path
    pyproject: Path | None
    values: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    #: the environment this configuration is the chain of (see :meth:`chains`), or None
    env: Environment | None = None
    #: how many environments the project has (1 when it has one chain)
    env_count: int = 1
    _envs: list[Environment] | None = field(default=None, repr=False, compare=False)

    def get(self, key: str) -> Any:
        return self.values[key]

    def path(self, key: str) -> Path | None:
        value = self.values.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise TypeError(f"{key} is not one path; use migration_folders()")
        p = Path(value)
        return p if p.is_absolute() else self.root / p

    def set(self, key: str, value: Any, source: str) -> None:
        key = key.replace("-", "_")
        if key not in _KEYS:
            raise ConfigError(f"unknown configuration key {key!r}")
        self.values[key] = value
        self.sources[key] = source
        self._envs = None

    # ------------------------------------------------------------------ environments

    @property
    def environment(self) -> str | None:
        """The name of this chain's environment when the project has several (findings
        and output name it then), else None."""
        return self.env.name if self.env is not None and self.env_count > 1 else None

    @property
    def recursive(self) -> bool:
        return self.env.recursive if self.env is not None else True

    def environments(self) -> list[Environment]:
        """Every configured chain (see the module docstring); raises :class:`ConfigError`."""
        if self._envs is None:
            self._envs = _resolve_environments(self)
        return self._envs

    def chains(self, names: Sequence[str] = ()) -> list[Config]:
        """One configuration per environment (only ``names`` when given)."""
        envs = self.environments()
        if names:
            known = {e.name: e for e in envs}
            missing = [n for n in names if n not in known]
            if missing:
                raise ConfigError(f"no environment named {', '.join(map(repr, missing))} "
                                  f"(environments: {', '.join(known)})",
                                  str(self.pyproject) if self.pyproject else None)
            envs = [known[n] for n in dict.fromkeys(names)]
        return [self._chain(e, len(self.environments())) for e in envs]

    def chain(self, name: str | None = None) -> Config:
        """The configuration of one chain, for the commands that read one: the one
        named, or the only one; several without a name is an error that lists them."""
        if self.env is not None:
            return self
        envs = self.environments()
        if name is None and len(envs) > 1:
            raise ConfigError(
                f"the project has {len(envs)} environments "
                f"({', '.join(e.name for e in envs)}); choose one with --env NAME")
        return self.chains([name] if name else ())[0]

    def _chain(self, env: Environment, count: int) -> Config:
        out = Config(root=self.root, pyproject=self.pyproject, values=dict(self.values),
                     sources=dict(self.sources), env=env, env_count=count)
        folders = [str(f) for f in env.folders]
        out.values["migrations"] = folders[0] if len(folders) == 1 else folders
        out.sources["migrations"] = env.source
        for key, value in env.settings.items():
            if key in _KEYS:
                out.values[key] = value
                out.sources[key] = f"{env.source}"
        out.values["environments"] = []
        return out

    def migration_folders(self) -> list[Path]:
        """The version folders of this chain; of every chain for the project's own
        configuration."""
        if self.env is not None:
            return list(self.env.folders)
        return [f for e in self.environments() for f in e.folders]

    def migrations_label(self) -> str:
        """The chain's folders as one string, for messages."""
        from b03lint.paths import display_path

        return ", ".join(display_path(f) for f in self.migration_folders())

    def describe(self) -> list[tuple[str, Any, str]]:
        return [(k, self.values[k], self.sources[k]) for k in _KEYS]

    def fingerprint(self) -> str:
        """What a cache must be keyed by: every value that changes what readers produce."""
        import hashlib
        import json

        # how files are read (cache on/off, its folder, processes) never changes the result,
        # and neither do the folders: cached values are keyed by each file's path
        relevant = {k: v for k, v in self.values.items()
                    if k not in _RUN_ONLY_KEYS and k not in _FOLDER_KEYS}
        return hashlib.sha256(
            json.dumps(relevant, sort_keys=True, default=str).encode()
        ).hexdigest()[:16]


def find_pyproject(start: Path) -> Path | None:
    """The nearest ``pyproject.toml`` with a ``[tool.b03lint]`` table, walking up."""
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            try:
                data = tomllib.loads(candidate.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
                return candidate  # reported when loaded
            if "b03lint" in data.get("tool", {}):
                return candidate
    return None


def load_config(start: Path | None = None, explicit: Path | None = None) -> Config:
    """Defaults, then ``[tool.b03lint]`` of ``explicit`` or the nearest pyproject.toml."""
    start = (start or Path.cwd()).resolve()
    pyproject = explicit if explicit is not None else find_pyproject(start)
    root = pyproject.parent.resolve() if pyproject else start
    config = Config(root=root, pyproject=pyproject)
    for key, (default, _types, _doc) in _KEYS.items():
        config.values[key] = default
        config.sources[key] = "default"
    if pyproject is None:
        return config
    try:
        text = pyproject.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read configuration: {exc}", str(pyproject)) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)
        raise ConfigError(f"invalid TOML: {exc}", str(pyproject), line) from None
    table = data.get("tool", {}).get("b03lint", {})
    if not isinstance(table, dict):
        raise ConfigError("[tool.b03lint] must be a table", str(pyproject))
    for raw_key, value in table.items():
        key = raw_key.replace("-", "_")
        line = _line_of(text, raw_key)
        if key not in _KEYS:
            known = ", ".join(sorted(_KEYS))
            raise ConfigError(
                f"unknown key {raw_key!r} in [tool.b03lint] (known keys: {known})",
                str(pyproject), line,
            )
        _default, types, _doc = _KEYS[key]
        if not isinstance(value, types) or (bool in types) != isinstance(value, bool):
            expected = " or ".join(t.__name__ for t in types)
            raise ConfigError(
                f"[tool.b03lint] {raw_key} must be a {expected}, not {type(value).__name__}",
                str(pyproject), line,
            )
        if key == "migrations" and isinstance(value, list) and (
                not value or not all(isinstance(v, str) for v in value)):
            raise ConfigError("[tool.b03lint] migrations must be a folder or a non-empty "
                              "list of folders", str(pyproject), line)
        if key == "adr_pattern":
            from b03lint.waivers import adr_pattern

            try:
                adr_pattern(str(value))
            except ValueError as exc:
                raise ConfigError(str(exc), str(pyproject), line) from None
        if key == "postgres_version" and value not in POSTGRES_VERSIONS:
            raise ConfigError(f"[tool.b03lint] {raw_key} must be a PostgreSQL major from "
                              f"{POSTGRES_VERSIONS[0]} to {POSTGRES_VERSIONS[-1]}, not {value}",
                              str(pyproject), line)
        if key == "env_settings" and isinstance(value, list) and not all(
                isinstance(v, str) for v in value):
            raise ConfigError(f"[tool.b03lint] {raw_key} must be a list of parameter names",
                              str(pyproject), line)
        if key == "environments" and isinstance(value, list):
            _check_environment_tables(value, text, pyproject)
        config.values[key] = value
        config.sources[key] = f"{pyproject.name} [tool.b03lint]"
    return config


def _check_environment_tables(tables: list[Any], text: str, pyproject: Path) -> None:
    headers = [n for n, line in enumerate(text.splitlines(), 1)
               if line.strip().replace(" ", "") == "[[tool.b03lint.environments]]"]
    seen: set[str] = set()
    for i, table in enumerate(tables):
        line = headers[i] if i < len(headers) else None
        if not isinstance(table, dict):
            raise ConfigError("each of [tool.b03lint] environments must be a table "
                              "([[tool.b03lint.environments]])", str(pyproject), line)
        name = table.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ConfigError("an environment needs a `name`", str(pyproject), line)
        if name in seen:
            raise ConfigError(f"two environments are named {name!r}", str(pyproject), line)
        seen.add(name)
        for raw_key, value in table.items():
            key = raw_key.replace("-", "_")
            types: tuple[type, ...] | None = _ENV_OWN_KEYS.get(key)
            if types is None and key in CHAIN_KEYS:
                types = _KEYS[key][1]
            if types is None:
                known = ", ".join(sorted([*_ENV_OWN_KEYS, *CHAIN_KEYS]))
                raise ConfigError(f"unknown key {raw_key!r} in environment {name!r} "
                                  f"(known keys: {known})", str(pyproject), line)
            if not isinstance(value, types) or (bool in types) != isinstance(value, bool):
                expected = " or ".join(t.__name__ for t in types)
                raise ConfigError(f"environment {name!r}: {raw_key} must be a {expected}, "
                                  f"not {type(value).__name__}", str(pyproject), line)
        if "migrations" in table and "alembic_section" in table:
            raise ConfigError(f"environment {name!r}: set `migrations` or "
                              "`alembic_section`, not both", str(pyproject), line)


def _resolve_environments(config: Config) -> list[Environment]:
    """The chains of ``config`` (see the module docstring)."""
    where = str(config.pyproject) if config.pyproject else None
    tables: list[dict[str, Any]] = config.get("environments")
    migrations_set = config.sources["migrations"] != "default"
    if tables:
        if migrations_set:
            raise ConfigError("`migrations` is set beside [[tool.b03lint.environments]]: "
                              "set it inside the environment it belongs to", where,
                              _line_of(_text(config), "migrations"))
        envs = [_table_environment(config, t) for t in tables]
    elif migrations_set:
        value = config.get("migrations")
        folders = [value] if isinstance(value, str) else list(value)
        envs = [Environment("default", tuple(_rooted(config, f) for f in folders), True,
                            config.sources["migrations"])]
    else:
        envs = _discovered(config)
    if len(envs) > 1:
        for key in CHAIN_KEYS:
            if config.sources[key] != "default":
                raise ConfigError(
                    f"`{key}` describes one chain, and the project has {len(envs)} "
                    f"environments ({', '.join(e.name for e in envs)}): list them as "
                    "[[tool.b03lint.environments]] tables (`name = \"...\"`) and set it in "
                    "the one it describes (`b03lint init` writes them)", where,
                    _line_of(_text(config), key))
    return envs


def _discovered(config: Config) -> list[Environment]:
    """The environments Alembic itself would find, else the historical default."""
    from b03lint.alembic_ini import AlembicConfigError, read_environments, read_pyproject

    ini = config.path("alembic_ini")
    try:
        if ini is not None and ini.is_file():
            found = read_environments(ini)
            if not found:
                raise ConfigError("no section of this Alembic configuration sets "
                                  "`script_location`: set `migrations` in [tool.b03lint]",
                                  str(ini))
        else:
            toml = config.pyproject or config.root / "pyproject.toml"
            alembic_toml = read_pyproject(toml) if toml.is_file() else None
            found = [alembic_toml] if alembic_toml is not None else []
    except AlembicConfigError as exc:
        raise ConfigError(str(exc), str(exc.path), exc.line) from None
    if not found:
        return [Environment("default", (_rooted(config, "alembic/versions"),), True,
                            "default")]
    return [Environment(e.name, e.version_locations, e.recursive, e.source,
                        alembic_ini=e.config_file if e.config_file.suffix == ".ini" else None,
                        alembic_section=e.name) for e in found]


def _table_environment(config: Config, table: dict[str, Any]) -> Environment:
    from b03lint.alembic_ini import AlembicConfigError, read_environments

    table = {k.replace("-", "_"): v for k, v in table.items()}
    name = str(table["name"])
    source = f"[[tool.b03lint.environments]] {name}"
    settings = {k: v for k, v in table.items() if k in CHAIN_KEYS or k == "tenant_column"}
    if "migrations" in table:
        value = table["migrations"]
        folders = [value] if isinstance(value, str) else list(value)
        return Environment(name, tuple(_rooted(config, f) for f in folders),
                           bool(table.get("recursive", True)), source, settings)
    ini = _rooted(config, str(table.get("alembic_ini", config.get("alembic_ini"))))
    section = str(table.get("alembic_section", name))
    if not ini.is_file():
        raise ConfigError(f"environment {name!r}: Alembic configuration not found "
                          "(set `alembic_ini`, or `migrations`)", str(ini))
    try:
        found = {e.name: e for e in read_environments(ini)}
    except AlembicConfigError as exc:
        raise ConfigError(str(exc), str(exc.path), exc.line) from None
    if section not in found:
        raise ConfigError(f"environment {name!r}: no section [{section}] with a "
                          f"script_location here (its environments: "
                          f"{', '.join(found) or 'none'})", str(ini))
    alembic = found[section]
    return Environment(name, alembic.version_locations,
                       bool(table.get("recursive", alembic.recursive)),
                       f"{source} ({alembic.source})", settings, alembic_ini=ini,
                       alembic_section=section)


def _rooted(config: Config, value: str) -> Path:
    p = Path(value)
    return p if p.is_absolute() else config.root / p


def _text(config: Config) -> str:
    try:
        return config.pyproject.read_text(encoding="utf-8") if config.pyproject else ""
    except (OSError, UnicodeDecodeError):
        return ""


def _line_of(text: str, key: str) -> int | None:
    in_table = False
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("["):
            in_table = stripped.startswith("[tool.b03lint")
            continue
        if in_table and stripped.split("=", 1)[0].strip().strip('"') == key:
            return number
    return None


def describe_keys() -> dict[str, str]:
    return {k: doc for k, (_d, _t, doc) in _KEYS.items()}
