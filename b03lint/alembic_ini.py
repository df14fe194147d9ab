"""Where Alembic finds the revision files of each environment, read from ``alembic.ini``
(or ``[tool.alembic]`` of ``pyproject.toml``) the way Alembic reads it, without importing
anything of the project.

An *environment* is one section of the file that Alembic can run (``alembic -n NAME``):
a section that sets ``script_location`` itself, or ``[alembic]`` (Alembic's default
section) when ``[DEFAULT]`` gives it one. For each, as ``alembic.script.ScriptDirectory``
does:

- ``script_location`` is a folder, or ``package:path`` inside a package; the package is
  looked up on disk (never imported): in the file's folder, its ``src/``, the
  ``prepend_sys_path`` folders and the folders above;
- the version folders are ``version_locations``, split on ``path_separator`` (or the older
  ``version_path_separator``: ``os``, ``space``, ``newline``, ``:``, ``;``), or on spaces
  and commas when neither is set, as Alembic's legacy behaviour; without it,
  ``<script_location>/versions``;
- ``recursive_version_locations = true`` makes Alembic read sub-folders; otherwise only
  the files directly in each version folder are revisions;
- ``%(here)s`` is the file's folder and ``%(name)s`` any other key of the section
  (``%(script_location)s``), by ``configparser``'s interpolation.

Relative paths are taken from the file's folder (Alembic takes them from the working
directory, which is that folder when ``alembic`` is run next to its ``alembic.ini``).
Imports only the standard library.
"""

from __future__ import annotations

import configparser
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

#: sections of an alembic.ini that configure logging or hooks, never an environment
_NOT_ENVIRONMENTS = re.compile(r"^(loggers|handlers|formatters|post_write_hooks|"
                               r"(logger|handler|formatter)_.*)$")
_SEPARATORS = {"space": " ", "newline": "\n", "os": os.pathsep, ":": ":", ";": ";"}
_LEGACY_SPLIT = re.compile(r", *|(?: +)")


class AlembicConfigError(Exception):
    """An Alembic configuration b03lint cannot follow (exit code 2), with where it is."""

    def __init__(self, message: str, path: Path, line: int | None = None):
        super().__init__(message)
        self.path = path
        self.line = line


@dataclass(frozen=True)
class AlembicEnvironment:
    """One Alembic environment: its section, its script folder and its version folders."""

    name: str
    config_file: Path
    line: int | None
    script_location: Path
    version_locations: tuple[Path, ...]
    recursive: bool

    @property
    def source(self) -> str:
        return f"{self.config_file.name} [{self.name}]"


def read_environments(path: Path) -> list[AlembicEnvironment]:
    """Every environment of the Alembic config file ``path`` (``alembic.ini``, or a
    ``pyproject.toml`` with ``[tool.alembic]``), in file order."""
    if path.suffix == ".toml":
        env = read_pyproject(path)
        return [env] if env is not None else []
    here = path.resolve().parent
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AlembicConfigError(f"cannot read Alembic configuration: {exc}", path) from None
    lines = _section_lines(text)
    # the same file twice: with [DEFAULT] as configparser's defaults (what Alembic sees),
    # and as a plain section (to know which keys a section sets itself)
    parser = configparser.ConfigParser(defaults={"here": here.as_posix()})
    own = configparser.ConfigParser(default_section="\0none", interpolation=None)
    try:
        parser.read_string(text, source=str(path))
        own.read_string(text, source=str(path))
    except configparser.Error as exc:
        line = getattr(exc, "lineno", None)
        raise AlembicConfigError(f"invalid Alembic configuration: {_one_line(exc)}",
                                 path, line) from None
    names = [s for s in own.sections()
             if s != "DEFAULT" and not _NOT_ENVIRONMENTS.match(s)
             and (own.has_option(s, "script_location")
                  or (s == "alembic" and parser.has_option(s, "script_location")))]
    return [_environment(parser, name, path, here, lines.get(name, {})) for name in names]


