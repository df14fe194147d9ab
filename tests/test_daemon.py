"""The resident process (``b03lint daemon``, b03lint/resident.py and
b03lint/commands/daemon.py), with real processes: a server started by the real command,
checks run by the real command line, signals sent for real.

Every test has its own socket folder (``XDG_RUNTIME_DIR``) and per-user cache
(``XDG_CACHE_HOME``), and stops its server afterwards. Whether a check was delegated is
read from the client's own ``-X importtime`` report: a delegated check never imports the
engine in the client.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from ci_skip import skip_outside_ci

import b03lint

ENGINE = "b03lint.engine"


class Daemon:
    def __init__(self, root: Path, run_dir: Path, **extra: str) -> None:
        self.root = root
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("NO_COLOR", "FORCE_COLOR", "PYTHONDONTWRITEBYTECODE",
                                 "B03LINT_DAEMON")}
        self.env["XDG_CACHE_HOME"] = str(root.parent / "xdg")
        self.env["XDG_RUNTIME_DIR"] = str(run_dir)
        self.env.update(extra)

    def b03(self, *args: str, importtime: bool = False, cwd: Path | None = None, **env: str
            ) -> subprocess.CompletedProcess[bytes]:
        cmd = [sys.executable, *(["-X", "importtime"] if importtime else []),
               "-m", "b03lint", *args]
        return subprocess.run(cmd, cwd=cwd or self.root, env={**self.env, **env},
                              capture_output=True, timeout=120)

    def check(self, *args: str, cwd: Path | None = None, **env: str
              ) -> tuple[subprocess.CompletedProcess[bytes], bool]:
        """A check, and whether the client left it to the resident process."""
        done = self.b03("check", *args, importtime=True, cwd=cwd, **env)
        imported = {line.rsplit(b"|", 1)[1].strip().decode()
                    for line in done.stderr.splitlines()
                    if line.startswith(b"import time:") and b"|" in line}
        stderr = b"".join(line + b"\n" for line in done.stderr.splitlines()
                          if not line.startswith(b"import time:"))
        done.stderr = stderr
        return done, ENGINE not in imported

    def pid(self) -> int | None:
        done = self.b03("daemon", "status")
        if done.returncode != 0:
            return None
        return int(done.stdout.split(b"pid ")[1].split(b",")[0])

    def start(self, *args: str) -> int:
        done = self.b03("daemon", "start", *args)
        assert done.returncode == 0, done.stderr
        pid = self.pid()
        assert pid is not None
        return pid

    def stop(self) -> None:
        self.b03("daemon", "stop")


def _short_dir() -> Path:
    """A private folder with a short path: a socket's path has room for about 100 bytes,
    and pytest's temporary folders are longer than that."""
    import tempfile

    return Path(tempfile.mkdtemp(prefix="b3d-", dir="/tmp"))


@pytest.fixture()
def run_dir() -> Iterator[Path]:
    folder = _short_dir()
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture()
def daemon(example_copy: Path, run_dir: Path) -> Iterator[Daemon]:
    d = Daemon(example_copy, run_dir)
    yield d
    d.stop()


