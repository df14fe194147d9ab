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
kept per user and per Python build (``$XDG_CACHE_HOME/b03lint/code-<tag>.bin``), written
atomically when a run compiled something new, read with :mod:`marshal` only when its MAC
(keyed BLAKE2b, the per-user secret of :mod:`b03lint.cache`) checks out: code objects are
run, so only what this user's own runs wrote is ever loaded. Like Python's own
``__pycache__``, it is not written when ``sys.dont_write_bytecode`` is set.
"""

from __future__ import annotations

import builtins
import marshal
import os
import sys

from b03lint.runcache import _read_secret, secret_path

try:
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - a Python built without the bundled BLAKE2
    from hashlib import blake2b

MAGIC = b"B03LINT-CODE-1\n"
_MAC_SIZE = 32
#: a table that grew past this many texts starts again from what this run used
MAX_ENTRIES = 4000

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import CodeType
    from typing import Any

_state: dict[str, Any] = {}


def _path() -> str | None:
    secret = secret_path()
    if secret is None:
        return None
    tag = sys.implementation.cache_tag or "python"
    build = blake2b(sys.version.encode(), digest_size=6).hexdigest()
    return os.path.join(os.path.dirname(secret), f"code-{tag}-{build}.bin")


def _load(path: str, secret: bytes) -> dict[str, CodeType]:
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError:
        return {}
    head = len(MAGIC) + _MAC_SIZE
    if len(data) <= head or not data.startswith(MAGIC):
        return {}
    payload = data[head:]
    if blake2b(payload, key=secret[:64], digest_size=_MAC_SIZE).digest() != data[len(MAGIC):head]:
        return {}
    try:
        table = marshal.loads(payload)
    except (EOFError, ValueError, TypeError):
        return {}
    return table if isinstance(table, dict) else {}


def install() -> None:
    """Serve ``dataclasses``' compilations from the table (once per process; a no-op when
    the secret is missing or ``dataclasses`` has no use for it)."""
    if _state:
        return
    path, secret = _path(), _read_secret()
    _state["installed"] = False
    if path is None or secret is None:
        return
    table = _load(path, secret)
    new: dict[str, CodeType] = {}
    used: set[str] = set()

    def cached_exec(source: Any, globals: Any = None, locals: Any = None) -> None:
        if isinstance(source, str):
            code = table.get(source)
            if code is None:
                code = new[source] = compile(source, "<string>", "exec", dont_inherit=True)
            used.add(source)
            source = code
        builtins.exec(source, globals, locals)

    import dataclasses

    dataclasses.exec = cached_exec  # type: ignore[attr-defined]
    _state.update(installed=True, path=path, secret=secret, table=table, new=new, used=used)


def save() -> None:
    """Write the table when this run compiled something it did not have (best effort)."""
    if not _state.get("installed") or not _state["new"] or sys.dont_write_bytecode:
        return
    table: dict[str, CodeType] = _state["table"]
    new: dict[str, CodeType] = _state["new"]
    if len(table) + len(new) > MAX_ENTRIES:
        table = {k: v for k, v in table.items() if k in _state["used"]}
    table.update(new)
    payload = marshal.dumps(table)
    mac = blake2b(payload, key=_state["secret"][:64], digest_size=_MAC_SIZE).digest()
    path: str = _state["path"]
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        with open(tmp, "wb") as fh:
            fh.write(MAGIC + mac + payload)
        os.replace(tmp, path)
    except OSError:
        try:  # noqa: SIM105 (contextlib is not imported on this path)
            os.unlink(tmp)
        except OSError:
            pass
        return
    new.clear()
