"""The whole-run result cache: when nothing a ``b03lint check`` run read has changed, the
next identical run prints what the last one printed, without importing the engine.

It works like a build system's dependency file, not like a list of known inputs:

* **Recording** (a run the cache could not serve): while ``check`` runs, every file it
  opens for reading, every folder it lists, every path whose existence or type it asks
  about (``os.stat``/``os.lstat``, which ``pathlib`` and ``os.path`` go through), every
  environment variable it reads and every module it has imported are noted, along with
  what it wrote to standard output, standard error and to files. Afterwards each is
  fingerprinted: a file by the hash of its bytes, a folder by its sorted listing, a path
  by its kind, a module outside the standard library by its size and modification time
  (every imported module counts: b03lint's own, PyYAML, pglast, the project's rule modules
  and installed rule packs). The entry is stored only for a complete run (exit code 0 or
  1) that did nothing the cache cannot see: a subprocess (``git`` for
  ``--changed-since``), a network connection, a change of working directory, a read of
  the whole environment, a write to a stream's underlying buffer. A file modified during
  the run, or just before it (:data:`SETTLE_NS`), is not trusted either: the run is not
  stored (when in doubt, miss).
* **Serving**: the entry's name is a hash of what is known before anything is read (this
  format, b03lint's version, Python's version and executable, the working directory, the
  exact command line, whether each stream is a terminal and its encoding); the entry
  holds the fingerprints. Every fingerprint is taken again; if any differs, or anything
  is unreadable, the run goes the ordinary way. Otherwise the recorded output is written
  again, the same text through the same streams, and the recorded exit code returned: the
  bytes are those of an uncached run.

Entries live in ``<cache_dir>/results/`` of the project (``.b03lint_cache`` by default),
one file per command line, ``MAGIC + MAC + payload``. The MAC is keyed BLAKE2b with the
per-user secret of :mod:`b03lint.cache` (a results folder committed to a repository or
written by another user is never believed), and the payload is read with :mod:`marshal`
only after its MAC is checked. This module imports nothing beyond the standard library's
built-in modules, so serving a run costs about as much as reading the inputs.
"""

from __future__ import annotations

import marshal
import os
import sys

from b03lint import __version__
from b03lint.private import private_folder, read_private
from b03lint.safeio import read_regular

#: nothing from ``typing`` or ``collections`` at run time (2-3 ms of imports on this path)
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

try:
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - a Python built without the bundled BLAKE2
    from hashlib import blake2b

#: bump when the entry layout or the meaning of a fingerprint changes
RESULT_FORMAT = 1
MAGIC = b"B03LINT-RESULT-1\n"
_MAC_SIZE = 32
RESULTS_DIR = "results"
#: an input modified this recently before the run (or during it) makes the run unstored:
#: its fingerprint, taken after the run, may not be what the run read. Linux stamps files
#: from a clock that lags by up to a scheduler tick; a time stamp in whole seconds says
#: the file system keeps one- or two-second stamps, and then two seconds are waited out.
SETTLE_NS = 50_000_000
COARSE_SETTLE_NS = 2_000_000_000
#: audit events after which a run's result depends on something this cache cannot see
_DOUBTFUL_EVENTS = frozenset({
    "subprocess.Popen", "os.system", "os.posix_spawn", "os.spawn", "os.exec", "os.chdir",
    "os.fchdir", "socket.connect", "socket.getaddrinfo", "socket.gethostbyname",
    "urllib.Request", "os.putenv", "os.unsetenv",
})
#: write access in ``os.open`` flags
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC


# --------------------------------------------------------------------------- locations


def _digest(data: bytes) -> bytes:
    return blake2b(data, digest_size=16).digest()


def secret_path() -> str | None:
    """Where :func:`b03lint.cache.user_secret` keeps the per-user key (same rule)."""
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        home = os.path.expanduser("~")
        if home == "~":
            return None
        base = os.path.join(home, ".cache")
    return os.path.join(base, "b03lint", "secret")


