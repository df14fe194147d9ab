"""A content-hash cache of what b03lint computed from a file, so a second run reads a pickle
instead of parsing again.

Layout, under the project's ``cache_dir`` (default ``.b03lint_cache/``)::

    .b03lint_cache/
      CACHEDIR.TAG  .gitignore            (so backup tools and git skip it)
      <salt>/pack-<time>-<pid>-<rand>.bin entries, many per file, each file written once

* ``salt`` names everything that changes what a reader produces besides the file itself:
  b03lint's version, the cache format, the Python version, :meth:`Config.fingerprint` and a
  stamp (path, size, mtime) of b03lint's own source files, so an edited checkout never
  serves values an older reader computed. A new salt starts a new folder; folders of other
  salts untouched for a week are removed when that happens.
* An entry's key is its namespace (``migration``, ``canonical-sql``, ...) and a hash of the
  display path (a cached value carries the display path in every
  :class:`~b03lint.operations.Location`, so two display paths never share an entry) and
  of the sha256 of the file's bytes. Its value is a pickle.
* A pack is ``MAGIC + HMAC-SHA256(secret, payload) + payload``, ``payload`` the records
  ``key -> pickled value`` (:mod:`b03lint.packfile`), written as they come. The secret
  is per user, outside the project (``$XDG_CACHE_HOME/b03lint/secret``), so a cache
  folder committed to a repository or written by someone else is never unpickled:
  unpickling runs code, and ``b03lint check`` promises not to run the project's.
* Packs are written atomically (a temporary file in the same folder, then ``os.replace``)
  and never modified, so concurrent runs never see half a file and never overwrite each
  other. A truncated, corrupt, foreign or unreadable pack is deleted and its entries are
  computed again and rewritten. The cache never makes a run fail; when the folder cannot
  be written the run simply goes uncached.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import os
import pickle
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar, cast

from b03lint import __version__, held
from b03lint.config import Config
from b03lint.packfile import MAGIC as MAGIC  # re-exported
from b03lint.packfile import PACK_PREFIX, PACK_SUFFIX, PackWriter
from b03lint.safeio import read_regular

T = TypeVar("T")

#: bump when the entry layout or the meaning of a cached value changes
CACHE_FORMAT = 4
#: this many packs in a salt folder make the next flush compact them into one
MAX_PACKS = 8
#: fewest stale entries worth a compaction
MIN_STALE = 64
#: sibling salt folders untouched this long are removed when a new salt folder is made
STALE_AFTER = 7 * 24 * 3600

_CACHEDIR_TAG = (b"Signature: 8a477f597d28d172789f06886806bc55\n"
                 b"# This file is a cache directory tag created by b03lint.\n"
                 b"# For information about cache directory tags see https://bford.info/cachedir/\n")


@functools.lru_cache(maxsize=1)
def code_stamp() -> str:
    """Path, size and modification time of every source file of the b03lint package: cheap
    (a few dozen ``stat`` calls) and it changes whenever the code that fills the cache does."""
    package = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(package):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in sorted(filenames):
            if name.endswith(".py"):
                try:
                    st = os.stat(os.path.join(dirpath, name))
                except OSError:
                    continue
                rel = os.path.relpath(os.path.join(dirpath, name), package)
                h.update(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def salt_for(config: Config, stamp: str | None = None) -> str:
    """Everything besides a file's bytes and display path that its cached value depends on."""
    parts = [
        f"b03lint {__version__}",
        f"format {CACHE_FORMAT}",
        f"{sys.implementation.name} {sys.version}",
        f"config {config.fingerprint()}",
        f"code {code_stamp() if stamp is None else stamp}",
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]


# --------------------------------------------------------------------------- pickling

#: class -> the slot setters of its dataclass fields, in order (None: not a slotted dataclass)
_SETTERS: dict[type, tuple[tuple[str, ...], tuple[Any, ...]] | None] = {}


