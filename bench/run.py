"""Benchmark b03lint against ``alembic upgrade head --sql | squawk`` on generated chains.

    .venv/bin/python bench/run.py            # full run (a few minutes), writes bench/RESULTS.md
    .venv/bin/python bench/run.py --quick    # N = 10, 100 only, fewer repetitions, no write
    .venv/bin/python bench/run.py --threshold  # where parallel parsing starts to pay

Every figure is the median of several runs of a fresh process, measured in this one run
on this machine (``python -c pass`` too, so the targets compare like with like). Peak RSS
comes from ``wait4`` of each run (the largest process of the run, workers included).
Python runs with bytecode writing allowed (``PYTHONDONTWRITEBYTECODE`` is removed), as it is
on a developer's machine; one untimed run warms the bytecode and the OS file cache first.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
from generate import generate  # noqa: E402

BIN = Path(sys.executable).parent
START = "<!-- results:start -->"
END = "<!-- results:end -->"


def tool(name: str) -> str:
    candidate = BIN / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise SystemExit(f"bench: {name} not found (pip install -e '.[live]' squawk-cli)")
    return found


#: the per-user cache folder of every measured run (its secret and compiled-code table):
#: the bench's own, so figures never depend on what this user's earlier runs left there
#: (a developer's code table had grown to 1,614 texts, ten times what a check uses)
BENCH_XDG = Path(tempfile.gettempdir()) / "b03lint-bench-xdg"


def child_env(daemon: bool = False) -> dict[str, str]:
    """The environment of every measured run: a resident process (``b03lint daemon``)
    of this user's is never used, except by the rows that measure the bench's own."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    env["NO_COLOR"] = "1"
    env["XDG_CACHE_HOME"] = str(BENCH_XDG)
    env["XDG_RUNTIME_DIR"] = str(BENCH_XDG / "run")
    if daemon:
        env.pop("B03LINT_DAEMON", None)
    else:
        env["B03LINT_DAEMON"] = "off"
    return env


# --------------------------------------------------------------------------- measuring


@dataclass
class Sample:
    seconds: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    rss_kb: list[int] = field(default_factory=list)
    codes: list[int] = field(default_factory=list)
    #: the exit code of every process of each run (a pipeline has several)
    all_codes: list[list[int]] = field(default_factory=list)

    @property
    def ms(self) -> float:
        return statistics.median(self.seconds) * 1000

    @property
    def cpu_ms(self) -> float:
        return statistics.median(self.cpu) * 1000

    @property
    def rss_mb(self) -> float:
        return max(self.rss_kb) / 1024 if self.rss_kb else 0.0

    @property
    def runs(self) -> int:
        return len(self.seconds)


def run_once(cmds: Sequence[Sequence[str]], cwd: Path, daemon: bool = False
             ) -> tuple[float, float, int, list[int]]:
    """Run a pipeline (``cmds[0] | cmds[1] | ...``, output discarded); return wall seconds,
    CPU seconds (user + system, every process and its workers; not the resident
    process's runner), peak RSS (KiB, largest process) and every command's exit code."""
    env = child_env(daemon)
    start = time.perf_counter()
    procs: list[subprocess.Popen[bytes]] = []
    stdin = subprocess.DEVNULL
    for i, cmd in enumerate(cmds):
        last = i == len(cmds) - 1
        p = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=stdin,
                             stdout=subprocess.DEVNULL if last else subprocess.PIPE,
                             stderr=subprocess.DEVNULL)
        if procs and procs[-1].stdout is not None:
            procs[-1].stdout.close()  # the next process owns the pipe now
        procs.append(p)
        stdin = p.stdout  # type: ignore[assignment]
    rss = 0
    cpu = 0.0
    codes = []
    for p in procs:
        _pid, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        codes.append(p.returncode)
        rss = max(rss, usage.ru_maxrss)
        cpu += usage.ru_utime + usage.ru_stime
    return time.perf_counter() - start, cpu, rss, codes


def record(sample: Sample, cmds: Sequence[Sequence[str]], cwd: Path,
           daemon: bool = False) -> None:
    """Run once and add the figures to ``sample``."""
    seconds, cpu, rss, codes = run_once(cmds, cwd, daemon)
    sample.seconds.append(seconds)
    sample.cpu.append(cpu)
    sample.rss_kb.append(rss)
    sample.codes.append(codes[0])
    sample.all_codes.append(codes)


def clear_cache(root: Path) -> None:
    shutil.rmtree(root / ".b03lint_cache", ignore_errors=True)