def _gone(pid: int, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:  # a zombie of ours (the test started nothing of the kind) counts as gone
            if Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z"):
                return True
        except OSError:
            return True
        time.sleep(0.05)
    return False


def _descendants(pid: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(") ", 1)[1].split()[1])
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        kids = [child for child, p in parents.items() if p == parent]
        found += kids
        todo += kids
    return found


def _edit(root: Path, text: str) -> None:
    target = sorted((root / "alembic" / "versions").rglob("*.py"))[-1]
    with target.open("a", encoding="utf-8") as fh:
        fh.write(text)
    past = time.time() - 10
    os.utime(target, (past, past))


# --------------------------------------------------------------------------- same run


@pytest.mark.parametrize("fmt", ["text", "json", "sarif"])
def test_a_delegated_check_prints_and_exits_exactly_as_a_local_one(daemon: Daemon,
                                                                   fmt: str) -> None:
    daemon.start()
    for args in (["--output-format", fmt, "--no-result-cache"],
                 ["--output-format", fmt, "--no-cache", "--select", "D"]):
        _edit(daemon.root, f"\n# {fmt} {args[-1]}\n")
        local, delegated_locally = daemon.check(*args, B03LINT_DAEMON="off")
        remote, delegated = daemon.check(*args)
        assert not delegated_locally
        assert delegated, remote.stderr
        assert (remote.returncode, remote.stdout, remote.stderr) == (
            local.returncode, local.stdout, local.stderr)


def test_blocking_findings_and_bad_input_keep_their_exit_codes(daemon: Daemon) -> None:
    daemon.start()
    bad = daemon.root / "alembic" / "versions" / "0099_broken.py"
    bad.write_text('revision = "x"\ndown_revision = "nope"\n\ndef upgrade(:\n')
    local, _ = daemon.check("--no-result-cache", B03LINT_DAEMON="off")
    remote, delegated = daemon.check("--no-result-cache")
    assert delegated
    assert local.returncode == 2
    assert (remote.returncode, remote.stdout, remote.stderr) == (
        local.returncode, local.stdout, local.stderr)
    bad.unlink()
    (daemon.root / "pyproject.toml").write_text("[tool.b03lint\n")
    local, _ = daemon.check("--no-result-cache", B03LINT_DAEMON="off")
    remote, delegated = daemon.check("--no-result-cache")
    assert delegated and local.returncode == 2
    assert (remote.returncode, remote.stdout, remote.stderr) == (
        local.returncode, local.stdout, local.stderr)


def test_the_caller_is_answered_before_the_result_is_recorded(daemon: Daemon) -> None:
    """Once the report is written, the client gets its exit code and the end of its
    output at once; the runner records the result for the result cache afterwards. The
    report goes to a FIFO here: recording the result reads the report back, and that
    read waits until the test opens the FIFO again, so the runner is stopped exactly
    there, after the answer."""
    server = daemon.start()
    _edit(daemon.root, "\n# answered early\n")
    fifo = daemon.root / "report.fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # the report can be written
    proc = subprocess.Popen([sys.executable, "-m", "b03lint", "check", "--output", str(fifo),
                             "--output-format", "json"], cwd=daemon.root, env=daemon.env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        # EOF on both pipes: the runner, still at work, holds none of the caller's fds
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert (out, err) == (b"", b"")
        report = b""
        while chunk := os.read(reader, 65536):
            report += chunk
        assert b'"findings"' in report
        assert _descendants(server)  # the runner waits for the FIFO, after the answer
    finally:
        proc.kill()
        os.close(reader)
        deadline = time.monotonic() + 10
        while _descendants(server) and time.monotonic() < deadline:
            try:  # the read the runner waits for ends (ENXIO: it is not reading yet)
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
                break
            except OSError:
                time.sleep(0.01)
    assert _nothing_left_of(server)
    fifo.unlink()


def test_the_run_has_the_callers_directory_and_environment(daemon: Daemon) -> None:
    """A check run from a sub-folder, with a terminal width the server never had:
    the folder and the environment come from the caller."""
    daemon.start()
    sub = daemon.root / "alembic"
    target = sorted((daemon.root / "alembic" / "versions").rglob("*.py"))[-1]
    rel = os.path.relpath(target, sub)
    results = []
    for switch in ("off", "on"):
        done, delegated = daemon.check("--no-result-cache", "--output-format", "json", rel,
                                       cwd=sub, B03LINT_DAEMON=switch, COLUMNS="61",
                                       B03LINT_TEST_ONLY="x")
        assert delegated == (switch == "on")
        results.append((done.returncode, done.stdout, done.stderr))
    assert results[0] == results[1]
    helps = []
    for switch in ("off", "on"):  # the server's parser, written at the caller's width
        done = daemon.b03("check", "--help", importtime=True, B03LINT_DAEMON=switch,
                          COLUMNS="61")
        imported = {line.rsplit(b"|", 1)[1].strip() for line in done.stderr.splitlines()
                    if line.startswith(b"import time:") and b"|" in line}
        assert (b"argparse" in imported) == (switch == "off")  # built here, or not
        helps.append((done.returncode, done.stdout))
    assert helps[0] == helps[1]
    wide = daemon.b03("check", "--help", COLUMNS="200")
    assert wide.returncode == 0 and wide.stdout != helps[1][1]  # the width is the caller's


def test_the_client_imports_nothing_heavy(daemon: Daemon) -> None:
    daemon.start()
    done = daemon.b03("check", "--no-result-cache", importtime=True)
    imported = {line.rsplit(b"|", 1)[1].strip().decode()
                for line in done.stderr.splitlines()
                if line.startswith(b"import time:") and b"|" in line}
    assert "b03lint.resident" in imported
    # what the interpreter imports before b03lint (an editable install's finder brings
    # pathlib) is not the client's to avoid
    startup = subprocess.run([sys.executable, "-X", "importtime", "-c", "pass"],
                             capture_output=True, timeout=60).stderr
    imported -= {line.rsplit(b"|", 1)[1].strip().decode() for line in startup.splitlines()
                 if line.startswith(b"import time:") and b"|" in line}
    assert sorted(imported & {ENGINE, "dataclasses", "yaml", "pglast", "argparse",
                              "typing", "b03lint.config", "pathlib", "signal"}) == []


def test_it_holds_what_its_checks_read_and_the_results_stay_the_same(daemon: Daemon) -> None:
    """After a check, the server holds the parse-cache values that check read (`daemon
    status` says how many); the checks that follow print exactly what a local run prints."""
    daemon.start()
    assert b"holding" not in daemon.b03("daemon", "status").stdout
    for i in range(3):
        _edit(daemon.root, f"\n# held {i}\n")
        remote, delegated = daemon.check("--output-format", "json")
        local, _ = daemon.check("--output-format", "json", "--no-result-cache",
                                B03LINT_DAEMON="off")
        assert delegated
        assert (remote.returncode, remote.stdout, remote.stderr) == (
            local.returncode, local.stdout, local.stderr)
    deadline = time.monotonic() + 10
    status = b""
    while b"holding" not in status and time.monotonic() < deadline:
        time.sleep(0.05)
        status = daemon.b03("daemon", "status").stdout
    files = len(list((daemon.root / "alembic" / "versions").rglob("*.py")))
    assert int(status.split(b"holding ")[1].split()[0]) >= files, status


# --------------------------------------------------------------------------- lifecycle


def test_folder_and_socket_are_private_and_stop_removes_the_socket(daemon: Daemon,
                                                                   run_dir: Path) -> None:
    pid = daemon.start()
    folder = run_dir / "b03lint"
    assert folder.stat().st_mode & 0o777 == 0o700
    [sock] = list(folder.glob("*.sock"))
    assert sock.is_socket() and sock.stat().st_mode & 0o777 == 0o600
    again = daemon.b03("daemon", "start")
    assert again.returncode == 0 and b"already running" in again.stdout
    _edit(daemon.root, "\n# held\n")
    assert daemon.check("--no-result-cache")[1]
    status = Path(f"{sock}.status")
    deadline = time.monotonic() + 10
    while not status.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert status.exists()
    assert daemon.b03("daemon", "stop").returncode == 0
    assert _gone(pid)
    assert not sock.exists() and not status.exists()
    assert daemon.b03("daemon", "status").returncode == 1
    _done, delegated = daemon.check("--no-result-cache")
    assert not delegated


def test_a_folder_others_can_open_is_refused(example_copy: Path, run_dir: Path) -> None:
    shared = run_dir
    (shared / "b03lint").mkdir()
    (shared / "b03lint").chmod(0o755)
    d = Daemon(example_copy, shared)
    done = d.b03("daemon", "start")
    assert done.returncode == 2
    assert b"not a folder only this user can open" in done.stderr
    assert b"Traceback" not in done.stderr


def test_it_stops_when_its_socket_is_removed(daemon: Daemon, run_dir: Path) -> None:
    pid = daemon.start("--idle-timeout", "0")  # never idle: only the check stops it
    [sock] = list((run_dir / "b03lint").glob("*.sock"))
    sock.unlink()
    # another server under the same name is left alone by the first one's exit
    other = daemon.start("--idle-timeout", "0")
    assert other != pid
    assert _gone(pid, within=15)
    assert daemon.pid() == other


def test_it_stops_after_the_idle_timeout(daemon: Daemon, run_dir: Path) -> None:
    pid = daemon.start("--idle-timeout", "1")
    assert _gone(pid, within=15)
    assert list((run_dir / "b03lint").glob("*.sock")) == []


def test_an_edited_module_makes_it_stand_down(example_copy: Path, run_dir: Path,
                                               tmp_path: Path) -> None:
    """A module the server imported changes (here b03lint itself, in a private copy on
    PYTHONPATH): the server answers "stale" and stops, and the check runs locally."""
    site = tmp_path / "site"
    shutil.copytree(Path(b03lint.__file__).parent, site / "b03lint",
                    ignore=shutil.ignore_patterns("__pycache__"))
    d = Daemon(example_copy, run_dir, PYTHONPATH=str(site))
    try:
        pid = d.start()
        first, delegated = d.check("--no-result-cache")
        assert delegated, first.stderr
        module = site / "b03lint" / "rules" / "base.py"
        module.write_text(module.read_text() + "\n# edited\n")
        second, delegated = d.check("--no-result-cache")
        assert not delegated
        assert (second.returncode, second.stdout) == (first.returncode, first.stdout)
        assert _gone(pid)
        assert d.pid() is None
    finally:
        d.stop()


def test_auto_starts_one_for_the_next_check(daemon: Daemon) -> None:
    """B03LINT_DAEMON=auto: the first check runs here and leaves a server behind; the
    next one uses it; both print the same."""
    first, delegated = daemon.check("--no-result-cache", B03LINT_DAEMON="auto")
    assert not delegated
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and daemon.pid() is None:
        time.sleep(0.1)
    assert daemon.pid() is not None
    second, delegated = daemon.check("--no-result-cache", B03LINT_DAEMON="auto")
    assert delegated
    assert (second.returncode, second.stdout, second.stderr) == (
        first.returncode, first.stdout, first.stderr)
    # without "auto", a check never starts one
    daemon.stop()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and daemon.pid() is not None:
        time.sleep(0.05)
    daemon.check("--no-result-cache")
    time.sleep(1)
    assert daemon.pid() is None


def test_two_starts_at_once_leave_one_server(daemon: Daemon) -> None:
    procs = [subprocess.Popen([sys.executable, "-m", "b03lint", "daemon", "start"],
                              cwd=daemon.root, env=daemon.env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for _ in range(3)]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0]
    assert sum(b"started" in out for out in outputs) == 1, outputs
    pids = {int(out.split(b"pid ")[1].split(b",")[0]) for out in outputs}
    assert len(pids) == 1


# --------------------------------------------------------------------------- signals


@pytest.fixture()
def long_check(tmp_path: Path, run_dir: Path) -> Iterator[tuple[Daemon, int]]:
    """A server for a 600-revision chain (a cold check of it takes long enough to be
    interrupted), and its pid; stopped afterwards."""
    root = tmp_path / "big"
    bench = Path(__file__).resolve().parent.parent / "bench" / "generate.py"
    subprocess.run([sys.executable, str(bench), str(root), "--revisions", "600"],
                   check=True, capture_output=True, timeout=300)
    d = Daemon(root, run_dir)
    try:
        yield d, d.start()
    finally:
        d.stop()


def _begin(d: Daemon, server: int, output: int) -> subprocess.Popen[bytes]:
    """A cold check delegated to ``server``, once its relay and runner exist."""
    proc = subprocess.Popen([sys.executable, "-m", "b03lint", "check", "--no-cache",
                             "--jobs", "1"], cwd=d.root, env=d.env,
                            stdout=output, stderr=output)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(_descendants(server)) < 2:
        time.sleep(0.01)
    return proc


def _nothing_left_of(server: int) -> bool:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _descendants(server):
        time.sleep(0.05)
    return _descendants(server) == []


def test_ctrl_c_reaches_the_run_and_leaves_no_process(long_check: tuple[Daemon, int]) -> None:
    """SIGINT to the client interrupts the run in the resident process: exit 130, the
    same message as a local run, and nothing of the run left behind."""
    d, server = long_check
    proc = _begin(d, server, subprocess.PIPE)
    assert len(_descendants(server)) >= 2  # the relay and the runner: the run has begun
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert b"b03lint: interrupted" in err
    assert _nothing_left_of(server)
    assert d.pid() == server  # the server itself carries on


def test_a_client_that_dies_takes_its_run_with_it(long_check: tuple[Daemon, int]) -> None:
    d, server = long_check
    proc = _begin(d, server, subprocess.DEVNULL)
    proc.kill()
    proc.wait(timeout=30)
    assert _nothing_left_of(server)


# --------------------------------------------------------------------------- other users


def _as_nobody() -> list[str] | None:
    setpriv = shutil.which("setpriv")
    if setpriv is None or os.geteuid() != 0:
        return None
    return [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]


def test_another_user_is_refused_without_a_word(example_copy: Path, run_dir: Path) -> None:
    """A server of ``nobody``; this test's process (root) connects to its socket: the
    server closes the connection without answering, and a check of root's never uses
    nobody's folder."""
    prefix = _as_nobody()
    if prefix is None:
        skip_outside_ci("needs root and setpriv to act as another user")
    folder = run_dir / "n"
    folder.mkdir(mode=0o700)
    os.chown(folder, 65534, 65534)
    run_dir.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "B03LINT_DAEMON"}
    env.update(XDG_RUNTIME_DIR=str(folder), XDG_CACHE_HOME=str(folder / "xdg"),
               HOME=str(folder))
    # (not from `folder`: its socket folder `b03lint/` would shadow the package for
    # `python -m b03lint` once it exists)
    started = subprocess.run([*prefix, sys.executable, "-m", "b03lint", "daemon", "start"],
                             cwd="/", env=env, capture_output=True, timeout=120)
    if started.returncode != 0 and b"Permission denied" in started.stderr:
        skip_outside_ci("nobody cannot read this checkout")
    assert started.returncode == 0, started.stderr
    server = int(started.stdout.split(b"pid ")[1].split(b",")[0])
    try:
        [path] = list((folder / "b03lint").glob("*.sock"))
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(10)
            sock.connect(str(path))
            # a well-formed request (a server that took it would answer "P", then "X")
            from b03lint import resident

            payload = resident.request(["b03lint", "check", "--no-result-cache"])
            assert payload is not None
            fds = b"".join(fd.to_bytes(4, sys.byteorder) for fd in (0, 1, 2))
            sock.sendmsg([payload], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)])
            try:
                answer = sock.recv(16)
            except ConnectionResetError:  # closed with the request unread
                answer = b""
            assert answer == b""
        d = Daemon(example_copy, folder)
        _done, delegated = d.check("--no-result-cache")
        assert not delegated
    finally:
        stopped = subprocess.run([*prefix, sys.executable, "-m", "b03lint", "daemon", "stop"],
                                 cwd="/", env=env, capture_output=True, timeout=60)
    assert stopped.returncode == 0 and b"stopped" in stopped.stdout, stopped
    assert _gone(server)