def _slotted_fields(cls: type) -> tuple[tuple[str, ...], tuple[Any, ...]] | None:
    """Field names and slot descriptors of a ``@dataclass(slots=True)`` class, or None."""
    try:
        return _SETTERS[cls]
    except KeyError:
        pass
    found: tuple[tuple[str, ...], tuple[Any, ...]] | None = None
    fields = cls.__dict__.get("__dataclass_fields__")
    if fields is not None and "__slots__" in cls.__dict__:
        import dataclasses
        import types

        names = tuple(f.name for f in dataclasses.fields(cls))
        descriptors = tuple(getattr(cls, n, None) for n in names)
        if all(isinstance(d, types.MemberDescriptorType) for d in descriptors):
            found = (names, descriptors)
    _SETTERS[cls] = found
    return found


def _rebuild(cls: type, *values: Any) -> Any:
    """Unpickle a slotted dataclass: fill its slots directly. Frozen dataclasses otherwise
    pickle their state as a list and unpickle it through ``dataclasses.fields()`` once per
    object (measured on 1,000 migrations, 20,000 objects: 15% slower to load, 12% larger).

    The field values come as the call's own arguments, not in a tuple of their own: the
    unpickler keeps every tuple it built until the load ends. With a second tuple per
    object, the 27 MB canonical schema of the 20,000-revision benchmark chain peaked at
    59 MB while it loaded, 47 MB without; 5,000 migrations load 16% faster (353 ms to
    297 ms). Each class has its own builder (:func:`_builder`)."""
    build = _BUILDERS.get(cls)
    if build is None:
        build = _BUILDERS[cls] = _builder(cls, False)
    return build(*values)


def _rebuild_sharing(cls: type, *values: Any) -> Any:
    """:func:`_rebuild`, with each text field interned: one object for every copy of a
    name across all the values loaded so (see :func:`loads`)."""
    build = _SHARING_BUILDERS.get(cls)
    if build is None:
        build = _SHARING_BUILDERS[cls] = _builder(cls, True)
    return build(*values)


#: class -> the function that makes one from its field values (plain; interning)
_BUILDERS: dict[type, Callable[..., Any]] = {}
_SHARING_BUILDERS: dict[type, Callable[..., Any]] = {}


def _builder(cls: type, sharing: bool) -> Callable[..., Any]:
    """A function that makes a ``cls`` from its field values, one statement per slot,
    written for the class as ``dataclasses`` writes ``__init__``: with a generic loop over
    the slot setters (``zip``, a call per field) 1,000 migrations loaded in 53 ms, now
    31-33 ms (best of 40). The text depends on the number of fields alone (the class and
    its setters are the function's globals), so a few texts serve every class, compiled
    once per user (:func:`b03lint.codetable.compiled`). A wrong number of values is a
    ``TypeError``, which :meth:`Cache.load` counts as a miss."""
    spec = _slotted_fields(cls)
    if spec is None:
        raise pickle.UnpicklingError(f"{cls.__qualname__} is not a slotted dataclass")
    count = len(spec[0])
    names = ", ".join(f"v{i}" for i in range(count))
    value = "intern(v{0}) if v{0}.__class__ is str else v{0}" if sharing else "v{0}"
    lines = [f"def build({names}):", "    o = new(cls)"]
    lines += [f"    s{i}(o, {value.format(i)})" for i in range(count)]
    lines.append("    return o")
    scope: dict[str, Any] = {"new": object.__new__, "cls": cls, "intern": sys.intern}
    scope.update((f"s{i}", d.__set__) for i, d in enumerate(spec[1]))
    from b03lint.codetable import compiled

    exec(compiled("\n".join(lines) + "\n"), scope)
    build: Callable[..., Any] = scope["build"]
    return build


class _SharingUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if module == __name__ and name == "_rebuild":
            return _rebuild_sharing
        return super().find_class(module, name)


def loads(payload: bytes | memoryview, intern_names: bool = False) -> Any:
    """Unpickle a cache entry. ``intern_names``: intern its objects' text fields, so that the
    table, column and type names every migration repeats are one object for the whole
    run, whichever file they were read from: 5,000 migrations loaded take 12.6 MB
    instead of 21.5 MB, for about a fifth more time to load them. Worth it for a large
    chain (:data:`b03lint.loader.INTERN_FROM`), not for a pre-commit run's few hundred."""
    if not intern_names:
        return pickle.loads(payload)
    return _SharingUnpickler(io.BytesIO(payload)).load()


