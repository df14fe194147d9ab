"""Parallel parsing: the same files, in the same order, whichever way they were read."""

from __future__ import annotations

import concurrent.futures
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from ci_skip import skip_outside_ci

import b03lint.loader as loader
from b03lint.config import Config, load_config
from b03lint.engine import discover
from b03lint.operations import MigrationFile
from b03lint.paths import display_path

REPO = Path(__file__).resolve().parent.parent
N = 240
#: the loader's tuned thresholds, before the fixture below lowers them
TUNED = (loader.PARALLEL_MIN_FILES, loader.MIN_FILES_PER_WORKER)


@pytest.fixture(autouse=True)
def _private_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    # in-process tests go parallel whatever the tuned threshold is
    monkeypatch.setattr(loader, "PARALLEL_MIN_FILES", 20)
    monkeypatch.setattr(loader, "MIN_FILES_PER_WORKER", 10)


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated chain, with a canonical schema that disagrees with it in places (so the
    reports compared below hold findings all over the chain, not just PASS)."""
    sys.path.insert(0, str(REPO / "bench"))
    try:
        from generate import generate
    finally:
        sys.path.remove(str(REPO / "bench"))
    root = generate(tmp_path_factory.mktemp("parallel") / "chain", N)
    canonical = root / "db" / "schema" / "canonical_schema.sql"
    text = canonical.read_text()
    canonical.write_text(text.replace("DEFAULT now()", "DEFAULT clock_timestamp()")
                         .replace("'abandoned'", "'ignored'"))
    return root


def _items(root: Path) -> list[tuple[str, Path]]:
    paths = discover(root / "alembic" / "versions", [])
    return sorted((display_path(p, root), p) for p in paths)


def _config(root: Path, jobs: int, cache: bool) -> Config:
    config = load_config(root)
    config.set("jobs", jobs, "test")
    config.set("cache", cache, "test")
    config.set("cache_dir", str(root.parent / f"cache-{os.getpid()}"), "test")
    return config


@pytest.fixture()
def parallel_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """How many files each call of the parallel path got."""
    seen: list[int] = []
    real = loader._parse_parallel

    def spy(todo: list[tuple[int, str, bytes, str]], workers: int,
            cache: object, memo: object, intern_names: bool = False) -> list[MigrationFile]:
        seen.append(len(todo))
        return real(todo, workers, cache, memo, intern_names)  # type: ignore[arg-type]

    monkeypatch.setattr(loader, "_parse_parallel", spy)
    yield seen


def test_parallel_equals_serial_in_process(chain: Path, parallel_calls: list[int]) -> None:
    items = _items(chain)
    serial = loader.load_files(items, _config(chain, 1, cache=False))
    assert parallel_calls == []
    parallel = loader.load_files(items, _config(chain, 2, cache=False))
    assert parallel_calls == [N]
    assert [mf.path for mf in parallel] == [shown for shown, _p in items]
    assert parallel == serial


def test_part_cached_part_parallel(chain: Path, parallel_calls: list[int],
                                   tmp_path: Path) -> None:
    items = _items(chain)
    config = _config(chain, 2, cache=True)
    config.set("cache_dir", str(tmp_path / "cache"), "test")
    first_half = loader.load_files(items[: N // 2], config)
    both = loader.load_files(items, config)
    assert parallel_calls == [N // 2, N // 2]  # the second run parsed only the other half
    assert both[: N // 2] == first_half
    assert both == loader.load_files(items, _config(chain, 1, cache=False))
    assert loader.load_files(items, config) == both  # all from the cache now
    assert parallel_calls == [N // 2, N // 2]


@pytest.mark.parametrize("fork", [True, False], ids=["fork", "pool"])
def test_no_processes_available_falls_back_to_serial(
        chain: Path, monkeypatch: pytest.MonkeyPatch, fork: bool) -> None:
    def no_processes(*args: object, **kwargs: object) -> None:
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(loader, "_fork_is_safe", lambda: fork)
    monkeypatch.setattr(os, "fork", no_processes)
    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", no_processes)
    items = _items(chain)
    assert (loader.load_files(items, _config(chain, 2, cache=False))
            == loader.load_files(items, _config(chain, 1, cache=False)))


def test_the_process_pool_used_where_fork_is_not(chain: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loader, "_fork_is_safe", lambda: False)
    items = _items(chain)
    assert (loader.load_files(items, _config(chain, 3, cache=False))
            == loader.load_files(items, _config(chain, 1, cache=False)))


def test_a_worker_that_dies_leaves_its_files_to_this_process(
        chain: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Files a worker took from the queue and never delivered are parsed here."""
    taken: list[int] = []

    def die(todo: object, queue: int, size: int, memo: object = None) -> list[bytes]:
        first = int.from_bytes(os.read(queue, 4), "little")  # takes a batch...
        os.write(report, first.to_bytes(4, "little"))
        os._exit(3)  # ...and is killed in the middle of it

    read, report = os.pipe()
    monkeypatch.setattr(loader, "_claims", die)
    items = _items(chain)
    assert (loader.load_files(items, _config(chain, 2, cache=False))
            == loader.load_files(items, _config(chain, 1, cache=False)))
    os.close(report)
    while chunk := os.read(read, 4):
        taken.append(int.from_bytes(chunk, "little"))
    os.close(read)
    assert len(taken) == 1  # the worker did take files away from this process


