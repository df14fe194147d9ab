"""Reading migration files into :class:`MigrationFile`s: the one place the engine gets
them from (so caching and parallel parsing live here, not in the rules).

:func:`load_files` reads every file's bytes, takes what it can from the content-hash cache
(:mod:`b03lint.cache`), and parses the rest: in this process, or spread over worker
processes when there are enough files to pay for starting them (:data:`PARALLEL_MIN_FILES`).
The result is the same list, in the same order, whichever way each file was read.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from b03lint.config import Config
from b03lint.operations import Diagnostic, Location, MigrationFile

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

    from b03lint.cache import Cache
    from b03lint.sqlmemo import SqlMemo

#: namespace of parsed migration files in the cache
NAMESPACE = "migration"
#: fewest files to parse before worker processes are started. Measured with
#: ``bench/run.py --threshold`` on 2 idle cores (Linux, fork): parsing k files of a
#: generated chain in one process vs. this process and one forked worker took 13/14 ms
#: (k = 10), 22/20 ms (20), 43/31 ms (40), 128/73 ms (120), 307/185 ms (320).
PARALLEL_MIN_FILES = 20
#: each worker gets at least this many files (so 3 workers need 3 x this many)
MIN_FILES_PER_WORKER = 10
#: automatic ``jobs`` never starts more workers than this
MAX_AUTO_JOBS = 8
#: from this many files, the names in the migrations taken from the cache or a worker
#: are interned, one object each for the run (:func:`b03lint.cache.loads`): at 20,000
#: revisions the peak memory of a cold run went from 247 MB to 236 MB. Below it the
#: memory is small and loading the pre-commit case's few hundred files would pay for
#: nothing (3 % more instructions at 437 revisions).
INTERN_FROM = 2000


def read_file(path: Path, shown: str) -> MigrationFile:
    """Read and parse one file; an I/O error becomes a fatal diagnostic, never an exception."""
    from b03lint import overlay

    try:
        data = overlay.read_bytes(path)
    except OSError as exc:
        return _unreadable(shown, exc)
    return _parse(shown, data)


def _unreadable(shown: str, exc: OSError) -> MigrationFile:
    failed = MigrationFile(path=shown)
    failed.diagnostics.append(Diagnostic(
        code="I002", message=f"cannot read file: {exc.strerror or exc}",
        loc=Location(shown, 1, 0), fatal=True))
    return failed


#: where a file is and the project root, as strings (they travel to worker processes)
Where = tuple[str, str] | None
#: the project modules read in this process, by project root (read once each per run)
_PROJECTS: dict[str, object] = {}


def _parse(shown: str, data: bytes, where: Where = None,
           memo: SqlMemo | None = None) -> MigrationFile:
    from b03lint.readers.python import read_migration

    modules = None
    if where is not None:
        from b03lint.readers.python.project import ProjectModules

        origin, root = (Path(w) for w in where)
        project = _PROJECTS.get(where[1])
        if not isinstance(project, ProjectModules):
            project = _PROJECTS[where[1]] = ProjectModules([root, root / "src"])
        modules = project.for_file(origin, root)
    mf: MigrationFile = read_migration(shown, data, modules, memo)
    return mf


def _fresh(mf: MigrationFile) -> bool:
    """Whether the project modules a cached reading used are unchanged."""
    import hashlib

    for path, digest in mf.sources:
        try:
            if hashlib.sha256(Path(path).read_bytes()).hexdigest() != digest:
                return False
        except OSError:
            return False
    return True


def available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def idle_cpus(cpus: int | None = None, load: float | None = None) -> int:
    """The CPUs nobody else is using: the available ones less the load of the others
    (:func:`others_load`, rounded), at least 1. A worker process on a CPU that another
    job keeps busy only adds the cost of starting it and of sending its results back:
    measured on 2 loaded cores, two processes were 18-20 % slower than one."""
    cpus = available_cpus() if cpus is None else cpus
    if load is None:
        load = others_load()
    return max(1, min(cpus, int(cpus - load + 0.5)))


#: how many times :func:`others_load` looks at the run queue, a millisecond apart
_RUN_QUEUE_LOOKS = 3


def others_load() -> float:
    """How many CPUs other work keeps busy now. On Linux, the processes running or ready
    to run besides this one (``/proc/loadavg``'s fourth field, the fewest of three looks a
    millisecond apart, so a process that merely passes by is not counted); elsewhere the
    1-minute load average. The load average alone counted work that had just ended: a
    check run right after another (a benchmark, ``pre-commit run`` then ``b03lint
    check``) saw the previous run's load on an idle machine and used one process where
    two were free."""
    import time

    seen: list[int] = []
    for look in range(_RUN_QUEUE_LOOKS):
        try:
            with open("/proc/loadavg", "rb") as fh:
                seen.append(int(fh.read().split()[3].split(b"/")[0]) - 1)
        except (OSError, ValueError, IndexError):
            break
        if look + 1 < _RUN_QUEUE_LOOKS:
            time.sleep(0.001)
    if seen:
        return float(max(0, min(seen)))
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):  # not on this platform: assume an idle machine
        return 0.0


class SpareProcesses:
    """How many processes the run may use for work beside this one's, for the ``jobs``
    setting (an int >= 1: that many; else automatic, the idle CPUs, at most
    :data:`MAX_AUTO_JOBS`). Measured the first time it is asked, then the same answer for
    the run. The engine hands one to the canonical prefetch and to :func:`load_files`:
    measured afresh after the prefetch had forked its child, the run counted its own child
    as another job's load and parsed 1,000 files in one process on an idle machine
    (1,908 ms, where two processes took 1,491 ms). Asked only when needed, so a run whose
    canonical schema is cached and that parses a few files never looks at the load."""

    __slots__ = ("_count", "jobs")

    def __init__(self, jobs: object) -> None:
        self.jobs = jobs
        self._count: int | None = None

    def __call__(self) -> int:
        if self._count is None:
            jobs = self.jobs
            if isinstance(jobs, int) and jobs >= 1:
                self._count = jobs
            else:
                self._count = min(idle_cpus(), MAX_AUTO_JOBS)
        return self._count


#: a count of processes, or how to get it when it is needed
Spare = int | Callable[[], int]


def plan_workers(files: int, jobs: int, idle: Spare | None = None) -> int:
    """How many processes parse ``files`` files, for the ``jobs`` setting. 1 means "in
    this process". Automatic (0): processes only when they pay, so never slower than one:
    enough files (:data:`PARALLEL_MIN_FILES`, :data:`MIN_FILES_PER_WORKER` each) and as
    many as there are idle CPUs (:func:`idle_cpus`, or ``idle``: a count, or a callable
    asked only when the files are enough), at most :data:`MAX_AUTO_JOBS`. An explicit
    ``jobs`` is obeyed whatever the load (still needing enough files)."""
    if jobs == 1 or files < PARALLEL_MIN_FILES:
        return 1
    if jobs > 1:
        return max(1, min(jobs, files // MIN_FILES_PER_WORKER))
    if idle is None:
        idle = idle_cpus()
    spare = idle if isinstance(idle, int) else idle()
    return max(1, min(spare, MAX_AUTO_JOBS, files // MIN_FILES_PER_WORKER))


def load_files(items: Sequence[tuple[str, Path]], config: Config,
               spare: Spare | None = None) -> list[MigrationFile]:
    """Read every ``(display path, path)`` pair, in the order given.

    Honours ``cache`` / ``cache_dir`` (a content-hash cache, see :mod:`b03lint.cache`) and
    ``jobs`` (processes used to parse the files the cache does not have; 0 = automatic,
    from ``spare`` when given: the run's own measurement, see :class:`SpareProcesses`)."""
    import gc

    # Reading allocates hundreds of thousands of long-lived objects and no garbage cycles:
    # the cyclic collector would only walk them again and again (measured: 20% of a warm
    # 5,000-revision load). It is paused here and restored as it was.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _load_files(items, config, spare)
    finally:
        if enabled:
            gc.enable()


def _load_files(items: Sequence[tuple[str, Path]], config: Config,
                spare: Spare | None) -> list[MigrationFile]:
    from b03lint import overlay
    from b03lint.cache import Cache

    cache = Cache.open(config)
    out: list[MigrationFile | None] = [None] * len(items)
    _PROJECTS.clear()  # a new run reads the project's modules afresh
    root = str(config.root)
    intern_names = len(items) >= INTERN_FROM
    todo: list[tuple[int, str, bytes, str, Where]] = []  # (index, shown, data, key, where)
    served: list[tuple[str, ...]] = []  # the SQL-memo keys of the files the cache served
    for i, (shown, path) in enumerate(items):
        try:
            data = overlay.read_bytes(path)
        except OSError as exc:
            out[i] = _unreadable(shown, exc)
            continue
        key = ""
        if cache is not None:
            import hashlib

            key = cache.key(NAMESPACE, shown, hashlib.sha256(data).hexdigest())
            hit = cache.load(key, MigrationFile, intern_names=intern_names)
            if hit is not None and hit.path == shown and _fresh(hit):
                served.append(hit.sql_keys)
                out[i] = hit
                continue
        todo.append((i, shown, data, key, (str(path), root)))

    memo = None
    if cache is not None and todo:  # files to read: their SQL may be in the memo
        from b03lint.sqlmemo import SqlMemo

        memo = SqlMemo(cache)
        for keys in served:  # still in use, for each file's next edit
            memo.keep_used(keys)
    jobs = config.get("jobs")
    workers = plan_workers(len(todo), jobs if isinstance(jobs, int) else 0, spare)
    try:
        if workers > 1:
            parsed = _parse_parallel(todo, workers, cache, memo, intern_names)
        else:
            parsed = _parse_each(todo, len(todo), cache, memo)
        if memo is not None:
            memo.flush()
    finally:
        if memo is not None:
            memo.discard()  # only a run cut short leaves its pack unflushed
    for (i, *_rest), mf in zip(todo, parsed, strict=True):
        out[i] = mf
    if cache is not None:
        cache.flush()
    return [mf for mf in out if mf is not None]


# --------------------------------------------------------------------------- parallel


def _parse_chunk(chunk: list[tuple[str, bytes, Where]],
                 memo: SqlMemo | None = None) -> list[bytes]:
    """Worker side: parse each file and hand it back pickled (the same bytes go into the
    cache, so a file is pickled once). An empty result means "parse it in the parent".
    One more pickle follows the files': the SQL-memo entries the worker computed, for the
    parent to write (:mod:`b03lint.sqlmemo`)."""
    from b03lint.cache import dumps

    if memo is not None:
        memo.collecting()
    out: list[bytes] = []
    for shown, data, where in chunk:
        try:
            out.append(dumps(_parse(shown, data, where, memo)))
        except Exception:
            out.append(b"")
    out.append(dumps(memo.deliver() if memo is not None else []))
    return out


def _fork_is_safe() -> bool:
    from b03lint.forked import fork_is_safe

    return fork_is_safe()


_LENGTH = 4


def _framed(blobs: list[bytes]) -> bytes:
    return b"".join(part for blob in blobs for part in (len(blob).to_bytes(_LENGTH, "little"),
                                                        blob))


def _unframed(data: bytes) -> list[memoryview] | None:
    """The pickles of :func:`_framed`, or None when ``data`` is not that."""
    view = memoryview(data)
    out: list[memoryview] = []
    pos = 0
    while pos < len(view):
        if pos + _LENGTH > len(view):
            return None
        size = int.from_bytes(view[pos:pos + _LENGTH], "little")
        pos += _LENGTH
        if pos + size > len(view):
            return None
        out.append(view[pos:pos + size])
        pos += size
    return out


class _PoolWorker:
    """Elsewhere: a ``concurrent.futures`` process pool (spawned workers re-import b03lint,
    so there it pays only for larger chains)."""

    def __init__(self, pool: ProcessPoolExecutor, chunk: list[tuple[str, bytes, Where]]):
        self.future = pool.submit(_parse_chunk, chunk)

    def result(self) -> list[bytes] | None:
        try:
            value = self.future.result()
        except Exception:
            return None
        return value if isinstance(value, list) else None


def _parse_parallel(todo: list[tuple[int, str, bytes, str, Where]], workers: int,
                    cache: Cache | None, memo: SqlMemo | None,
                    intern_names: bool = False) -> list[MigrationFile]:
    """Parse over ``workers`` processes, in order: this process parses the first share
    itself while ``workers - 1`` workers parse one share each (so two CPUs need one extra
    process, not two). Whatever a worker cannot deliver (no processes here, a worker
    died, a bad pickle) is parsed in this process."""
    import b03lint.readers.python  # noqa: F401  (imported once, inherited by forked workers)
    from b03lint.cache import dumps  # noqa: F401  (likewise)

    if _fork_is_safe():
        return _parse_claimed(todo, workers, cache, memo, intern_names)
    own = math.ceil(len(todo) / workers)
    rest = todo[own:]
    size = max(1, math.ceil(len(rest) / (workers - 1)))
    spans = [(start, min(start + size, len(rest))) for start in range(0, len(rest), size)]
    chunks = [[(shown, data, where) for _i, shown, data, _k, where in rest[a:b]]
              for a, b in spans]
    started: list[_PoolWorker] = []
    pool: ProcessPoolExecutor | None = None
    try:
        if sys.platform != "emscripten":
            from concurrent.futures import ProcessPoolExecutor

            pool = ProcessPoolExecutor(max_workers=workers - 1)
            started = [_PoolWorker(pool, chunk) for chunk in chunks]
    except (OSError, RuntimeError, ImportError):
        pass  # no more processes: this process parses what was not handed out
    try:
        parsed = _parse_each(todo, own, cache, memo)
        for n, (a, b) in enumerate(spans):
            blobs: Sequence[bytes | memoryview] | None = (
                started[n].result() if n < len(started) else None)
            if blobs is None or len(blobs) != b - a + 1:
                blobs = [b""] * (b - a + 1)
            if memo is not None and blobs[-1]:
                memo.receive(_unpickled(blobs[-1]))
            for (_i, shown, data, key, where), blob in zip(rest[a:b], blobs[:-1], strict=True):
                parsed.append(_from_worker(shown, data, key, blob, cache, where, memo,
                                           intern_names))
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    return parsed


#: most batches a work queue holds (4 bytes each: the queue is written whole before any
#: process reads it, and a pipe holds 64 KB)
_MAX_BATCHES = 8192
#: files per batch, at least (each claim costs a read of the queue)
_BATCH = 4


def _parse_claimed(todo: list[tuple[int, str, bytes, str, Where]], workers: int,
                   cache: Cache | None, memo: SqlMemo | None,
                   intern_names: bool) -> list[MigrationFile]:
    """Parse over this process and ``workers - 1`` forked ones, each taking the next batch
    of files from a shared queue (a pipe of batch numbers) until none is left: a process
    that has a CPU to itself takes more files than one that shares a CPU (with the
    canonical schema's child, another job). Fixed shares left this process idle while a
    worker that shared its CPU finished (55-70 ms of a 600 ms cold 1,000-revision run).
    Whatever a worker cannot deliver, and everything when no queue can be made, is
    parsed here."""
    import contextlib

    from b03lint.forked import ForkedCall

    # a large chain goes in one contiguous share per process: this process lets go of
    # the bytes of each file it parses, and freed every other batch they left holes the
    # rest of the run did not reuse (at 20,000 revisions the peak went from 232 to 246 MB)
    size = (math.ceil(len(todo) / workers) if intern_names
            else max(_BATCH, math.ceil(len(todo) / _MAX_BATCHES)))
    starts = range(0, len(todo), size)
    try:
        queue, feed = os.pipe()
    except OSError:
        return _parse_each(todo, len(todo), cache, memo)
    try:
        records = b"".join(k.to_bytes(4, "little") for k in starts)
        while records:
            records = records[os.write(feed, records):]
    except OSError:
        os.close(queue)
        return _parse_each(todo, len(todo), cache, memo)
    finally:
        os.close(feed)  # the queue ends (reads come back empty) once every batch is taken
    mine: dict[int, MigrationFile] = {}
    started: list[ForkedCall] = []
    try:
        with contextlib.suppress(OSError, RuntimeError):  # no more processes: this one
            # takes every batch
            for _ in range(workers - 1):
                started.append(ForkedCall(lambda: _framed(_claims(todo, queue, size, memo))))
        for k in _taken(queue, size, len(todo)):
            i, shown, data, key, where = todo[k]
            mine[k] = _parse_and_store(shown, data, key, cache, where, memo)
            todo[k] = (i, shown, b"", key, where)
        for worker in started:
            delivered = worker.result()
            blobs = None if delivered is None else _unframed(delivered)
            if not blobs or len(blobs) % 2 != 1:
                continue  # a worker that failed: what it took is parsed below
            if memo is not None and blobs[-1]:
                memo.receive(_unpickled(blobs[-1]))
            for n in range(0, len(blobs) - 1, 2):
                k = int.from_bytes(blobs[n], "little")
                if 0 <= k < len(todo) and k not in mine:
                    _i, shown, data, key, where = todo[k]
                    mine[k] = _from_worker(shown, data, key, blobs[n + 1], cache, where,
                                           memo, intern_names)
        for k, (_i, shown, data, key, where) in enumerate(todo):
            if k not in mine:
                mine[k] = _parse_and_store(shown, data, key, cache, where, memo)
    finally:
        os.close(queue)
        for worker in started:  # reap what an exception above left running
            worker.close()
    return [mine[k] for k in range(len(todo))]


def _claims(todo: list[tuple[int, str, bytes, str, Where]], queue: int, size: int,
            memo: SqlMemo | None) -> list[bytes]:
    """Worker side of :func:`_parse_claimed`: each file of each batch it takes, as its
    index and its pickled result (empty: "parse it in the parent"), then the SQL-memo
    entries it computed."""
    from b03lint.cache import dumps

    if memo is not None:
        memo.collecting()
    out: list[bytes] = []
    for k in _taken(queue, size, len(todo)):
        _i, shown, data, _key, where = todo[k]
        try:
            blob = dumps(_parse(shown, data, where, memo))
        except Exception:
            blob = b""
        out += [k.to_bytes(4, "little"), blob]
    out.append(dumps(memo.deliver() if memo is not None else []))
    return out


def _taken(queue: int, size: int, count: int) -> Iterator[int]:
    """The indexes of the files of each batch this process takes from ``queue``, until
    the queue is empty."""
    while (record := os.read(queue, 4)) and len(record) == 4:
        first = int.from_bytes(record, "little")
        yield from range(first, min(first + size, count))


def _parse_each(todo: list[tuple[int, str, bytes, str, Where]], count: int,
                cache: Cache | None, memo: SqlMemo | None = None) -> list[MigrationFile]:
    """Parse the first ``count`` files of ``todo`` in this process, letting go of each
    file's bytes once parsed (they would stay in the heap beside what was read)."""
    parsed: list[MigrationFile] = []
    for n in range(count):
        i, shown, data, key, where = todo[n]
        parsed.append(_parse_and_store(shown, data, key, cache, where, memo))
        todo[n] = (i, shown, b"", key, where)
    return parsed


def _parse_and_store(shown: str, data: bytes, key: str, cache: Cache | None,
                     where: Where = None, memo: SqlMemo | None = None) -> MigrationFile:
    mf = _parse(shown, data, where, memo)
    if cache is not None:
        cache.store(key, mf)
    return mf


def _from_worker(shown: str, data: bytes, key: str, blob: bytes | memoryview,
                 cache: Cache | None, where: Where = None,
                 memo: SqlMemo | None = None, intern_names: bool = False) -> MigrationFile:
    """A worker's pickled result (written to the cache as is), or a parse in this process
    when the worker could not deliver one."""
    value = _unpickled(blob, intern_names) if blob else None
    if isinstance(value, MigrationFile):
        if cache is not None:
            cache.store_bytes(key, blob)
        if memo is not None:
            memo.keep_used(value.sql_keys)  # the worker's use of them, in this process
        return value
    return _parse_and_store(shown, data, key, cache, where, memo)


def _unpickled(blob: bytes | memoryview, intern_names: bool = False) -> object:
    from b03lint.cache import loads

    try:
        return loads(blob, intern_names)
    except Exception:
        return None