#: class -> what pickles one of its objects (None: pickled as Python pickles it)
_REDUCERS: dict[type, Callable[[Any], tuple[Any, ...]] | None] = {}


def _reducer(cls: type) -> Callable[[Any], tuple[Any, ...]] | None:
    """A function that gives :func:`_rebuild` and a ``cls`` object's field values, one
    attribute read per field, written for the class: with the generic form (a slot
    getter called per field, in a list) pickling 1,000 migrations took 57-59 ms, now
    32-41 ms (best of 40; the same bytes)."""
    spec = _slotted_fields(cls)
    if spec is None:
        return None
    # field names are identifiers (dataclasses refuses any other), so each is read as one
    fields = "".join(f"o.{name}, " for name in spec[0])
    text = f"def reduce(o):\n    return rebuild, (cls, {fields})\n"
    scope: dict[str, Any] = {"rebuild": _rebuild, "cls": cls}
    from b03lint.codetable import compiled

    exec(compiled(text), scope)
    reduce: Callable[[Any], tuple[Any, ...]] = scope["reduce"]
    return reduce


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        cls = type(obj)
        try:
            reduce = _REDUCERS[cls]
        except KeyError:
            reduce = _REDUCERS[cls] = _reducer(cls)
        return NotImplemented if reduce is None else reduce(obj)


def dumps(value: object) -> bytes:
    """Pickle ``value`` for the cache (slotted dataclasses as their field values)."""
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
    return buffer.getvalue()


def _secret_dir() -> Path | None:
    base = os.environ.get("XDG_CACHE_HOME")
    if base:
        return Path(base) / "b03lint"
    try:
        return Path.home() / ".cache" / "b03lint"
    except (RuntimeError, KeyError):
        return None


def user_secret() -> bytes | None:
    """The per-user key that signs cache entries; created on first use (mode 0600).
    ``None`` when it can be neither read nor created: the cache is then off."""
    folder = _secret_dir()
    return None if folder is None else _secret_in(folder)


@functools.lru_cache(maxsize=4)
def _secret_in(folder: Path) -> bytes | None:
    """The secret kept in ``folder``, created when missing. Only a folder and a file that
    are this user's alone are trusted (:func:`b03lint.private.private_folder`,
    :func:`~b03lint.private.read_private`): anyone else who can write either could sign
    cache entries, and the entries are unpickled. A secret that exists but is not private
    is left alone, and the cache is off."""
    from b03lint.private import private_folder, read_private

    path = folder / "secret"
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError:
        return None
    if not private_folder(str(folder)):
        return None
    if path.exists() or path.is_symlink():
        data = read_private(str(path), secret=True)
        return data if data is not None and len(data) >= 32 else None
    try:
        tmp = folder / f".secret-{os.getpid()}-{time.monotonic_ns()}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0),
                     0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(os.urandom(32))
        try:
            # link, not replace: when two runs create it at once, the first one wins and
            # both then read the same secret
            os.link(tmp, path)
        except FileExistsError:
            pass
        except OSError:  # a file system without hard links
            if not path.exists():
                os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()
    except OSError:
        return None
    data = read_private(str(path), secret=True)
    return data if data is not None and len(data) >= 32 else None