# --------------------------------------------------------------------------- the run


@dataclass
class Row:
    what: str
    n: str
    sample: Sample | None
    extra: str = ""
    target: str = ""
    verdict: str = ""

    def cells(self) -> list[str]:
        s = self.sample
        return [self.what, self.n, f"{s.ms:,.0f}" if s else "",
                f"{s.cpu_ms:,.0f}" if s else "", str(s.runs) if s else "",
                f"{s.rss_mb:,.0f}" if s else "", self.extra, self.target, self.verdict]


HEADER = ["measurement", "revisions", "median wall ms", "median CPU ms", "runs",
          "peak RSS MB", "derived", "target", "verdict"]


def verdict(ok: bool) -> str:
    return "**PASS**" if ok else "**MISS**"


def changed_file(root: Path) -> Path:
    """The file a developer is editing: the newest revision that holds SQL (so the check
    pays for the SQL parser too), as pre-commit hands it to the hook."""
    files = sorted((root / "alembic" / "versions").rglob("*.py"), key=lambda p: p.name)
    with_sql = [p for p in files if "op.execute(" in p.read_text()]
    return (with_sql or files)[-1]


#: the "real-size" chain: as many revisions as the largest real history at hand (onyx's
#: 437), whose canonical schema then has 60+ tables
REAL_SIZE = 437


#: runs per variant above 5,000 revisions (``--big-runs``)
BIG_RUNS = [2]


def repeats(n: int, quick: bool) -> int:
    if quick:
        return 3
    if n > 5000:
        return BIG_RUNS[0]
    return 9 if n <= 100 else 7 if n <= REAL_SIZE else 5 if n <= 1000 else 3 if n <= 5000 else 2


def tables_of(root: Path) -> int:
    text = (root / "db" / "schema" / "canonical_schema.sql").read_text()
    return len(re.findall(r"^CREATE TABLE", text, flags=re.M))


def age(path: Path, seconds: float = 5.0) -> None:
    """Date a file back: the developer saved it a moment before committing, not during
    the run (b03lint does not store the result of a run whose inputs changed just then)."""
    past = time.time() - seconds
    os.utime(path, (past, past))


def ok_codes(sample: Sample, allowed: set[int]) -> bool:
    return bool(sample.codes) and set(sample.codes) <= allowed


def warm_up(b03: str, alembic: str, squawk: str, root: Path, problems: list[str]) -> None:
    """Untimed: compile every module either pipeline imports (bytecode is written) and
    fill the OS file cache, at this N; and check that squawk really linted the SQL."""
    run_once([[b03, "check", "--no-cache"]], root)
    run_once([[sys.executable, str(HERE / "floor.py"), str(root)]], root)
    env = child_env()
    sql = subprocess.run([alembic, "upgrade", "head", "--sql"], cwd=root, env=env,
                         capture_output=True, text=True)
    lint = subprocess.run([squawk], input=sql.stdout, cwd=root, env=env,
                          capture_output=True, text=True)
    if sql.returncode != 0:
        problems.append(f"{root.name}: alembic --sql exited {sql.returncode}")
    # squawk exits 1 when it reports issues; a syntax error means it did not lint
    if lint.returncode not in (0, 1) or "syntax-error" in lint.stdout:
        problems.append(f"{root.name}: squawk exited {lint.returncode} "
                        f"({'syntax error in the SQL' if 'syntax-error' in lint.stdout else ''})")