def _read_secret() -> bytes | None:
    """The per-user key, when its folder and file are this user's alone (see
    :func:`private_folder`, :func:`read_private`); None otherwise: the caches are then off."""
    path = secret_path()
    if path is None or not private_folder(os.path.dirname(path)):
        return None
    data = read_private(path, secret=True)
    return data if data is not None and len(data) >= 32 else None


def entry_name(argv: Sequence[str], cwd: str | None = None) -> str:
    """The name of the entry of this command line: what is known before anything is read.
    Everything else a run depends on is in the entry's fingerprints."""
    streams = []
    for stream in (sys.stdout, sys.stderr):
        try:
            tty = stream.isatty()
        except (AttributeError, ValueError):
            tty = False
        streams.append(f"{tty}:{getattr(stream, 'encoding', None)}:"
                       f"{getattr(stream, 'errors', None)}")
    parts = [f"format {RESULT_FORMAT}", f"b03lint {__version__}",
             f"{sys.implementation.name} {sys.version}", sys.executable, sys.prefix,
             f"optimize {sys.flags.optimize}", os.getcwd() if cwd is None else cwd,
             *streams, "argv", *argv]
    return blake2b("\0".join(parts).encode("utf-8", "surrogatepass"),
                   digest_size=20).hexdigest()


def _guess_cache_dir(argv: Sequence[str]) -> str | None:
    """The results folder a run with ``argv`` writes to, found without importing the
    configuration machinery: the folder of ``--config`` or of the nearest pyproject.toml
    that mentions ``[tool.b03lint``, and its ``cache_dir`` (read with ``tomllib`` only
    when the file mentions ``cache``). None when the cache is off. A wrong guess only
    means that no entry is found there: what a run depends on is in the entry."""
    explicit = None
    for i, arg in enumerate(argv):
        if arg == "--no-cache" or arg == "--no-result-cache":
            return None
        if arg == "--config" and i + 1 < len(argv):
            explicit = argv[i + 1]
        elif arg.startswith("--config="):
            explicit = arg.partition("=")[2]
    text = b""
    if explicit is not None:
        pyproject = os.path.abspath(explicit)
        try:
            with open(pyproject, "rb") as fh:
                text = fh.read()
        except OSError:
            return None
        root = os.path.dirname(os.path.realpath(pyproject))
    else:
        root = os.path.realpath(os.getcwd())
        folder = root
        while True:
            try:
                with open(os.path.join(folder, "pyproject.toml"), "rb") as fh:
                    data = fh.read()
            except OSError:
                data = b""
            if b"[tool.b03lint" in data:
                root, text = folder, data
                break
            parent = os.path.dirname(folder)
            if parent == folder:
                break
            folder = parent
    cache_dir: Any = ".b03lint_cache"
    if b"cache" in text:
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover - exercised on Python 3.10 only
            import tomli as tomllib
        try:
            table = tomllib.loads(text.decode("utf-8")).get("tool", {}).get("b03lint", {})
        except (ValueError, UnicodeDecodeError):
            return None
        if not isinstance(table, dict) or table.get("cache", True) is not True:
            return None
        cache_dir = table.get("cache_dir", table.get("cache-dir", cache_dir))
        if not isinstance(cache_dir, str):
            return None
    return os.path.join(root, cache_dir)


# --------------------------------------------------------------------------- fingerprints


def _file_print(path: str) -> bytes | None:
    try:
        with open(path, "rb") as fh:
            return _digest(fh.read())
    except OSError:
        return None


def _listing(path: str) -> list[str] | None:
    """The sorted entries of a folder (sub-folders marked with a trailing slash, symlinks
    with ``/@``: a name never holds a slash), without ``__pycache__``, which Python itself
    writes and nothing b03lint reads looks at. The marks are what discovery reads from a
    listing instead of a ``stat`` of each file (``engine._discover``): a file turned into
    a link changes the listing."""
    try:
        with os.scandir(path) as it:
            return sorted(e.name + ("/@" if e.is_symlink() else "") + ("/" if e.is_dir() else "")
                          for e in it if e.name != "__pycache__")
    except OSError:
        return None


