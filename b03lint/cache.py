"""A content-hash cache of what b03lint computed from a file, so a second run reads a pickle
instead of parsing again.

Layout, under the project's ``cache_dir`` (default ``.b03lint_cache/``)::

    .b03lint_cache/
      CACHEDIR.TAG  .gitignore          (so backup tools and git skip it)
      <salt>/<entry>                    one file per cached value

* ``salt`` names everything that changes what a reader produces besides the file itself:
  b03lint's version, the cache format, the Python version, :meth:`Config.fingerprint` and a
  stamp (path, size, mtime) of b03lint's own source files, so an edited checkout never
  serves values an older reader computed. A new salt starts a new folder; folders of other
  salts untouched for a week are removed when that happens.
* ``entry`` is a hash of the value's namespace, its display path (a cached value carries
  the display path in every :class:`~b03lint.operations.Location`, so two display paths
  never share an entry) and the sha256 of the file's bytes.
* An entry is ``MAGIC + HMAC-SHA256(secret, payload) + payload`` where ``payload`` is a
  pickle. The secret is per user, outside the project (``$XDG_CACHE_HOME/b03lint/secret``),
  so a cache folder committed to a repository or written by someone else is never
  unpickled: unpickling runs code, and ``b03lint check`` promises not to run the project's.
* Writes are atomic (a temporary file in the same folder, then ``os.replace``), so two runs
  writing the same entry at once both succeed and a reader never sees half a file. A
  missing, truncated, corrupt, foreign or unreadable entry is a miss: the value is computed
  again and the entry rewritten. The cache never makes a run fail; when the folder cannot
  be written the run simply goes uncached.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import io
import os
import pickle
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

from b03lint import __version__
from b03lint.config import Config

T = TypeVar("T")

#: bump when the entry layout or the meaning of a cached value changes
CACHE_FORMAT = 1
MAGIC = b"B03LINT-CACHE-1\n"
_MAC_SIZE = 32
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


def _rebuild(cls: type, values: tuple[Any, ...]) -> Any:
    """Unpickle a slotted dataclass: fill its slots directly. Frozen dataclasses otherwise
    unpickle through ``dataclasses.fields()`` once per object, which made reading a warm
    cache of 1,000 migrations (20,000 objects) about three times slower."""
    obj: Any = object.__new__(cls)
    spec = _slotted_fields(cls)
    if spec is None:
        raise pickle.UnpicklingError(f"{cls.__qualname__} is not a slotted dataclass")
    for descriptor, value in zip(spec[1], values, strict=True):
        descriptor.__set__(obj, value)
    return obj


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        spec = _slotted_fields(type(obj))
        if spec is None:
            return NotImplemented
        return _rebuild, (type(obj), tuple(d.__get__(obj) for d in spec[1]))


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
    path = folder / "secret"
    try:
        data = path.read_bytes()
        if len(data) >= 32:
            return data
    except OSError:
        pass
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = folder / f".secret-{os.getpid()}-{time.monotonic_ns()}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
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
        data = path.read_bytes()
    except OSError:
        return None
    return data if len(data) >= 32 else None


class Cache:
    """One run's view of the cache: a folder, a salt and a secret. Every method is best
    effort and never raises for I/O or bad data."""

    def __init__(self, root: Path, salt: str, secret: bytes):
        self.root = root
        self.salt = salt
        self.secret = secret
        self.folder = root / salt
        self._ready = False
        #: counters for this run (tests and ``--debug`` read them)
        self.hits = 0
        self.misses = 0
        self.writes = 0

    @classmethod
    def open(cls, config: Config) -> Cache | None:
        """The cache ``config`` asks for, or ``None`` when it is off or unusable."""
        if not config.get("cache"):
            return None
        root = config.path("cache_dir")
        if root is None:
            return None
        secret = user_secret()
        if secret is None:
            return None
        return cls(root, salt_for(config), secret)

    # ------------------------------------------------------------------ keys

    @staticmethod
    def key(namespace: str, shown: str, digest: str) -> str:
        """The entry name of a value: its namespace (``migration``, ``canonical-sql``...), the
        display path and the sha256 (hex) of the source bytes."""
        raw = f"{namespace}\0{shown}\0{digest}".encode()
        return hashlib.sha256(raw).hexdigest()[:40]

    def path(self, key: str) -> Path:
        return self.folder / key

    # ------------------------------------------------------------------ reading

    def load_bytes(self, key: str) -> bytes | None:
        """The verified payload of an entry, or ``None`` (missing, corrupt or foreign)."""
        try:
            with open(self.folder / key, "rb") as fh:
                data = fh.read()
        except OSError:
            return None
        head = len(MAGIC) + _MAC_SIZE
        if len(data) <= head or not data.startswith(MAGIC):
            return None
        payload = data[head:]
        mac = hmac.new(self.secret, payload, hashlib.sha256).digest()
        if not hmac.compare_digest(mac, data[len(MAGIC):head]):
            return None
        return payload

    def load(self, key: str, expected: type[T]) -> T | None:
        """The cached object, when it is an instance of ``expected``; else ``None``."""
        payload = self.load_bytes(key)
        if payload is None:
            self.misses += 1
            return None
        try:
            value = pickle.loads(payload)
        except Exception:  # a payload written by an incompatible b03lint
            self.misses += 1
            return None
        if not isinstance(value, expected):
            self.misses += 1
            return None
        self.hits += 1
        return value

    # ------------------------------------------------------------------ writing

    def store(self, key: str, value: object) -> None:
        try:
            payload = dumps(value)
        except Exception:
            return
        self.store_bytes(key, payload)

    def store_bytes(self, key: str, payload: bytes) -> None:
        """Write an entry atomically; failures are ignored (the run goes uncached)."""
        if not self._prepare():
            return
        mac = hmac.new(self.secret, payload, hashlib.sha256).digest()
        tmp = self.folder / f".tmp-{key}-{os.getpid()}-{time.monotonic_ns()}"
        try:
            with open(tmp, "xb") as fh:
                fh.write(MAGIC + mac + payload)
            os.replace(tmp, self.folder / key)
            self.writes += 1
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink()

    def _prepare(self) -> bool:
        if self._ready:
            return True
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
        self._ready = True
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
                    entry.unlink()
                folder.rmdir()
            except OSError:
                continue

    # ------------------------------------------------------------------ memo

    def memo(self, namespace: str, shown: str, data: bytes, expected: type,
             compute: Callable[[], T]) -> T:
        """``compute()``, or its cached value for these bytes at this display path (when
        that value is an instance of ``expected``)."""
        key = self.key(namespace, shown, hashlib.sha256(data).hexdigest())
        cached = self.load(key, expected)
        if cached is not None:
            return cast(T, cached)
        value = compute()
        self.store(key, value)
        return value


def cached(config: Config, namespace: str, path: Path, shown: str, expected: type,
           compute: Callable[[], T]) -> T:
    """``compute()`` for the file at ``path`` (shown as ``shown``), or the value cached for
    its current bytes. For whole-file results that are costly to rebuild, such as the
    canonical schema parsed from SQL. Exceptions of ``compute`` propagate and are never
    cached; with the cache off, or the file unreadable, it is simply ``compute()``."""
    cache = Cache.open(config)
    if cache is None:
        return compute()
    try:
        data = path.read_bytes()
    except OSError:
        return compute()
    return cache.memo(namespace, shown, data, expected, compute)
