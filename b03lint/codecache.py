"""A bytecode cache for the methods ``dataclasses`` writes, so that b03lint's start-up does
not compile them again in every process.

``@dataclass`` builds each class's ``__init__``, ``__repr__``, ``__eq__``, ``__hash__``,
``__setattr__``... as source text and compiles it with ``exec`` (one call per method on
Python 3.10-3.12). b03lint defines about a hundred dataclasses on the path of a check (the
vocabulary of :mod:`b03lint.operations` alone has forty), and compiling those texts was
most of the cost of importing the engine: measured on this project's machine, importing
the engine, the reader and the rules took 170-200 ms without this cache and 70-90 ms with
it, in alternating fresh processes.

:func:`install` gives the ``dataclasses`` module its own ``exec`` (a module-level name
shadows the built-in for that module only) that looks the source text up in a table of
code objects and compiles only what is missing, exactly as ``exec`` would (filename
``<string>``, no inherited ``__future__`` flags); the classes are the same. The table is
kept per user and per Python (``$XDG_CACHE_HOME/b03lint/code-<tag>-<build>.bin``, the build
being a hash of ``sys.version``, of the bytecode magic number and of the ``-O`` level, so
that no other interpreter's or optimisation level's code is ever looked up). Every entry
is keyed by the exact source text it was compiled from, so a stale entry cannot exist: a
changed method is a different text, compiled and added.

Nothing but this user's own runs can put code there: the table is read only from a file
that is this user's own and writable by nobody else, in a folder that is this user's own
and writable by nobody else (:func:`b03lint.private.read_private`), and loaded with
:mod:`marshal` only when its MAC checks out (keyed BLAKE2b with a key derived from the
per-user secret of :mod:`b03lint.cache` for this purpose alone, over the header and the
payload); every value must then be a code object. Runs at the same time are safe: a table
is written to a new private temporary file and renamed over the old one (atomic), after
merging what another run wrote meanwhile; a reader sees the old table or the new one,
never a mix, and a lost update only means a compilation next time. Like Python's own
``__pycache__``, it is not written when ``sys.dont_write_bytecode`` is set.
"""

from __future__ import annotations

import builtins
import marshal
import os
import sys

from b03lint.codetable import compiled, state
from b03lint.private import private_folder, read_private
from b03lint.runcache import _read_secret, secret_path

try:
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - a Python built without the bundled BLAKE2
    from hashlib import blake2b

MAGIC = b"B03LINT-CODE-2\n"
_MAC_SIZE = 32
#: a table this many times larger than what the saving run used (and past
#: :data:`MIN_PRUNE` texts) keeps only that run's: the texts of classes an upgraded
#: b03lint no longer writes are never used again, and each costs every run its load and
#: MAC (a developer's table had 1,614 texts, 2.3 MB, where a check uses 154: about 20 ms
#: of a pre-commit run). A run that compiles nothing rewrites the table only to prune it.
PRUNE_FACTOR = 2
MIN_PRUNE = 400

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import CodeType
    from typing import Any

#: the table and this run's bookkeeping (kept in b03lint.codetable, which compiles from it)
_state = state


def _build() -> str:
    """What the compiled code depends on besides its text: this interpreter (its version
    string and bytecode magic number) and the ``-O`` level (``assert`` and ``__debug__``)."""
    external = sys.modules.get("_frozen_importlib_external")
    magic = getattr(external, "MAGIC_NUMBER", b"")
    return blake2b(sys.version.encode() + b"\0" + bytes(magic) + b"\0"
                   + str(sys.flags.optimize).encode(), digest_size=6).hexdigest()


def _path() -> str | None:
    secret = secret_path()
    if secret is None:
        return None
    tag = sys.implementation.cache_tag or "python"
    return os.path.join(os.path.dirname(secret), f"code-{tag}-{_build()}.bin")


def _key(secret: bytes) -> bytes:
    """The MAC key of code tables: derived from the user's secret for this use only, so
    that nothing signed for another purpose (a parse-cache pack, a result entry) can ever
    pass for a table of code."""
    return blake2b(secret, digest_size=32, person=b"b03lint-code").digest()


def _mac(key: bytes, payload: bytes) -> bytes:
    return blake2b(MAGIC + payload, key=key, digest_size=_MAC_SIZE).digest()


def _load(path: str, key: bytes) -> dict[str, CodeType]:
    data = read_private(path)
    head = len(MAGIC) + _MAC_SIZE
    if data is None or len(data) <= head or not data.startswith(MAGIC):
        return {}
    payload = data[head:]
    if _mac(key, payload) != data[len(MAGIC):head]:
        return {}
    try:
        table = marshal.loads(payload)
    except (EOFError, ValueError, TypeError):
        return {}
    if not isinstance(table, dict):
        return {}
    code_type = type(_load.__code__)
    if not all(type(k) is str and type(v) is code_type for k, v in table.items()):
        return {}
    return table


def install() -> None:
    """Serve ``dataclasses``' compilations from the table (once per process; a no-op when
    the secret is missing or ``dataclasses`` has no use for it)."""
    if _state:
        return
    path, secret = _path(), _read_secret()
    _state["installed"] = False
    if path is None or secret is None:
        return
    key = _key(secret)
    table = _load(path, key)
    new: dict[str, CodeType] = {}
    used: set[str] = set()

    def cached_exec(source: Any, globals: Any = None, locals: Any = None) -> None:
        builtins.exec(compiled(source) if isinstance(source, str) else source, globals,
                      locals)

    import dataclasses

    from b03lint import records

    dataclasses.exec = cached_exec  # type: ignore[attr-defined]
    records.exec = cached_exec  # type: ignore[attr-defined]
    _state.update(installed=True, path=path, key=key, table=table, new=new, used=used)


def _bloated(size: int) -> bool:
    return size > max(MIN_PRUNE, PRUNE_FACTOR * len(_state["used"]))


def save() -> None:
    """Write the table when this run compiled something it did not have (best effort):
    what another run wrote meanwhile is merged in, then the file is replaced atomically."""
    if not _state.get("installed") or sys.dont_write_bytecode:
        return
    new: dict[str, CodeType] = _state["new"]
    if not new and not _bloated(len(_state["table"])):
        return
    path: str = _state["path"]
    key: bytes = _state["key"]
    folder = os.path.dirname(path)
    if not private_folder(folder):
        return
    table = {**_state["table"], **_load(path, key)}
    if _bloated(len(table) + len(new)):
        table = {k: v for k, v in table.items() if k in _state["used"]}
    table.update(new)
    payload = marshal.dumps(table)
    tmp = os.path.join(folder, f".code-{os.getpid()}-{os.urandom(6).hex()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(tmp, flags, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(MAGIC + _mac(key, payload) + payload)
        os.replace(tmp, path)
    except OSError:
        try:  # noqa: SIM105 (contextlib is not imported on this path)
            os.unlink(tmp)
        except OSError:
            pass
        return
    _state["table"] = table
    new.clear()