def _listing_print(path: str, skip: Sequence[str] = (),
                   names: list[str] | None = None) -> bytes | None:
    """A folder's fingerprint: its listing (``names`` when already taken), without the
    entries in ``skip`` (what the run itself writes there: the cache folder, a report)."""
    if names is None:
        names = _listing(path)
        if names is None:
            return None
    kept = (n for n in names if n.partition("/")[0] not in skip)
    return _digest("\0".join(kept).encode("utf-8", "surrogateescape"))


#: the kinds of :func:`_kind_of` named by file type alone
_MODE_KINDS = {0o10: "file", 0o04: "dir"}  # S_IFREG, S_IFDIR


def _kind(path: str, follow: bool) -> str:
    try:
        st = os.stat(path) if follow else os.lstat(path)
    except (OSError, ValueError):
        return "missing"
    return _kind_of(path, st)


def _kind_of(path: str, st: os.stat_result) -> str:
    """What ``path`` is, from a ``stat`` (or ``lstat``) of it already taken."""
    mode = st.st_mode >> 12
    kind = _MODE_KINDS.get(mode)
    if kind is not None:
        return kind
    if mode == 0o12:  # S_IFLNK
        try:
            return "link:" + os.readlink(path)
        except OSError:
            return "link"
    return f"other:{mode}"


def _module_print(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns)


# --------------------------------------------------------------------------- serving


def _load_entry(path: str, secret: bytes) -> dict[str, Any] | None:
    data = read_regular(path)  # a FIFO or a device in its place is refused at once
    if data is None:
        return None
    head = len(MAGIC) + _MAC_SIZE
    if len(data) <= head or not data.startswith(MAGIC):
        return None
    payload = data[head:]
    mac = blake2b(payload, key=secret[:64], digest_size=_MAC_SIZE).digest()
    if mac != data[len(MAGIC):head]:
        return None  # never believe what this user's key did not sign
    try:
        entry = marshal.loads(payload)
    except (EOFError, ValueError, TypeError):
        return None
    return entry if isinstance(entry, dict) else None


def _still_valid(entry: dict[str, Any]) -> bool:
    """Every fingerprint of the entry, taken again, is the same (cheapest first)."""
    try:
        environ = os.environ
        for name, value in entry["env"]:
            if environ.get(name) != value:
                return False
        for path, sig in entry["modules"]:
            if _module_print(path) != sig:
                return False
        for path, follow, kind in entry["stats"]:
            if _kind(path, follow) != kind:
                return False
        for path, skip, sig in entry["dirs"]:
            if _listing_print(path, skip) != sig:
                return False
        for path, sig in entry["files"]:
            if _file_print(path) != sig:
                return False
    except (KeyError, TypeError, ValueError):
        return False
    return True


def lookup(argv: Sequence[str]) -> dict[str, Any] | None:
    """The stored result of this command line, when every input it recorded is unchanged;
    else None."""
    folder = _guess_cache_dir(argv)
    if folder is None:
        return None
    secret = _read_secret()
    if secret is None:
        return None
    entry = _load_entry(os.path.join(folder, RESULTS_DIR, entry_name(argv) + ".bin"), secret)
    if entry is None or not _still_valid(entry):
        return None
    return entry


def serve(argv: Sequence[str]) -> int | None:
    """Replay the stored result of ``argv`` (its output, its files, its exit code), or
    None when there is none that is still true."""
    entry = lookup(argv)
    if entry is None:
        return None
    try:
        for path, text in entry["writes"]:
            with open(path, "w", encoding="utf-8", newline="") as fh:
                fh.write(text)
        for which, text in entry["output"]:
            stream = sys.stdout if which == 1 else sys.stderr
            stream.write(text)
        sys.stdout.flush()
        code = int(entry["code"])
    except OSError:
        return None
    return code