class Cache:
    """One run's view of the cache: a folder, a salt and a secret. Every method is best
    effort and never raises for I/O or bad data.

    Entries live in *pack* files, each written once, atomically, and never modified: a run
    reads every pack of its salt folder into an index, and :meth:`flush` writes what it
    added as one new pack. One file per run, not one per entry: creating a file costs
    about 1 ms of kernel time on the benchmark machine, as much as parsing a migration.
    Packs that are corrupt, truncated or signed with another key are deleted when found
    (their entries are simply computed again). When packs pile up or most entries of a
    namespace went unused, :meth:`flush` compacts: one pack of what is still used
    replaces the packs this run read. A pack another run writes meanwhile is left alone.
    """

    def __init__(self, root: Path, salt: str, secret: bytes):
        self.root = root
        self.salt = salt
        self.secret = secret
        self.folder = root / salt
        #: the entries of the packs read, each dropped once loaded (see :meth:`load`)
        self._index: dict[str, bytes | memoryview] | None = None
        self._packs: list[Path] = []
        #: the pack this run is writing, entry by entry, and the keys written to it
        self._writer: PackWriter | None = None
        self._pending: set[str] = set()
        #: the folder cannot be written: this run goes uncached
        self._unwritable = False
        #: keys of packs this instance finished, and keys loaded and dropped from the
        #: index: their values are only on disk (a compaction reads them back)
        self._written: set[str] = set()
        self._evicted: set[str] = set()
        self._used: set[str] = set()
        #: namespaces this run asked for: only their unused entries can be judged stale
        self._touched: set[str] = set()
        #: counters for this run (tests read them)
        self.hits = 0
        self.misses = 0
        self.writes = 0

    @classmethod
    def open(cls, config: Config) -> Cache | None:
        """The cache ``config`` asks for, or ``None`` when it is off or unusable. Within
        :func:`one_run`, every caller gets the same instance for the same folder and salt,
        so that the packs are read (and their MACs checked) once per run, not once per
        caller."""
        if not config.get("cache"):
            return None
        root = config.path("cache_dir")
        if root is None:
            return None
        secret = user_secret()
        if secret is None:
            return None
        salt = salt_for(config)
        shared = _SHARED[0]
        if shared is None:
            return cls(root, salt, secret)
        found = shared.get((root, salt))
        if found is None or found.secret != secret:
            found = shared[(root, salt)] = cls(root, salt, secret)
        return found

    def companion(self, name: str) -> Cache:
        """A cache of its own inside this one's folder (``<salt>/<name>/``), same salt and
        secret, for entries only some runs read (the SQL memo): its packs are read only by
        a run that asks for it, so every other run neither reads nor holds them (at 20,000
        revisions they added 37 MB to a warm run's peak), and they go when the salt's
        folder goes. Not shared through :func:`one_run`: its owner flushes it, or
        discards it, and lets it go with its index and bookkeeping."""
        return Cache(self.folder, name, self.secret)

    def read_packs(self) -> None:
        """Read the packs now (before forking workers, which then share what was read)."""
        self._load_index()

    # ------------------------------------------------------------------ keys

    @staticmethod
    def key(namespace: str, shown: str, digest: str) -> str:
        """The entry name of a value: its namespace (``migration``, ``canonical-sql``...), the
        display path and the sha256 (hex) of the source bytes."""
        raw = f"{namespace}\0{shown}\0{digest}".encode()
        return f"{namespace}:{hashlib.sha256(raw).hexdigest()[:40]}"

    # ------------------------------------------------------------------ packs

    def packs(self) -> list[Path]:
        """The pack files of this salt, oldest first."""
        try:
            names = sorted(n for n in os.listdir(self.folder)
                           if n.startswith(PACK_PREFIX) and n.endswith(PACK_SUFFIX))
        except OSError:
            return []
        return [self.folder / n for n in names]

    def _read_pack(self, path: Path) -> dict[str, memoryview] | None:
        data = read_regular(path)  # a FIFO or a device in its place is refused at once
        if data is None:
            return None
        from b03lint.packfile import parse

        return parse(data, self.secret)

    def _load_index(self) -> dict[str, bytes | memoryview]:
        if self._index is None:
            self._index = {}
            for path in self.packs():
                entries = self._read_pack(path)
                if entries is None:
                    if path.is_file():
                        with contextlib.suppress(OSError):
                            path.unlink()  # healed: its entries are written again
                    continue
                self._index.update(entries)  # newer packs win
                self._packs.append(path)
        return self._index

    def _from_disk(self, keys: set[str]) -> dict[str, memoryview]:
        """The values of ``keys`` as the packs this instance read or wrote hold them
        (newest wins): for the entries whose copy in memory was dropped."""
        found: dict[str, memoryview] = {}
        for path in self._packs:
            entries = self._read_pack(path) or {}
            found.update((k, entries[k]) for k in keys & entries.keys())
        return found

    # ------------------------------------------------------------------ reading

    def load_bytes(self, key: str) -> bytes | memoryview | None:
        """The pickled value of an entry, or ``None`` (also for an entry this run stored:
        its value went to disk as it was stored, and is computed again if asked for)."""
        index = self._load_index()
        if key in self._pending:
            return None
        if key in self._evicted:
            self._evicted.discard(key)
            index.update(self._from_disk({key}))
        return index.get(key)

    def load(self, key: str, expected: type[T], shared: bool = False,
             intern_names: bool = False) -> T | None:
        """The cached object, when it is an instance of ``expected``; else ``None`` (and
        the entry is forgotten, so the value computed instead replaces it). A loaded
        entry's pickled copy is dropped from memory, since the caller holds the value;
        ``shared``: an entry many callers ask for (the SQL reading of a text several
        files hold), whose copy stays, each caller unpickling its own value;
        ``intern_names``: see :func:`loads`."""
        self._touched.add(key.partition(":")[0])
        if not shared:
            held.note(self.folder)  # (a resident process's fork: for the next run)
        payload = self.load_bytes(key)
        value: object = None
        if payload is not None:
            # a resident process's fork: the value it unpickled ahead from these bytes
            value = None if shared else held.take(payload)
            try:
                if value is None:
                    value = loads(payload, intern_names)
            except Exception:  # a payload written by an incompatible b03lint
                value = None
        index = self._load_index()
        if value is None or not isinstance(value, expected):
            self.misses += 1
            index.pop(key, None)
            return None
        self._used.add(key)
        self.hits += 1
        if not shared and key not in self._pending and index.pop(key, None) is not None:
            self._evicted.add(key)
        return value

    def keep_used(self, keys: tuple[str, ...]) -> None:
        """Count ``keys`` as used by this run, so that no compaction drops them: the
        entries a cached value depends on without asking for them (the SQL readings a
        cached migration was read with, for its next edit)."""
        self._used.update(keys)

    # ------------------------------------------------------------------ writing

    def store(self, key: str, value: object) -> None:
        """Write ``value`` into this run's pack (:meth:`flush` completes it)."""
        try:
            payload = dumps(value)
        except Exception:
            return
        self.store_bytes(key, payload)

    def store_bytes(self, key: str, payload: bytes | memoryview) -> None:
        self._used.add(key)
        self._touched.add(key.partition(":")[0])
        writer = self._open_writer()
        if writer is None:
            return
        try:
            writer.add(key, payload)
        except OSError:
            self._abort()
            return
        self._pending.add(key)
        self._evicted.discard(key)  # superseded: the copy on disk is not this one

    def _open_writer(self) -> PackWriter | None:
        if self._writer is None and not self._unwritable:
            self._load_index()  # the packs there before this run's, for flush
            try:
                if self._prepare():
                    self._writer = PackWriter(self.folder, self.secret)
            except OSError:
                pass
            self._unwritable = self._writer is None
        return self._writer

    def discard(self) -> None:
        """Forget a pack that was begun and not flushed (a run cut short): its temporary
        file is removed now, not an hour later."""
        if self._writer is not None:
            self._writer.abort()
            self._writer = None
            self._pending.clear()

    def _abort(self) -> None:
        if self._writer is not None:
            self._writer.abort()
        self._writer = None
        self._pending.clear()
        self._unwritable = True

    def flush(self) -> None:
        """Complete the pack of what this run stored. Entries of a namespace this run asked
        for but did not use are stale (an older version of a file, a file since removed);
        when they outnumber the ones used, or packs pile up (:data:`MAX_PACKS`), the pack
        also takes every entry still used, and replaces the packs this run read."""
        index = self._load_index()
        stale = {k for k in index
                 if k not in self._used and k.partition(":")[0] in self._touched}
        compact = bool(self._packs) and (
            len(self._packs) >= MAX_PACKS or len(stale) > max(MIN_STALE, len(self._used)))
        if not self._pending and not compact:
            return
        writer = self._open_writer()
        if writer is None:
            return
        try:
            if compact:
                kept = {k: v for k, v in index.items()
                        if k not in stale and k not in self._pending}
                kept.update(self._from_disk((self._evicted | self._written) - self._pending))
                for k, v in kept.items():
                    writer.add(k, v)
                del kept
            written = writer.finish()
        except OSError:
            self._abort()
            self._unwritable = False  # the next store may try again
            return
        self._writer = None
        if compact:
            for path in self._packs:
                with contextlib.suppress(OSError):
                    path.unlink()
            self._packs = []
            self._remove_leftovers()
            for k in stale:  # gone from disk: a later flush must not count them again
                index.pop(k, None)
        self._packs.append(written)  # a later flush of this instance may compact it too
        self.writes += len(self._pending)
        self._written |= self._pending
        self._pending.clear()

    def _remove_leftovers(self) -> None:
        """Temporary files of runs that died mid-write, an hour on."""
        cutoff = time.time() - 3600
        try:
            names = [n for n in os.listdir(self.folder) if n.startswith(".tmp-")]
        except OSError:
            return
        for name in names:
            with contextlib.suppress(OSError):
                if os.stat(self.folder / name).st_mtime < cutoff:
                    os.unlink(self.folder / name)

    def _prepare(self) -> bool:
        try:
            if not self.root.is_dir():
                self.root.mkdir(parents=True, exist_ok=True)
                # written once, best effort: tools that honour them skip the folder
                (self.root / "CACHEDIR.TAG").write_bytes(_CACHEDIR_TAG)
                (self.root / ".gitignore").write_text("# created by b03lint\n*\n")
            if not self.folder.is_dir():
                self.folder.mkdir(exist_ok=True)
                self._prune_siblings()
        except OSError:
            return False
        return True

    def _prune_siblings(self) -> None:
        """Remove salt folders (older b03lint versions, other configurations) untouched for
        :data:`STALE_AFTER` seconds."""
        now = time.time()
        try:
            siblings = [p for p in self.root.iterdir()
                        if p.is_dir() and p.name != self.salt and len(p.name) == len(self.salt)]
        except OSError:
            return
        for folder in siblings:
            try:
                if now - folder.stat().st_mtime < STALE_AFTER:
                    continue
                for entry in folder.iterdir():
                    if entry.is_dir() and not entry.is_symlink():  # a companion
                        for inner in entry.iterdir():
                            inner.unlink()
                        entry.rmdir()
                    else:
                        entry.unlink()
                folder.rmdir()
            except OSError:
                continue

    # ------------------------------------------------------------------ memo

    def memo(self, namespace: str, shown: str, data: bytes, expected: type,
             compute: Callable[[], T]) -> T:
        """``compute()``, or its cached value for these bytes at this display path (when
        that value is an instance of ``expected``); a computed value is written at once."""
        key = self.key(namespace, shown, hashlib.sha256(data).hexdigest())
        cached = self.load(key, expected)
        if cached is not None:
            return cast(T, cached)
        value = compute()
        self.store(key, value)
        self.flush()
        return value