def precommit(b03: str, root: Path, n: int, quick: bool, rows: list[Row],
              problems: list[str]) -> None:
    """One changed migration, the way the pre-commit hook runs it, interleaved with
    `python -c pass` (two per round) so that both see the same machine."""
    py = sys.executable
    target = changed_file(root)
    shown = target.relative_to(root).as_posix()
    original = target.read_bytes()
    base, cold, edited, unchanged = Sample(), Sample(), Sample(), Sample()
    resident = Sample()
    (BENCH_XDG / "run").mkdir(parents=True, mode=0o700, exist_ok=True)
    try:
        clear_cache(root)
        run_once([[b03, "check"]], root)  # the rest of the chain cached
        started = run_once([[b03, "daemon", "start", "--idle-timeout", "900"]], root, True)
        if started[3] != [0]:
            problems.append(f"pre-commit N={n}: `b03lint daemon start` exited {started[3]}")
        for i in range(repeats(100, quick) + 2):
            # the developer's edit (a comment line), saved a moment ago: this file is a
            # miss of every cache, the rest of the chain comes from the parse cache
            target.write_bytes(original + f"\n# edited by the benchmark ({i})\n".encode())
            age(target)
            for sample, cmds, cwd in ((base, [[py, "-c", "pass"]], REPO),
                                      (cold, [[b03, "check", "--no-cache", shown]], root),
                                      (edited, [[b03, "check", shown]], root),
                                      (base, [[py, "-c", "pass"]], REPO),
                                      (unchanged, [[b03, "check", shown]], root)):
                record(sample, cmds, cwd)
            # the same edit once more, checked by the resident process
            target.write_bytes(original + f"\n# edited by the benchmark ({i}, again)\n"
                               .encode())
            age(target)
            record(resident, [[b03, "check", shown]], root, True)
    finally:
        target.write_bytes(original)
        run_once([[b03, "daemon", "stop"]], root, True)
    if not any(r.what.startswith("`python -c pass`") for r in rows):
        rows.append(Row("`python -c pass`", "", base, "1.0x (the unit)"))
    for label, s, limit in (("no cache", cold, None),
                            ("one migration edited, rest cached", edited, 4.0),
                            ("edited, `b03lint daemon` running", resident, 4.0),
                            ("unchanged re-run (result cache)", unchanged, 2.5)):
        ratio = s.ms / base.ms
        rows.append(Row(f"pre-commit: `b03lint check <1 file>`, {label}", str(n), s,
                        f"{ratio:.1f}x python", f"<= {limit}x python" if limit else "",
                        verdict(ratio <= limit) if limit else ""))
        if not ok_codes(s, {0}):
            problems.append(f"pre-commit N={n} ({label}) exited {sorted(set(s.codes))}")


