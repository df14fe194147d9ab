"""The canonical schema: ``canonical_schema.sql`` (read by the same SQL reader and the same
fold as the migrations) and its YAML mirror. Either file alone is enough; with both, the
SQL governs (guide section 2.2) and every disagreement with the YAML is reported."""

from __future__ import annotations

import contextlib
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from b03lint.config import Config
from b03lint.findings import ToolError
from b03lint.operations import Diagnostic, Unresolved
from b03lint.schema.errors import CanonicalError as CanonicalError  # re-exported
from b03lint.schema.model import Schema
from b03lint.schema.replay import Conflict, fold
from b03lint.schema.sharing import share_strings

if TYPE_CHECKING:
    from collections.abc import Callable

    from b03lint.forked import ForkedCall


@dataclass
class Canonical:
    #: the governing schema: the SQL's when configured, else the YAML's
    schema: Schema | None = None
    sql: Schema | None = None
    yaml: Schema | None = None
    sql_path: str | None = None
    yaml_path: str | None = None
    #: SQL reader diagnostics of the canonical SQL (syntax errors, unresolved)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    errors: list[ToolError] = field(default_factory=list)


def read_text(path: Path, shown: str) -> str:
    """A schema file's text (UTF-8, BOM allowed); :class:`CanonicalError` when it cannot be."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CanonicalError("canonical file not found", shown) from None
    except OSError as exc:
        raise CanonicalError(f"cannot read canonical file: {exc.strerror}", shown) from None
    return _decoded(data, shown)


def _decoded(data: bytes, shown: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CanonicalError(f"cannot decode canonical file as UTF-8: {exc.reason}", shown,
                             line) from None


#: the psql meta-commands a ``pg_dump`` file may hold: ``\restrict`` / ``\unrestrict``
#: (PostgreSQL's 2025 security releases: 13.22, 14.19, 15.14, 16.10, 17.6 and later),
#: ``\connect`` (``--create``), ``\encoding``, ``\set``
_META_RE = re.compile(r"^[ \t]*\\(?:restrict|unrestrict|connect|c|encoding|set|unset)\b.*$",
                      re.MULTILINE)
#: the table Alembic records the applied revision in: never part of a schema contract
VERSION_TABLE = "alembic_version"


def without_meta_commands(text: str) -> str:
    """``text`` with psql meta-commands blanked (every other line keeps its number)."""
    return _META_RE.sub("", text) if "\\" in text else text


def without_version_table(schema: Schema) -> Schema:
    """``schema`` without Alembic's version table (a dump of a migrated database has it)."""
    if schema.tables.pop(VERSION_TABLE, None) is not None:
        for name in [n for n, i in schema.indexes.items() if i.table == VERSION_TABLE]:
            del schema.indexes[name]
    return schema


def read_schema_sql(text: str, shown: str, label: str = "canonical SQL"
                    ) -> tuple[Schema, list[Diagnostic], list[Conflict]]:
    """A schema written as SQL: the canonical file, or a plain ``pg_dump --schema-only``
    of any PostgreSQL from 13 (its psql meta-commands blanked; ``SET``, ``set_config``,
    ``OWNER TO``, ``COMMENT ON``, ``GRANT`` are read and change nothing; Alembic's version
    table left out; ``public.`` names are the search path's)."""
    from b03lint.readers.sql import read_sql

    result = read_sql(without_meta_commands(text), path=shown, phase="upgrade",
                      via="canonical")
    replay = fold([(None, result.operations)], label=label)
    replay.schema.path = shown
    without_version_table(replay.schema)
    # what the reader could not resolve leaves the schema incompletely known: carried as
    # info diagnostics, reported by the contract (C014), never dropped
    unresolved = [Diagnostic(code="I004", message=f"{label}: {op.reason}", loc=op.loc,
                             severity="info", object=op.table)
                  for op in result.operations if isinstance(op, Unresolved)]
    return replay.schema, [*result.diagnostics, *unresolved], replay.conflicts


def load_sql(path: Path, shown: str) -> tuple[Schema, list[Diagnostic], list[Conflict]]:
    return read_schema_sql(read_text(path, shown), shown)


def load_yaml(path: Path, shown: str) -> Schema:
    from b03lint.schema.canonical_yaml import load_canonical_yaml

    text = read_text(path, shown)
    schema: Schema = load_canonical_yaml(text, shown)
    schema.path = shown
    return schema


#: the canonical SQL being read in a forked child while the migrations are read:
#: (path, display path, sha256 of the bytes it reads) -> the child
_PREFETCHED: dict[tuple[str, str, str], ForkedCall] = {}
#: the canonical SQL read (and cached) by this process before the migrations, likewise
_EARLY: dict[tuple[str, str, str], tuple[Any, ...]] = {}
#: the namespace of the canonical SQL's entry in the parse cache
SQL_NAMESPACE = "canonical-sql"