#: the instances of the run in progress (:func:`one_run`), by folder and salt
_SHARED: list[dict[tuple[Path, str], Cache] | None] = [None]


@contextlib.contextmanager
def one_run() -> Iterator[None]:
    """While the block runs, :meth:`Cache.open` hands every caller the same instance per
    folder and salt (the engine wraps one lint in it). Nested blocks share the outer one."""
    outer = _SHARED[0] is None
    if outer:
        _SHARED[0] = {}
    try:
        yield
    finally:
        if outer:
            for cache in (_SHARED[0] or {}).values():
                cache.discard()  # only a run cut short leaves a pack unflushed
            _SHARED[0] = None


def cached(config: Config, namespace: str, path: Path, shown: str, expected: type,
           compute: Callable[[], T], data: bytes | None = None) -> T:
    """``compute()`` for the file at ``path`` (shown as ``shown``), or the value cached for
    its current bytes. For whole-file results that are costly to rebuild, such as the
    canonical schema parsed from SQL. Exceptions of ``compute`` propagate and are never
    cached; with the cache off, or the file unreadable, it is simply ``compute()``.
    ``data``: the file's bytes, when the caller has read them already."""
    cache = Cache.open(config)
    if cache is None:
        return compute()
    if data is None:
        try:
            data = path.read_bytes()
        except OSError:
            return compute()
    return cache.memo(namespace, shown, data, expected, compute)
