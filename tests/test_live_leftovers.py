"""Nothing left behind: a b03lint run killed by SIGKILL (nothing of its own cleanup can
run) leaves no running local cluster (its watchdog stops it and removes the folder), and
`b03lint rebuild --clean` removes the scratch database it left on a server; a live run's
scratch database and cluster are never removed, and every rebuild reports the leftovers of
dead runs it sees. Scratch databases and cluster folders name their maker (host, pid,
start time)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

from live_support import (
    ROOT,
    Run,
    b03,
    b03_process,
    scratch_databases,
    sleeping_example,
    wait_for_sleep,
)
from pgcluster import PostgresCluster

from b03lint.live.orphans import Creator, cluster_folders, creator_of_name, scratch_name

CONFIG = str(ROOT / "pyproject.toml")


def wait_until(condition: object, what: str, timeout: float = 90) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen")


def postgres_of(root: str) -> list[str]:
    running = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True,
                             check=False).stdout
    return [line for line in running.splitlines() if root in line]


def sleeping_on_socket(socket_dir: Path) -> bool:
    """Whether the migration's pg_sleep runs on the local cluster of that socket folder."""
    import psycopg

    try:
        with psycopg.connect(host=str(socket_dir), port=5432, user="postgres",
                             dbname="postgres", autocommit=True) as conn:
            return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE query LIKE "
                                "'%pg_sleep(60)%' AND state = 'active' AND pid <> "
                                "pg_backend_pid()").fetchone() != (0,)
    except psycopg.Error:
        return False


def clean(cluster: PostgresCluster | None, *args: str) -> Run:
    where = ("--database-url", cluster.url()) if cluster is not None else ()
    return b03("rebuild", "--clean", *where, "--config", CONFIG, *args)


# --------------------------------------------------------------------------- names


def test_names_say_who_made_them() -> None:
    me = Creator.me()
    name = scratch_name()
    assert len(name) <= 63 and re.fullmatch(r"[a-z0-9_]+", name)
    assert creator_of_name(name) == me and me.status() == "live"
    assert creator_of_name("b03lint_scratch_5d1a9c0e77aa") is None  # an older b03lint's
    # a pid that is gone, and a live pid whose start time is not the recorded one (reused)
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert Creator(me.host, child.pid, "1").status() == "orphan"
    if me.start != "0":
        assert Creator(me.host, os.getpid(), str(int(me.start) + 1)).status() == "orphan"
    assert Creator("00000000", child.pid, "1").status() == "other host"


# --------------------------------------------------------------------------- SIGKILL


def test_sigkill_on_a_local_cluster_the_watchdog_stops_it(pg_cluster: PostgresCluster,
                                                          tmp_path: Path) -> None:
    """(pg_cluster only guarantees that the server binaries are installed.)"""
    config = sleeping_example(tmp_path)
    proc = b03_process("rebuild", "--config", config, "--verbose")
    assert proc.stderr is not None
    root = None
    try:
        for line in proc.stderr:
            found = re.search(r"# local cluster running in (\S+) \(socket only\)", line)
            root = found.group(1) if found else root
            if "alembic -c alembic.ini upgrade" in line:
                break
        assert root is not None and Path(root).name.startswith(f"b03lint-pg-{proc.pid}-")
        wait_until(lambda: sleeping_on_socket(Path(root) / "sock"), "the sleeping migration")
        assert postgres_of(root)
        proc.kill()
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    wait_until(lambda: not Path(root).exists() and not postgres_of(root),
               "the watchdog's cleanup")
    assert not [line for line in postgres_of(str(tmp_path)) if "b03lint.live.child" in line]


def test_clean_removes_a_cluster_folder_whose_watchdog_died_too(pg_cluster: PostgresCluster,
                                                                tmp_path: Path) -> None:
    """A process that started a cluster without a watchdog and died: --clean stops the
    server and removes the folder; a live process's cluster stays."""
    script = (f"import os, sys; sys.path.insert(0, {str(ROOT)!r})\n"
              "from b03lint.live.localpg import PostgresCluster\n"
              "c = PostgresCluster(tcp=False, watchdog=False).start()\n"
              "print(c.root, flush=True)\n"
              "os._exit(0)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, check=True)
    root = done.stdout.strip()
    assert postgres_of(root), "the dead process's server runs on"
    listed = {o.name: o.status for o in cluster_folders()}
    assert listed[root] == "orphan"
    assert listed[str(pg_cluster.root)] == "live"
    run = clean(None)
    assert run.code == 0, run.text
    assert f"removed {root}: left behind by pid" in run.out
    assert f"kept {pg_cluster.root}: in use by the live run pid {os.getpid()}" in run.out
    assert not Path(root).exists() and not postgres_of(root)
    assert pg_cluster.root is not None and pg_cluster.root.exists()


def test_sigkill_on_a_server_then_clean(pg_cluster: PostgresCluster, tmp_path: Path) -> None:
    """SIGKILL leaves the scratch database: the next rebuild reports it, --clean removes it;
    a concurrent live run's database is kept by that same --clean."""
    config = sleeping_example(tmp_path)
    killed = b03_process("rebuild", "--database-url", pg_cluster.url(), "--config", config)
    live = None
    try:
        wait_for_sleep(pg_cluster)
        (left,) = scratch_databases(pg_cluster)
        assert creator_of_name(left) == Creator(Creator.me().host, killed.pid,
                                                creator_of_name(left).start)  # type: ignore[union-attr]
        killed.kill()
        killed.wait(timeout=60)
        assert scratch_databases(pg_cluster) == [left]
        # the next rebuild reports it (and leaves it alone)
        seen = b03("rebuild", "--database-url", pg_cluster.url(), "--config", CONFIG)
        assert seen.code == 0, seen.text
        assert f"note: 1 leftover(s) of dead b03lint runs seen: {left};" in seen.out
        assert "`b03lint rebuild --clean` removes them" in seen.out
        assert scratch_databases(pg_cluster) == [left]
        # a live run
        live = b03_process("rebuild", "--database-url", pg_cluster.url(), "--config", config)
        wait_until(lambda: len(scratch_databases(pg_cluster)) == 2, "the live run's database")
        (mine,) = set(scratch_databases(pg_cluster)) - {left}
        run = clean(pg_cluster)
        assert run.code == 0, run.text
        assert f"removed {left}: left behind by pid {killed.pid}" in run.out
        assert f"kept {mine}: in use by the live run pid {live.pid}" in run.out
        assert scratch_databases(pg_cluster) == [mine]
        live.terminate()
        out, err = live.communicate(timeout=60)
        assert live.returncode == 130, (out, err)
        assert scratch_databases(pg_cluster) == []
    finally:
        for proc in (killed, live):
            if proc is not None and proc.poll() is None:
                proc.kill()
        with pg_cluster.connect() as conn:
            for name in scratch_databases(pg_cluster):
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_clean_never_removes_what_it_cannot_attribute(pg_cluster: PostgresCluster) -> None:
    """A database named like an older b03lint's, and one of another host."""
    other = "b03lint_scratch_00000000_1_1_abcdef"
    for name in ("b03lint_scratch_taken", other):
        pg_cluster.create_database(name)
    try:
        run = clean(pg_cluster, "--output-format", "json")
        assert run.code == 0, run.text
        kept = {o["name"]: o["status"] for o in run.json()["kept"] if o["kind"] == "database"}
        assert kept == {"b03lint_scratch_taken": "unknown", other: "other host"}
        assert set(scratch_databases(pg_cluster)) == {"b03lint_scratch_taken", other}
    finally:
        for name in ("b03lint_scratch_taken", other):
            pg_cluster.drop_database(name)