# --------------------------------------------------------------------------- recording

_ACTIVE: Recorder | None = None
_HOOKED = False


def _absolute(path: object) -> str | None:
    if isinstance(path, int):
        return None
    try:
        raw = os.fspath(path)  # type: ignore[call-overload]
    except TypeError:
        return None
    text: str = os.fsdecode(raw) if isinstance(raw, bytes) else raw
    return os.path.abspath(text)


def _from_import_system() -> bool:
    """Whether the audited call comes from the import system (its reads and listings are
    covered by the imported modules' own fingerprints)."""
    frame = sys._getframe(2)
    name = frame.f_code.co_filename
    return name.startswith("<frozen importlib") or name.startswith("<frozen zipimport")


def _audit(event: str, args: tuple[Any, ...]) -> None:
    rec = _ACTIVE
    if rec is None:
        return
    if event == "open":
        path, mode, flags = args
        where = _absolute(path)
        if where is None or _from_import_system():
            return
        if mode is None:
            writing = bool(flags & _WRITE_FLAGS) if isinstance(flags, int) else True
        else:
            writing = any(c in mode for c in "wax+")
        (rec.written if writing else rec.opened).setdefault(where, None)
    elif event == "os.listdir" or event == "os.scandir":
        where = _absolute(args[0] if args and args[0] is not None else ".")
        if where is None or where in rec.listed or rec.busy or _from_import_system():
            return
        # the listing as the run sees it now: compared with the one taken afterwards, it
        # tells a folder that changed during the run
        rec.busy = True
        try:
            rec.listed[where] = _listing(where)
        finally:
            rec.busy = False
    elif event in _DOUBTFUL_EVENTS:
        rec.doubt(event)


class _Tee:
    """A text stream that passes everything through and keeps a copy of what was written."""

    def __init__(self, stream: Any, which: int, rec: Recorder):
        self._stream = stream
        self._which = which
        self._rec = rec

    def write(self, text: str) -> int:
        self._rec.output.append((self._which, text))
        n: int = self._stream.write(text)
        return n

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        if name in ("buffer", "detach", "fileno", "reconfigure"):
            self._rec.doubt(f"sys.std{'out' if self._which == 1 else 'err'}.{name}")
        return getattr(self._stream, name)