def read_pyproject(path: Path) -> AlembicEnvironment | None:
    """The environment of ``[tool.alembic]`` (Alembic 1.16 and later), or None."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None  # the pyproject.toml reader reports it
    table = data.get("tool", {}).get("alembic")
    if not isinstance(table, dict) or "script_location" not in table:
        return None
    here = path.resolve().parent

    def sub(value: Any, key: str) -> str:
        if not isinstance(value, str):
            raise AlembicConfigError(f"[tool.alembic] {key} must be a string", path)
        return value.replace("%(here)s", here.as_posix())

    script = _location(sub(table["script_location"], "script_location"), here, path, None)
    raw = table.get("version_locations")
    if raw is None:
        versions: list[Path] = [script / "versions"]
    elif isinstance(raw, list):
        versions = [_location(sub(v, "version_locations"), here, path, None) for v in raw]
    else:
        raise AlembicConfigError("[tool.alembic] version_locations must be a list", path)
    recursive = table.get("recursive_version_locations", False)
    if not isinstance(recursive, bool):
        raise AlembicConfigError("[tool.alembic] recursive_version_locations must be true "
                                 "or false", path)
    return AlembicEnvironment("alembic", path, None, script, tuple(versions), recursive)


def _environment(parser: configparser.ConfigParser, name: str, path: Path, here: Path,
                 lines: dict[str, int]) -> AlembicEnvironment:
    def get(key: str) -> str | None:
        try:
            value = parser.get(name, key, fallback=None)
        except configparser.Error as exc:
            raise AlembicConfigError(f"[{name}] {key}: {_one_line(exc)}", path,
                                     lines.get(key, lines.get("")))from None
        return value.strip() if value is not None else None

    line = lines.get("script_location", lines.get(""))
    script_value = get("script_location")
    if not script_value:
        raise AlembicConfigError(f"[{name}] script_location is empty", path, line)
    script = _location(script_value, here, path, line)
    raw_versions = get("version_locations")
    if raw_versions:
        where = lines.get("version_locations", line)
        separator = get("path_separator") or get("version_path_separator")
        if separator is None:
            parts = _LEGACY_SPLIT.split(raw_versions)
        else:
            # Alembic's own template writes `os  # comment`: take the word before a comment
            word = separator.split("#", 1)[0].strip()
            if word not in _SEPARATORS:
                raise AlembicConfigError(
                    f"[{name}] path_separator {word!r} is not one of "
                    f"{', '.join(sorted(_SEPARATORS))}", path, where)
            parts = raw_versions.split(_SEPARATORS[word])
        versions = [_location(p.strip(), here, path, where) for p in parts if p.strip()]
    else:
        versions = [script / "versions"]
    recursive = get("recursive_version_locations") == "true"  # exactly as Alembic tests it
    return AlembicEnvironment(name, path, line, script, tuple(versions), recursive)


def _location(value: str, here: Path, path: Path, line: int | None) -> Path:
    """A folder as ``alembic.util.coerce_resource_to_filename`` reads it: a path, or
    ``package:path/inside`` (found on disk, not imported)."""
    if not os.path.isabs(value) and ":" in value:
        package, *rest = value.split(":")
        inside = Path(*[p for part in rest for p in part.split("/") if p])
        found = find_package(package, here)
        if found is None:
            raise AlembicConfigError(
                f"cannot find the package {package!r} of {value!r} (looked in "
                f"{here}, its src/ and the folders above; b03lint never imports it): "
                "set `migrations` in [tool.b03lint]", path, line)
        return found / inside
    p = Path(value)
    return p if p.is_absolute() else here / p


def find_package(dotted: str, here: Path) -> Path | None:
    """The folder of the package ``dotted`` near ``here``, or None: tried in ``here``,
    ``here/src`` and each folder above (a package that holds its own ``alembic.ini``
    is found from its parent)."""
    parts = [p for p in dotted.strip().split(".") if p]
    if not parts or not all(p.isidentifier() for p in parts):
        return None
    for base in (here, *here.parents):
        for root in (base, base / "src"):
            candidate = root.joinpath(*parts)
            if candidate.is_dir():
                return candidate
    return None


def _section_lines(text: str) -> dict[str, dict[str, int]]:
    """section -> key -> line number (``""``: the section header), for messages."""
    out: dict[str, dict[str, int]] = {}
    current: dict[str, int] | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line.startswith("[") and line.endswith("]"):
            current = out.setdefault(line[1:-1].strip(), {"": number})
        elif current is not None and line and not line.startswith(("#", ";")):
            key = re.split(r"[=:]", line, maxsplit=1)[0].strip().lower()
            current.setdefault(key, number)
    return out


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())