def prefetch(config: Config, workers: int | Callable[[], int], early: bool = False) -> None:
    """Start reading the canonical SQL in a forked child when it is not cached and
    ``workers`` (the processes the engine may use, from the ``jobs`` setting and the idle
    CPUs; a callable is asked only once the file is known not to be cached) is more than
    one, so that it is read while this process reads the migrations instead of after
    them. :func:`load` takes the child's result when the file's bytes are still the ones
    it read; whatever goes wrong there, it reads the file itself.

    ``early`` (a rule will read the canonical schema): with no child to read it, this
    process reads and caches it now, before the migrations. Pickling it for the cache needs
    several times its size for a moment (the pickler's memo: 70 MB for the 7 MB entry of
    the 20,000-revision chain); now, that moment is not on top of every migration read."""
    from b03lint.forked import ForkedCall, fork_is_safe

    sql_path = config.path("canonical_sql")
    if sql_path is None or (isinstance(workers, int) and workers < 2 and not early):
        return
    from b03lint.cache import Cache, dumps
    from b03lint.paths import display_path

    try:
        data = sql_path.read_bytes()
    except OSError:
        return  # load() reports it
    shown = display_path(sql_path)
    digest = hashlib.sha256(data).hexdigest()
    cache = Cache.open(config)
    if cache is not None and cache.load_bytes(cache.key(SQL_NAMESPACE, shown, digest)):
        return  # cached: nothing to gain
    forking = (workers if isinstance(workers, int) else workers()) >= 2 and fork_is_safe()
    if not (forking or early):
        return
    import b03lint.readers.sql  # noqa: F401  (imported here, inherited by the child)

    if not forking:
        try:
            text = _decoded(data, shown)
        except CanonicalError:
            return  # load() reports it
        value = share_strings(read_schema_sql(text, shown))
        if cache is not None:
            cache.store(cache.key(SQL_NAMESPACE, shown, digest), value)
            cache.flush()
        _EARLY[(str(sql_path), shown, digest)] = value
        return

    def read() -> bytes:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            return b""  # the parent reports it
        return dumps(share_strings(read_schema_sql(text, shown)))

    with contextlib.suppress(OSError):  # no more processes: load() reads it
        _PREFETCHED[(str(sql_path), shown, digest)] = ForkedCall(read)


def cancel_prefetch() -> None:
    """Stop a child whose reading nobody asked for (no rule read the canonical schema)."""
    _EARLY.clear()
    for child in _PREFETCHED.values():
        child.cancel()
    _PREFETCHED.clear()


def _prefetched(config: Config, path: Path, shown: str,
                data: bytes) -> tuple[Any, ...] | None:
    """The forked child's reading of these bytes, if one was started for them. Its pickled
    form is what the parse cache keeps, as it is (not pickled again)."""
    import pickle

    digest = hashlib.sha256(data).hexdigest()
    early = _EARLY.pop((str(path), shown, digest), None)
    if early is not None:
        cancel_prefetch()
        return early
    child = _PREFETCHED.pop((str(path), shown, digest), None)
    cancel_prefetch()  # another one (the file changed since): not needed any more
    blob = None if child is None else child.result()
    if not blob:
        return None
    try:
        value = pickle.loads(blob)
    except Exception:
        return None
    if not (isinstance(value, tuple) and len(value) == 3):
        return None
    from b03lint.cache import Cache

    cache = Cache.open(config)
    if cache is not None:
        cache.store_bytes(cache.key(SQL_NAMESPACE, shown, digest), blob)
        cache.flush()
    return value


def load(config: Config, shown: dict[str, str] | None = None) -> Canonical:
    """Read whichever canonical files are configured; problems land in ``errors``. What
    was parsed is cached by content (b03lint.cache), so an unchanged file costs a read."""
    from b03lint.cache import cached
    from b03lint.paths import display_path

    out = Canonical()
    sql_path, yaml_path = config.path("canonical_sql"), config.path("canonical_yaml")
    if sql_path is not None:
        out.sql_path = display_path(sql_path)
        try:
            shown_sql = out.sql_path
            data = sql_path.read_bytes() if _PREFETCHED or _EARLY else None
        except OSError:
            data = None
        try:
            def compute() -> tuple[Any, ...]:
                # kept for as long as the cache keeps it: one object per distinct string
                if data is not None:
                    return share_strings(read_schema_sql(_decoded(data, shown_sql), shown_sql))
                return share_strings(load_sql(sql_path, shown_sql))

            found = None if data is None else _prefetched(config, sql_path, shown_sql, data)
            out.sql, out.diagnostics, out.conflicts = found if found is not None else cached(
                config, SQL_NAMESPACE, sql_path, shown_sql, tuple, compute, data)
        except CanonicalError as exc:
            out.errors.append(exc.to_error())
        finally:
            cancel_prefetch()
    if yaml_path is not None:
        out.yaml_path = display_path(yaml_path)
        try:
            shown_yaml = out.yaml_path
            out.yaml = cached(config, "canonical-yaml", yaml_path, shown_yaml, Schema,
                              lambda: share_strings(load_yaml(yaml_path, shown_yaml)))
        except CanonicalError as exc:
            out.errors.append(exc.to_error())
    out.schema = out.sql or out.yaml
    if out.schema is not None:
        out.schema.invariants = (out.yaml.invariants if out.yaml is not None
                                 else out.schema.invariants)
    # canonical SQL that PostgreSQL rejects is not fully known: the contract checks cannot be
    # trusted, so the run cannot pass (exit 2), however clean the rest looks
    out.errors += [ToolError(f"{d.code}: {d.message}", d.loc.path, d.loc.line, d.loc.column + 1)
                   for d in out.diagnostics if d.fatal or d.severity == "blocking"]
    return out


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