def bench(sizes: list[int], quick: bool, workdir: Path) -> tuple[list[Row], list[str]]:
    b03 = tool("b03lint")
    alembic = tool("alembic")
    squawk = tool("squawk")
    rows: list[Row] = []
    problems: list[str] = []

    roots = {}
    for n in sorted(set(sizes) | {100}):
        roots[n] = generate(workdir / f"chain_{n}", n)
        warm_up(b03, alembic, squawk, roots[n], problems)

    precommit(b03, roots[100], 100, quick, rows, problems)
    if REAL_SIZE in roots:
        precommit(b03, roots[REAL_SIZE], REAL_SIZE, quick, rows, problems)

    # ---- the whole chain, every variant interleaved (one of each per round): a burst of
    # other work on the machine then hits all of them alike instead of one of them
    per_rev: dict[int, float] = {}
    results: dict[tuple[int, str], Sample] = {}
    for n in sizes:
        root = roots[n]
        k = repeats(n, quick)
        samples = {key: Sample() for key in ("floor", "cold1", "cold2", "coldA", "warm1",
                                             "warm2", "warmA", "pipe")}
        for i in range(k):
            for key, cmds in (
                ("floor", [[sys.executable, str(HERE / "floor.py"), str(root)]]),
                ("cold1", [[b03, "check", "--jobs", "1"]]),
                ("cold2", [[b03, "check", "--jobs", "2"]]),
                # automatic jobs (the default): processes only when the idle CPUs allow
                ("coldA", [[b03, "check"]]),  # leaves the cache filled
                # the parse cache serves, the result cache is skipped (and refilled)
                ("warm1", [[b03, "check", "--jobs", "1", "--no-result-cache"]]),
                ("warm2", [[b03, "check", "--jobs", "2", "--no-result-cache"]]),
                ("warmA", [[b03, "check", "--no-result-cache"]]),
                ("pipe", [[alembic, "upgrade", "head", "--sql"], [squawk]]),
            ):
                if key == "pipe" and n > 5000 and i > 0:
                    continue  # the pipeline takes minutes at 20,000: one run
                if n > 5000 and key in ("cold2", "warm2", "warmA"):
                    continue  # minutes each at 20,000: the rows its targets need only
                if key.startswith("cold"):
                    clear_cache(root)
                record(samples[key], cmds, root)
        for key, sample in samples.items():
            results[(n, key)] = sample
        for key in ("cold1", "cold2", "coldA", "warm1", "warm2", "warmA", "floor"):
            if results[(n, key)].runs and not ok_codes(results[(n, key)], {0}):
                problems.append(f"N={n} {key} exited {sorted(set(results[(n, key)].codes))}")
        pipe = samples["pipe"]
        if not all(c[0] == 0 and c[1] in (0, 1) for c in pipe.all_codes):
            problems.append(f"N={n} pipeline exited {sorted(set(map(tuple, pipe.all_codes)))}")
        per_rev[n] = min(results[(n, key)].ms for key in ("cold1", "cold2", "coldA")
                         if results[(n, key)].runs) / n

    for n in sizes:
        cold1, cold2, coldA = (results[(n, k)] for k in ("cold1", "cold2", "coldA"))
        warm1, warm2, warmA = (results[(n, k)] for k in ("warm1", "warm2", "warmA"))
        pipe, floor = results[(n, "pipe")], results[(n, "floor")]
        best_cold = min(s.ms for s in (cold1, cold2, coldA) if s.runs)
        size = f"{n} ({tables_of(roots[n])} tables)" if n == REAL_SIZE else str(n)
        rows.append(Row("floor: start-up, read, `ast.parse`, pglast C parse of every "
                        "statement and of the canonical SQL", size, floor,
                        f"{floor.ms / n:.2f} ms/revision"))
        for label, s in (("1 process", cold1), ("2 processes", cold2),
                         ("automatic jobs", coldA)):
            if not s.runs:
                continue
            tgt = ok = ""
            extra = f"{s.ms / n:.2f} ms/revision"
            if s is coldA:
                # automatic jobs must never be slower than one process (within the noise
                # of medians: 5 %)
                extra += f"; {s.ms / cold1.ms:.2f} of 1 process"
                tgt, ok = "<= 1 process (+5 %)", verdict(s.ms <= cold1.ms * 1.05)
            if s.ms == best_cold:
                speedup, over = pipe.ms / best_cold, best_cold / floor.ms
                extra += f"; pipeline / this = {speedup:.1f}x; this / floor = {over:.1f}x"
            rows.append(Row(f"whole chain `b03lint check`, cold (empty cache), {label}", size,
                            s, extra, tgt, ok))
        if n == 1000:
            # the Done-when row of the issue, apart: the faster cold run against both
            speedup, over = pipe.ms / best_cold, best_cold / floor.ms
            rows.append(Row("1,000 revisions cold, the faster b03lint row: pipeline / "
                            "b03lint; b03lint / floor", size, None,
                            f"{speedup:.1f}x; {over:.1f}x",
                            ">= 2.5x; <= 2x", verdict(speedup >= 2.5 and over <= 2.0)))
        for label, s in (("1 process", warm1), ("2 processes", warm2),
                         ("automatic jobs", warmA)):
            if not s.runs:
                continue
            tgt = ok = ""
            share = s.ms / best_cold
            if n == 1000:
                tgt, ok = "<= 0.10 of cold", verdict(share <= 0.10)
            rows.append(Row(f"whole chain `b03lint check`, warm (parse cache; result cache "
                            f"missed), {label}", size, s, f"{share:.2f} of the faster cold",
                            tgt, ok))
        rows.append(Row("`alembic upgrade head --sql \\| squawk`", size, pipe,
                        f"{pipe.ms / n:.2f} ms/revision"))

    big = max(sizes)
    if 1000 in per_rev and big > 1000:
        growth = per_rev[big] / per_rev[1000]
        rows.append(Row(f"time per revision, faster cold: N={big} / N=1000", str(big), None,
                        f"{growth:.2f}", "within 20% (<= 1.20)", verdict(growth <= 1.20)))
        peak = max(results[(big, key)].rss_mb
                   for key in ("cold1", "cold2", "coldA", "warm1", "warm2", "warmA")
                   if results[(big, key)].runs)
        rows.append(Row("peak RSS of any b03lint run", str(big), None, f"{peak:,.0f} MB",
                        "<= 250 MB", verdict(peak <= 250)))
    return rows, problems


def table(rows: list[Row]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "|".join("---" for _ in HEADER) + "|"]
    lines += ["| " + " | ".join(r.cells()) + " |" for r in rows]
    return "\n".join(lines)


def facts() -> list[str]:
    def out(cmd: list[str]) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, cwd=REPO,
                                  timeout=30).stdout.strip()
        except OSError:
            return "?"

    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit = out(["git", "rev-parse", "--short", "HEAD"])
    dirty = " (with uncommitted changes)" if out(["git", "status", "--porcelain"]) else ""
    from b03lint import __version__

    return [
        f"- date: {_dt.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}",
        f"- machine: `nproc` = {out(['nproc'])}, {model}, {platform.system()} "
        f"{platform.release()}",
        f"- Python {platform.python_version()} ({sys.executable})",
        f"- b03lint {__version__} at {commit}{dirty}; {out([tool('alembic'), '--version'])}; "
        f"{out([tool('squawk'), '--version'])}",
        f"- before the run, `uptime`: {out(['uptime']).strip()}",
    ]


