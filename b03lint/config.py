"""``[tool.b03lint]`` of the nearest ``pyproject.toml``, overridden by command-line flags.

Every value remembers where it came from (default, the file, or a flag) so that
``b03lint config`` can say it. Unknown keys are an error that names them.
"""

from __future__ import annotations

import sys
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
    "migrations": ("alembic/versions", (str,), "folder of Alembic revision files (nested)"),
    "canonical_sql": (None, (str,), "canonical executable schema (SQL)"),
    "canonical_yaml": (None, (str,), "canonical schema YAML mirror"),
    "drift_register": (None, (str,), "drift register YAML (SCHEMA-DRIFT-### entries)"),
    "adr_dir": ("docs/architecture/adr", (str,), "folder of ADRs that waivers cite"),
    "baseline_revision": (None, (str,), "the baseline revision (e.g. B0.3's head)"),
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
}

#: keys that change how a run reads files, never what it finds (left out of fingerprint())
_RUN_ONLY_KEYS = frozenset({"cache", "cache_dir", "jobs"})

PATH_KEYS = ("migrations", "canonical_sql", "canonical_yaml", "drift_register", "adr_dir",
             "baseline", "cache_dir")


@dataclass
class Config:
    root: Path
    pyproject: Path | None
    values: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)

    def get(self, key: str) -> Any:
        return self.values[key]

    def path(self, key: str) -> Path | None:
        value = self.values.get(key)
        if value is None:
            return None
        p = Path(value)
        return p if p.is_absolute() else self.root / p

    def set(self, key: str, value: Any, source: str) -> None:
        key = key.replace("-", "_")
        if key not in _KEYS:
            raise ConfigError(f"unknown configuration key {key!r}")
        self.values[key] = value
        self.sources[key] = source

    def describe(self) -> list[tuple[str, Any, str]]:
        return [(k, self.values[k], self.sources[k]) for k in _KEYS]

    def fingerprint(self) -> str:
        """What a cache must be keyed by: every value that changes what readers produce."""
        import hashlib
        import json

        # how files are read (cache on/off, its folder, processes) never changes the result
        relevant = {k: v for k, v in self.values.items() if k not in _RUN_ONLY_KEYS}
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
        config.values[key] = value
        config.sources[key] = f"{pyproject.name} [tool.b03lint]"
    return config


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
