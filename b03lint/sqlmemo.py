"""The SQL memo of a run: the readings of embedded SQL texts (see
:mod:`b03lint.readers.memo`), kept in the run's cache under the ``sql`` namespace.

When one migration is edited, its cached reading no longer matches its bytes and the
file is read again; the SQL texts it executes, its CHECK conditions and textual index
elements are usually the ones it had before. Their readings are entries of their own,
keyed by the text and how it is read (phase, the call, template or not), never by where
it is written, so the edited file takes them back and does not import pglast at all.
Measured with callgrind on the pre-commit case of ``bench/instructions.py`` (one file of
a 100-revision chain edited, its SQL unchanged): 869 M instructions without the memo,
637 M with it. A cold 1,000-revision run writes the entries at no net cost (8,679 M
before, 8,534 M after, with readings placed in the file by moving their records).

An entry stays while a file uses it: each reading records the keys it used
(``MigrationFile.sql_keys``), and a run that reads files counts the keys of every file it
serves from the cache as used (:meth:`SqlMemo.keep_used`), so compaction drops only the
readings of texts no current file holds. The entries live in a companion folder of the
cache (``<salt>/sql/``): a run that reads no file (every migration cached) never opens it.

The schema layer asks questions of its own about expression texts (which columns a
CHECK or an index predicate uses, the text after a rename: see
:mod:`b03lint.schema.expressions`). :func:`expression_memo` keeps their answers in the
parse cache itself, namespace ``expression``: a few hundred small entries at most, read
with the packs every run reads anyway.

In a forked worker the memo reads the parent's index (inherited, read-only) and
*collects* the entries it computes: the worker hands them back with its files, and the
parent writes them (:meth:`SqlMemo.deliver`, :meth:`SqlMemo.receive`). A worker never
writes the parent's pack.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from b03lint.cache import Cache
    from b03lint.config import Config

#: namespace of SQL readings in the cache, and the companion folder that holds them
NAMESPACE = "sql"


class SqlMemo:
    """The readings of SQL texts one run takes from and adds to ``cache``'s companion
    folder ``sql`` (:meth:`Cache.companion`: runs that read no file never read them)."""

    def __init__(self, cache: Cache, namespace: str = NAMESPACE,
                 companion: bool = True) -> None:
        self.namespace = namespace
        #: ``companion``: in the folder of its own (:meth:`Cache.companion`); else the
        #: cache itself, whose packs every run reads
        self.cache = cache.companion(namespace) if companion else cache
        self.cache.read_packs()  # before any worker is forked: they share the index
        #: keys written (or collected) this run: a text read twice is written once
        self._kept: set[str] = set()
        #: in a worker: the entries computed, for the parent to write
        self._collected: list[tuple[str, bytes]] | None = None

    def key(self, ask: str) -> str:
        digest = hashlib.sha256(ask.encode("utf-8", "surrogatepass")).hexdigest()
        return f"{self.namespace}:{digest[:40]}"

    def take(self, key: str) -> object | None:
        """A fresh copy of the value kept for ``key`` (unpickled on each call), or None;
        an entry that does not unpickle is forgotten."""
        return self.cache.load(key, object, shared=True)

    def keep(self, key: str, value: object) -> None:
        if key in self._kept:
            return
        from b03lint.cache import dumps

        try:
            payload = dumps(value)
        except Exception:
            return
        self._kept.add(key)
        if self._collected is not None:
            self._collected.append((key, payload))
        else:
            self.cache.store_bytes(key, payload)

    def keep_used(self, keys: tuple[str, ...]) -> None:
        """The entries a migration served from the cache was read with: still in use."""
        self.cache.keep_used(keys)

    def flush(self) -> None:
        """Write what this run added (the memo is done: its owner then lets it go, and
        with it the index and key sets)."""
        self.cache.flush()

    def discard(self) -> None:
        """Forget a pack begun and not flushed (a run cut short)."""
        self.cache.discard()

    # ------------------------------------------------------------------ workers

    def collecting(self) -> None:
        """From now on, entries are collected for :meth:`deliver` instead of written (in
        a worker process, which must not write the parent's pack)."""
        self._collected = []

    def deliver(self) -> list[tuple[str, bytes]]:
        """The entries collected so far (a worker's share), and forget them."""
        found, self._collected = self._collected or [], []
        return found

    def receive(self, entries: object) -> None:
        """Write the entries a worker delivered (anything else is ignored)."""
        if not isinstance(entries, list):
            return
        for entry in entries:
            if (isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], str)
                    and entry[0].startswith(f"{self.namespace}:")
                    and isinstance(entry[1], bytes) and entry[0] not in self._kept):
                self._kept.add(entry[0])
                self.cache.store_bytes(entry[0], entry[1])


#: namespace of the schema layer's answers about expression texts
EXPRESSIONS = "expression"


def expression_memo(config: Config) -> SqlMemo | None:
    """The memo of :func:`b03lint.schema.expressions.remembering` for a run of ``config``:
    in its parse cache (the run's shared instance, see :func:`b03lint.cache.one_run`), or
    None when the cache is off. Its owner flushes it when the run is done with it."""
    from b03lint.cache import Cache

    cache = Cache.open(config)
    return None if cache is None else SqlMemo(cache, EXPRESSIONS, companion=False)