class Recorder:
    """What one ``check`` run reads and writes (see the module docstring)."""

    def __init__(self, argv: Sequence[str]):
        self.argv = list(argv)
        self.cwd = os.getcwd()
        self.opened: dict[str, None] = {}
        self.written: dict[str, None] = {}
        self.listed: dict[str, list[str] | None] = {}
        self.busy = False
        self.stats: dict[tuple[str, bool], None] = {}
        self.env: dict[str, str | None] = {}
        self.output: list[tuple[int, str]] = []
        self.doubts: list[str] = []
        #: absolute path -> digest of the bytes the run read from it (:func:`note_read`)
        self.prints: dict[str, bytes] = {}
        #: where the entry goes (set by the check command from its configuration)
        self.cache_dir: str | None = None
        self.start_ns = 0
        self._undo: list[Callable[[], None]] = []

    def doubt(self, why: str) -> None:
        self.doubts.append(why)

    # ---------------------------------------------------------------- install

    def start(self) -> Recorder:
        global _ACTIVE, _HOOKED
        if _ACTIVE is not None:
            raise RuntimeError("a run is already being recorded")
        import time

        self.start_ns = time.time_ns()
        if not _HOOKED:
            sys.addaudithook(_audit)
            _HOOKED = True
        self._patch_stat()
        self._patch_environ()
        out, err = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = _Tee(out, 1, self), _Tee(err, 2, self)

        def restore_streams() -> None:
            sys.stdout, sys.stderr = out, err

        self._undo.append(restore_streams)
        _ACTIVE = self
        return self

    def stop(self) -> None:
        global _ACTIVE
        _ACTIVE = None
        while self._undo:
            self._undo.pop()()

    def _patch(self, owner: Any, name: str, value: Any) -> None:
        old = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)
        setattr(owner, name, value)
        self._undo.append(lambda: setattr(owner, name, old))

    def _patch_stat(self) -> None:
        stats = self.stats
        real_stat, real_lstat = os.stat, os.lstat

        def stat(path: Any, *args: Any, dir_fd: Any = None, follow_symlinks: bool = True,
                 **kw: Any) -> os.stat_result:
            if dir_fd is None and _ACTIVE is not None:
                where = _absolute(path)
                if where is not None:
                    stats.setdefault((where, follow_symlinks), None)
            return real_stat(path, *args, dir_fd=dir_fd, follow_symlinks=follow_symlinks, **kw)

        def lstat(path: Any, *args: Any, dir_fd: Any = None, **kw: Any) -> os.stat_result:
            if dir_fd is None and _ACTIVE is not None:
                where = _absolute(path)
                if where is not None:
                    stats.setdefault((where, False), None)
            return real_lstat(path, *args, dir_fd=dir_fd, **kw)

        self._patch(os, "stat", stat)
        self._patch(os, "lstat", lstat)
        pathlib = sys.modules.get("pathlib")
        accessor = getattr(pathlib, "_NormalAccessor", None)
        if accessor is not None:  # pragma: no cover - Python 3.10 binds os.stat in a class
            self._patch(accessor, "stat", staticmethod(stat))
            self._patch(accessor, "lstat", staticmethod(lstat))

    def _patch_environ(self) -> None:
        env = self.env
        cls = type(os.environ)
        real_getitem = cls.__getitem__
        real_iter = cls.__iter__

        def getitem(mapping: Any, key: str) -> str:
            try:
                value: str = real_getitem(mapping, key)
            except KeyError:
                if _ACTIVE is not None and mapping is os.environ:
                    env.setdefault(key, None)
                raise
            if _ACTIVE is not None and mapping is os.environ:
                env.setdefault(key, value)
            return value

        def iterate(mapping: Any) -> Any:
            if _ACTIVE is not None and mapping is os.environ:
                self.doubt("the whole environment was read")
            return real_iter(mapping)

        self._patch(cls, "__getitem__", getitem)
        self._patch(cls, "__iter__", iterate)

    # ---------------------------------------------------------------- storing

    def _excluded(self) -> Callable[[str], bool]:
        stdlib = os.path.dirname(os.__file__)
        skip = [os.path.join(stdlib, ""), "/dev/", "/proc/", "/sys/"]
        secret = secret_path()
        if secret is not None:
            skip.append(os.path.join(os.path.dirname(os.path.abspath(secret)), ""))
        if self.cache_dir is not None:
            skip.append(os.path.join(os.path.abspath(self.cache_dir), ""))
            real = os.path.realpath(self.cache_dir)
            skip.append(os.path.join(real, ""))
        keep = ("site-packages", "dist-packages")
        prefixes = tuple(skip)
        sep = os.sep

        def excluded(path: str) -> bool:
            # a folder itself, as well as what it holds (os.path.join(path, ""), inlined)
            folder = path if path.endswith(sep) else path + sep
            if not folder.startswith(prefixes):
                return False
            return not (folder.startswith(skip[0]) and any(k in path for k in keep))

        return excluded

    def _settled(self, st: os.stat_result) -> bool:
        """Whether a file with these stamps was last changed well before the run began."""
        coarse = st.st_mtime_ns % 1_000_000_000 == 0
        return st.st_mtime_ns < self.start_ns - (COARSE_SETTLE_NS if coarse else SETTLE_NS)

    def entry(self, code: int) -> dict[str, Any] | None:
        """The entry of this finished run, or None when it must not be stored."""
        if self.doubts or code not in (0, 1) or self.cache_dir is None:
            return None
        if os.getcwd() != self.cwd:
            return None
        excluded = self._excluded()
        files: list[tuple[str, bytes | None]] = []
        kinds: dict[str, str] = {}  # path -> what the stat below (following links) found
        for path in self.opened:
            if path in self.written or excluded(path):
                continue
            try:
                st = os.stat(path)
            except OSError:
                files.append((path, None))
                continue
            if not self._settled(st):
                return None  # changed during the run, or just before it
            kind = kinds[path] = _kind_of(path, st)
            if kind == "dir":
                self.stats.setdefault((path, True), None)
                continue
            # the digest of the bytes the run read (note_read) where it noted them: what
            # its output came from, and one read of each migration fewer
            sig = self.prints.get(path)
            files.append((path, _file_print(path) if sig is None else sig))
        dirs: list[tuple[str, tuple[str, ...], bytes | None]] = []
        own: dict[str, set[str]] = {}  # folder -> names of what this run wrote there
        for path in [os.path.abspath(self.cache_dir), *self.written]:
            parent, name = os.path.split(path)
            own.setdefault(parent, set()).add(name)
        for path, seen in self.listed.items():
            if excluded(path):
                continue
            skip = tuple(sorted(own.get(path, ())))
            now = _listing_print(path, skip)
            if now != (None if seen is None else _listing_print(path, skip, seen)):
                return None  # the folder changed while the run was reading it
            dirs.append((path, skip, now))
        stats = [(path, follow, (kinds.get(path) if follow else None) or _kind(path, follow))
                 for path, follow in self.stats if not excluded(path)]
        modules: list[tuple[str, tuple[int, int] | None]] = []
        module_files: set[str] = set()
        for module in list(sys.modules.values()):
            where = getattr(module, "__file__", None)
            if not isinstance(where, str) or where in module_files:
                continue
            module_files.add(where)
            where = os.path.abspath(where)
            if excluded(where):
                continue
            modules.append((where, _module_print(where)))
        writes: list[tuple[str, str]] = []
        for path in self.written:
            if excluded(path):
                continue
            try:
                with open(path, encoding="utf-8", newline="") as fh:
                    writes.append((path, fh.read()))
            except (OSError, UnicodeDecodeError):
                return None
        return {"env": sorted(self.env.items()), "modules": sorted(modules),
                "stats": sorted(stats), "dirs": sorted(dirs), "files": sorted(files),
                "writes": writes, "output": list(self.output), "code": code}

    def store(self, code: int) -> bool:
        """Write this run's entry (best effort; a run is never failed by its cache)."""
        entry = self.entry(code)
        if entry is None or self.cache_dir is None:
            return False
        from b03lint.cache import user_secret

        secret = user_secret()
        if secret is None:
            return False
        payload = marshal.dumps(entry)
        mac = blake2b(payload, key=secret[:64], digest_size=_MAC_SIZE).digest()
        folder = os.path.join(self.cache_dir, RESULTS_DIR)
        target = os.path.join(folder, entry_name(self.argv, self.cwd) + ".bin")
        tmp = f"{target}.{os.getpid()}.tmp"
        try:
            os.makedirs(folder, exist_ok=True)
            with open(tmp, "wb") as fh:
                fh.write(MAGIC + mac + payload)
            os.replace(tmp, target)
        except OSError:
            try:  # noqa: SIM105 (contextlib is not imported on this path)
                os.unlink(tmp)
            except OSError:
                pass
            return False
        return True


def note_read(path: str | os.PathLike[str], data: bytes) -> None:
    """Tell the run being recorded that it read ``data`` from ``path`` (the loader's
    migrations): its entry keeps their digest instead of reading the file again."""
    rec = _ACTIVE
    if rec is not None:
        rec.prints[os.path.abspath(path)] = _digest(data)


def recording() -> Recorder | None:
    """The recorder of the run in progress, if any (the check command tells it where the
    project's cache is)."""
    return _ACTIVE