def wait_for_quiet(max_load: float, max_wait: float) -> None:
    deadline = time.monotonic() + max_wait
    while os.getloadavg()[0] > max_load and time.monotonic() < deadline:
        print(f"bench: load average {os.getloadavg()[0]:.2f} > {max_load}; waiting",
              file=sys.stderr)
        time.sleep(10)


def write_results(path: Path, body: str) -> None:
    block = f"{START}\n{body}\n{END}"
    if path.exists():
        text = path.read_text(encoding="utf-8")
        if START in text and END in text:
            text = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _m: block, text,
                          flags=re.S)
            path.write_text(text, encoding="utf-8")
            return
    path.write_text(f"# Benchmark results\n\n{block}\n", encoding="utf-8")


# --------------------------------------------------------------------------- threshold


def threshold(workdir: Path) -> None:
    """Parse k files in one process and in 2 (fork) workers, no cache: where does a second
    process start to pay? (Informs ``PARALLEL_MIN_FILES`` in b03lint/loader.py.)"""
    code = r"""
import sys, time
from pathlib import Path
import b03lint.loader as L
from b03lint.config import load_config
from b03lint.engine import discover, display_path
root = Path(sys.argv[1]); k = int(sys.argv[2]); jobs = int(sys.argv[3])
L.PARALLEL_MIN_FILES = 1; L.MIN_FILES_PER_WORKER = 1
cfg = load_config(root); cfg.set("cache", False, "bench"); cfg.set("jobs", jobs, "bench")
items = sorted((display_path(p, root), p) for p in discover(root / "alembic/versions", []))
items = items[:k]
import b03lint.readers.python, b03lint.readers.sql
t = time.perf_counter(); L.load_files(items, cfg); print((time.perf_counter() - t) * 1000)
"""
    root = generate(workdir / "chain_threshold", 400)
    print("| files | 1 process ms | 2 processes ms | 2 / 1 |\n|---|---|---|---|")
    def once(k: int, jobs: int) -> float:
        # one load per process: every run of b03lint starts with cold reader caches
        return float(subprocess.run([sys.executable, "-c", code, str(root), str(k), str(jobs)],
                                    capture_output=True, text=True, check=True,
                                    env=child_env()).stdout)

    for k in (10, 20, 40, 60, 80, 120, 160, 320):
        ms = [statistics.median(once(k, j) for _ in range(7)) for j in (1, 2)]
        print(f"| {k} | {ms[0]:.1f} | {ms[1]:.1f} | {ms[1] / ms[0]:.2f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="N = 10 and 100 only, 3 repetitions; RESULTS.md is not written")
    parser.add_argument("--sizes", default=f"10,100,{REAL_SIZE},1000,5000,20000",
                        help=f"chain sizes (default: 10,100,{REAL_SIZE},1000,5000,20000)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/b03lint-bench"),
                        help="where the generated chains go (default: /tmp/b03lint-bench)")
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--max-load", type=float, default=0.7,
                        help="wait until the 1-minute load average is below this "
                             "(default: 0.7): other work on the machine skews timings")
    parser.add_argument("--max-wait", type=float, default=300,
                        help="give up waiting after this many seconds and run anyway")
    parser.add_argument("--big-runs", type=int, default=2,
                        help="runs of each variant above 5,000 revisions (default: 2)")
    parser.add_argument("--threshold", action="store_true",
                        help="measure where parallel parsing pays, then exit")
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    BIG_RUNS[0] = max(1, args.big_runs)
    if args.threshold:
        threshold(args.workdir)
        return 0
    sizes = [10, 100] if args.quick else sorted({int(s) for s in args.sizes.split(",")})
    wait_for_quiet(args.max_load, args.max_wait)
    started = time.perf_counter()
    head = facts()
    rows, problems = bench(sizes, args.quick, args.workdir)
    elapsed = time.perf_counter() - started
    after = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    body = "\n".join([*head, f"- after the run, `uptime`: {after}; benchmark wall time: "
                            f"{elapsed:.0f} s", "", table(rows)])
    if problems:
        body += "\n\nProblems during the run:\n" + "\n".join(f"- {p}" for p in problems)
    print(body)
    if not args.quick and not args.no_write:
        write_results(args.out, body)
        print(f"\nwritten to {args.out}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