def test_a_process_with_a_cpu_to_itself_takes_more_files(
        chain: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Files are handed out batch by batch: a worker slowed down (its CPU shared with
    another job) delivers fewer, and the result is the same."""
    parent = os.getpid()
    real = loader._parse
    delivered: list[str] = []

    def parse(shown: str, *args: object, **kwargs: object) -> MigrationFile:
        if os.getpid() != parent:
            import time

            time.sleep(0.02)
        return real(shown, *args, **kwargs)  # type: ignore[arg-type]

    real_from_worker = loader._from_worker

    def from_worker(shown: str, *args: object, **kwargs: object) -> MigrationFile:
        delivered.append(shown)
        return real_from_worker(shown, *args, **kwargs)  # type: ignore[arg-type]

    items = _items(chain)
    serial = loader.load_files(items, _config(chain, 1, cache=False))
    monkeypatch.setattr(loader, "_parse", parse)
    monkeypatch.setattr(loader, "_from_worker", from_worker)
    assert loader.load_files(items, _config(chain, 2, cache=False)) == serial
    assert 0 < len(delivered) < N // 4, len(delivered)

    # a large chain goes in one contiguous share per process (the memory this process
    # frees stays in one piece): the slow worker parses its half
    monkeypatch.setattr(loader, "INTERN_FROM", N)
    delivered.clear()
    assert loader.load_files(items, _config(chain, 2, cache=False)) == serial
    shown = [s for s, _p in items]
    halves = ([], shown[: N // 2], shown[N // 2:], shown)  # what the worker may have had
    assert sorted(delivered) in halves, len(delivered)


def test_a_bad_result_from_a_worker_is_parsed_again_here(chain: Path) -> None:
    shown, path = _items(chain)[0]
    data = path.read_bytes()
    expected = loader.read_file(path, shown)
    for blob in (b"", b"\x80\x05garbage", b"\x80\x05K\x01."):  # empty, broken, an int
        assert loader._from_worker(shown, data, "", blob, None) == expected


def test_plan_workers() -> None:
    assert loader.plan_workers(10_000, 1) == 1
    assert loader.plan_workers(loader.PARALLEL_MIN_FILES - 1, 4) == 1
    assert loader.plan_workers(10_000, 4) == 4
    assert loader.plan_workers(loader.PARALLEL_MIN_FILES, 8) <= max(
        1, loader.PARALLEL_MIN_FILES // loader.MIN_FILES_PER_WORKER)
    automatic = loader.plan_workers(10_000, 0)
    assert 1 <= automatic <= min(loader.available_cpus(), loader.MAX_AUTO_JOBS)


def _json(root: Path, *args: str) -> str:
    env = {**os.environ}
    done = subprocess.run([sys.executable, "-m", "b03lint", "check", "--output-format", "json",
                           *args], cwd=root, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 1, done.stderr  # the canonical schema was made to disagree
    return done.stdout


def test_cli_jobs_1_and_jobs_2_report_identically(chain: Path) -> None:
    # with the real thresholds, the CLI runs below do go parallel
    assert TUNED[0] <= N and N // TUNED[1] >= 2
    serial = _json(chain, "--no-cache", "--jobs", "1")
    assert '"findings": []' not in serial
    assert _json(chain, "--no-cache", "--jobs", "2") == serial
    assert _json(chain, "--jobs", "2") == serial  # filling the cache in parallel
    assert _json(chain, "--jobs", "1") == serial  # and reading it back


def test_cli_rejects_negative_jobs(chain: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "b03lint", "check", "--jobs", "-1"],
                          cwd=chain, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "--jobs" in done.stderr


def test_automatic_jobs_follow_the_idle_cpus() -> None:
    """Automatic parallelism never starts a process that would wait for a busy CPU."""
    assert loader.idle_cpus(2, 0.1) == 2
    assert loader.idle_cpus(2, 0.8) == 1  # one CPU mostly taken: one process
    assert loader.idle_cpus(2, 1.4) == 1
    assert loader.idle_cpus(2, 6.0) == 1  # a loaded machine: never fewer than one
    assert loader.idle_cpus(8, 2.0) == 6
    assert loader.plan_workers(10_000, 0, idle=1) == 1
    assert loader.plan_workers(10_000, 0, idle=2) == 2
    assert loader.plan_workers(10_000, 0, idle=64) == loader.MAX_AUTO_JOBS
    assert loader.plan_workers(30, 0, idle=8) == 3  # at least MIN_FILES_PER_WORKER each
    # an explicit --jobs is obeyed, loaded machine or not
    assert loader.plan_workers(10_000, 2, idle=1) == 2


# --------------------------------------------------------------------------- canonical


def _canonical_state(schema: object) -> str:
    from b03lint.cache import dumps

    return dumps(schema).hex()


@pytest.mark.parametrize("cache", [False, True])
def test_the_canonical_read_in_a_child_is_the_one_read_here(chain: Path, cache: bool) -> None:
    """Read while the migrations are read (a forked child), the canonical schema, its
    diagnostics and conflicts are exactly what reading it in this process gives."""
    from b03lint.cache import one_run
    from b03lint.schema import canonical

    config = _config(chain, 2, cache)
    with one_run():
        here = canonical.load(config)
    with one_run():
        canonical.prefetch(config, 2)
        assert len(canonical._PREFETCHED) == (0 if cache else 1)  # cached: no child
        there = canonical.load(config)
    assert not canonical._PREFETCHED
    assert _canonical_state((there.sql, there.diagnostics, there.conflicts, there.errors)) \
        == _canonical_state((here.sql, here.diagnostics, here.conflicts, here.errors))


def test_a_canonical_file_changed_after_the_child_started_is_read_again(
        tmp_path: Path) -> None:
    from b03lint.cache import one_run
    from b03lint.schema import canonical

    (tmp_path / "pyproject.toml").write_text(
        '[tool.b03lint]\nmigrations = "versions"\ncanonical_sql = "schema.sql"\n')
    sql = tmp_path / "schema.sql"
    sql.write_text("CREATE TABLE a (id int);\n")
    config = load_config(tmp_path)
    config.set("cache", False, "test")
    with one_run():
        canonical.prefetch(config, 2)
        assert canonical._PREFETCHED
        sql.write_text("CREATE TABLE b (id int);\nCREATE TABLE c (;\n")
        read = canonical.load(config)
    assert read.sql is not None and sorted(read.sql.tables) == ["b"]
    assert [d.code for d in read.diagnostics] == ["I003"]  # the syntax error, as read here
    canonical.prefetch(config, 2)
    children = list(canonical._PREFETCHED.values())
    canonical.cancel_prefetch()  # nobody asked: stopped and reaped
    assert children and all(c.fd is None for c in children)
    with pytest.raises(ChildProcessError):
        os.waitpid(children[0].pid, os.WNOHANG)
    canonical.prefetch(config, 1)  # one process: nothing started
    assert not canonical._PREFETCHED


def test_the_load_of_others_is_what_runs_now_not_what_ran_a_minute_ago() -> None:
    """A process spinning beside the check counts as one busy CPU; once it has stopped,
    the CPU counts as idle at once (the 1-minute load average still counted it)."""
    import subprocess
    import time

    from b03lint import loader

    if not Path("/proc/loadavg").is_file():
        skip_outside_ci("no /proc/loadavg on this platform")
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)
        busy = max(loader.others_load() for _ in range(20))
    finally:
        spinner.kill()
        spinner.wait()
    assert busy >= 1, busy
    after = min(loader.others_load() for _ in range(20))
    assert after < busy, (busy, after)


@pytest.mark.parametrize("cache", [False, True])
def test_with_no_child_the_canonical_is_read_before_the_migrations(
        chain: Path, cache: bool, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """``early`` and one process: the canonical schema is read (and cached) at once, then
    handed to load() as it was read, not read again; unchanged bytes only."""
    import shutil

    from b03lint.cache import one_run
    from b03lint.schema import canonical

    root = tmp_path / "chain"
    shutil.copytree(chain / "db", root / "db")
    shutil.copy(chain / "pyproject.toml", root / "pyproject.toml")
    config = _config(root, 1, cache)
    with one_run():
        here = canonical.load(config)
    cache_dir = config.path("cache_dir")
    assert cache_dir is not None and cache_dir.is_dir() == cache
    if cache:
        shutil.rmtree(cache_dir)
    reads: list[str] = []
    real = canonical.read_schema_sql

    def counting(text: str, shown: str, label: str = "canonical SQL") -> object:
        reads.append(shown)
        return real(text, shown, label)

    monkeypatch.setattr(canonical, "read_schema_sql", counting)
    with one_run():
        canonical.prefetch(config, 1, early=True)
        assert len(reads) == 1 and len(canonical._EARLY) == 1
        early = canonical.load(config)
    assert len(reads) == 1 and not canonical._EARLY
    assert _canonical_state((early.sql, early.diagnostics, early.conflicts, early.errors)) \
        == _canonical_state((here.sql, here.diagnostics, here.conflicts, here.errors))
    with one_run():
        again = canonical.load(config)
    assert len(reads) == (1 if cache else 2)  # cached by the early read
    assert _canonical_state(again.sql) == _canonical_state(here.sql)
    with one_run():
        canonical.prefetch(config, 1)  # no rule reads it: nothing read
        assert not canonical._EARLY
    sql = config.path("canonical_sql")
    assert sql is not None
    with one_run():
        canonical.prefetch(config, 1, early=not cache)  # (cached: nothing to read)
        sql.write_text(sql.read_text() + "\nCREATE TABLE extra (id int);\n")
        changed = canonical.load(config)
    assert changed.sql is not None and "extra" in changed.sql.tables


def test_a_workers_results_travel_as_one_framed_buffer() -> None:
    blobs = [b"", b"\x80\x05one", b"x" * 70_000, b"two"]
    data = loader._framed(blobs)
    assert [bytes(v) for v in loader._unframed(data) or []] == blobs
    assert loader._unframed(data[:-1]) is None
    assert loader._unframed(data + b"\x01\x00") is None
    assert loader._unframed(b"") == []


def _counting_load(monkeypatch: pytest.MonkeyPatch, loads: list[float]) -> list[float]:
    """``others_load`` answers ``loads`` in turn (then the last one), and records each
    look: a run that looks twice sees its own forked child the second time."""
    seen: list[float] = []

    def look() -> float:
        value = loads[min(len(seen), len(loads) - 1)]
        seen.append(value)
        return value

    monkeypatch.setattr(loader, "others_load", look)
    monkeypatch.setattr(loader, "available_cpus", lambda: 2)
    return seen


def test_the_runs_own_canonical_child_is_not_counted_as_load(
        chain: Path, monkeypatch: pytest.MonkeyPatch, parallel_calls: list[int]) -> None:
    """Automatic jobs, canonical SQL not cached: the prefetch forks a child to read it, and
    the migrations are then parsed over the processes measured *before* that child ran.
    When the loader measured again after the fork, the child itself made the idle machine
    look busy and 1,000 files were parsed in one process: 1,908 ms where two took 1,491."""
    from b03lint.cache import one_run
    from b03lint.engine import lint

    seen = _counting_load(monkeypatch, [0.0, 1.0])  # idle; then our own child runs
    config = _config(chain, 0, cache=False)
    with one_run():
        result = lint(config, baseline=None)
    assert not result.errors, result.errors
    assert seen == [0.0]  # looked once for the whole run
    assert parallel_calls == [N]  # over the two idle CPUs


def test_a_check_of_a_few_files_never_measures_the_load(
        chain: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The pre-commit case: the canonical schema cached, one file to parse. Looking at
    the run queue costs sleeps between looks; with nothing to decide, it is never done."""
    import shutil

    from b03lint.cache import one_run
    from b03lint.engine import lint

    root = tmp_path / "chain"
    shutil.copytree(chain, root)
    config = _config(root, 0, cache=True)
    with one_run():
        assert not lint(config, baseline=None).errors  # fills the cache
    first = sorted(p for _shown, p in _items(root))[0]
    first.write_text(first.read_text() + "\n# edited\n")
    seen = _counting_load(monkeypatch, [0.0])
    with one_run():
        result = lint(_config(root, 0, cache=True), [first], baseline=None)
    assert not result.errors, result.errors
    assert result.checked and seen == []


def test_spare_processes_are_measured_once_and_only_when_asked(
        monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _counting_load(monkeypatch, [0.0, 1.0])
    spare = loader.SpareProcesses(0)
    assert seen == []
    assert loader.plan_workers(loader.PARALLEL_MIN_FILES - 1, 0, spare) == 1
    assert seen == []  # too few files: nothing to decide
    assert loader.plan_workers(10_000, 0, spare) == 2
    assert spare() == 2 and loader.plan_workers(10_000, 0, spare) == 2
    assert seen == [0.0]
    explicit = loader.SpareProcesses(3)
    assert explicit() == 3 and seen == [0.0]  # an explicit setting needs no look
    assert loader.plan_workers(10_000, 3, loader.SpareProcesses(0)) == 3
    assert seen == [0.0]


def _names(files: list[MigrationFile]) -> list[str]:
    """Every column name the files' operations write, each object as it is held."""
    return [c.name for mf in files for op in mf.operations
            for c in (getattr(op, "columns", None) or ()) if c.name == "tenant_id"]


@pytest.mark.parametrize("jobs", [1, 2], ids=["cached", "worker"])
def test_a_large_chain_holds_each_name_once(chain: Path, jobs: int, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """From ``INTERN_FROM`` files on, the migrations a worker or the cache hands over hold
    one object per name for the whole run; below it, one per file (cheaper to load). The
    files are the same either way."""
    items = _items(chain)
    config = _config(chain, jobs, cache=True)
    config.set("cache_dir", str(tmp_path / "cache"), "test")
    first = loader.load_files(items, config)  # parsed (the worker's share unpickled)
    again = loader.load_files(items, config)  # all from the cache
    monkeypatch.setattr(loader, "INTERN_FROM", N)
    shared = loader.load_files(items, config)
    cold = _config(chain, jobs, cache=True)
    cold.set("cache_dir", str(tmp_path / "cache2"), "test")
    delivered: list[str] = []  # the files a worker parsed (the queue decides which)
    real_from_worker = loader._from_worker

    def from_worker(shown: str, *args: object, **kwargs: object) -> MigrationFile:
        delivered.append(shown)
        return real_from_worker(shown, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(loader, "_from_worker", from_worker)
    shared_cold = loader.load_files(items, cold)
    assert first == again == shared == shared_cold
    apart, together = _names(again), _names(shared)
    assert len(apart) > 20
    assert len({id(n) for n in apart}) > 20  # one object per file
    assert len({id(n) for n in together}) == 1
    if jobs == 2:  # the worker's share came through the pipe, its names shared too
        half = _names([mf for mf in shared_cold if mf.path in delivered])
        assert len(half) > 5 and len({id(n) for n in half}) == 1
