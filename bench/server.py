"""Benchmark the language server: time from ``didChange`` to ``publishDiagnostics`` on a
generated chain, after the first load, beside the cold command-line run.

    .venv/bin/python bench/server.py                  # 1,000 revisions, prints the section
    .venv/bin/python bench/server.py --write          # ... and writes it into RESULTS.md
    .venv/bin/python bench/server.py --revisions 200 --edits 10

What is measured:

- ``b03lint check``, cold (``--no-cache``, a fresh process) and warm (cache filled), on
  the chain: what a save-and-run loop costs;
- ``b03lint server`` (the real command, JSON-RPC over stdio with ``tests/lsp_client.py``):
  the first load (``initialized`` to the first diagnostics of the opened file), then for
  a one-file change of the head revision and of a revision in the middle of the chain,
  the wall time from sending ``didChange`` to receiving that file's
  ``publishDiagnostics`` of the new version (median of ``--edits`` changes, which
  alternately add and remove an operation, so every change is a real one);
- the server process's CPU time over those changes (``/proc/PID/stat``), per change;
- in this process, the same changes through :class:`b03lint.server.workspace.Workspace`
  (no JSON-RPC), with the CPU time of each phase: where the time goes.

Wall and CPU are both given because the machine may be shared: where the wall time is far
above the CPU time, other jobs had the CPU.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gc
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "tests"))
from generate import generate  # noqa: E402
from lsp_client import Client, file_uri  # noqa: E402

START = "<!-- server:start -->"
END = "<!-- server:end -->"
GOAL_MS = 50.0
MARKER = "def upgrade() -> None:\n"


def cli() -> str:
    script = Path(sys.executable).parent / "b03lint"
    return str(script) if script.exists() else "b03lint"


def run_cli(args: list[str], cwd: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one ``b03lint`` process."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    start = time.perf_counter()
    p = subprocess.Popen([cli(), *args], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _pid, _status, usage = os.wait4(p.pid, 0)
    return time.perf_counter() - start, usage.ru_utime + usage.ru_stime


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) a running process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


@dataclass
class Edits:
    """Medians of the changes of one file."""

    which: str
    path: str
    wall: list[float] = field(default_factory=list)
    cpu_per_edit: float = 0.0
    #: in-process: wall, CPU and CPU per phase of each change
    local_wall: list[float] = field(default_factory=list)
    local_cpu: list[float] = field(default_factory=list)
    phases: dict[str, list[float]] = field(default_factory=dict)
    rechecked: list[int] = field(default_factory=list)
    resumed_at: list[int] = field(default_factory=list)


def variants(text: str, table: str, edits: int) -> list[str]:
    """Texts that alternately add an operation (a new column each time) and go back."""
    out = []
    for i in range(edits):
        if i % 2 == 0:
            line = f'    op.add_column("{table}", sa.Column("bench_{i}", sa.Text()))\n'
            out.append(text.replace(MARKER, MARKER + line, 1))
        else:
            out.append(text)
    return out


def pick(root: Path) -> list[tuple[str, Path, str]]:
    """The head revision's file and one in the middle of the chain, with a table each
    one's operations name."""
    from b03lint.config import load_config
    from b03lint.engine import load_project

    project = load_project(load_config(root))
    graph = project.graph
    out = []
    for which, rev in (("head", graph.order[-1]), ("middle", graph.order[len(graph.order) // 2])):
        mf = graph.nodes[rev]
        table = next(op.table_name for op in mf.upgrade_ops if op.table_name)
        assert table is not None
        out.append((which, Path(mf.path).resolve(), table))
    return out


def wait_version(client: Client, uri: str, version: int, after: int) -> float:
    """When the diagnostics of ``uri`` at ``version`` arrived (time.perf_counter())."""
    _i, arrived, _m = client.wait_for(
        lambda m: m.get("method") == "textDocument/publishDiagnostics"
        and m["params"]["uri"] == uri and m["params"].get("version") == version,
        after=after, timeout=600)
    return arrived


def measure_server(root: Path, targets: list[tuple[str, Path, str]], edits: int
                   ) -> tuple[float, list[Edits]]:
    client = Client(root)
    results = []
    try:
        client.initialize(root)
        started = time.perf_counter()
        first_path = targets[0][1]
        client.open(first_path, first_path.read_text(encoding="utf-8"))
        client.diagnostics(file_uri(first_path), timeout=600)
        first_load = time.perf_counter() - started
        for which, path, table in targets:
            uri = file_uri(path)
            text = path.read_text(encoding="utf-8")
            if path != first_path:
                mark = client.count()
                client.open(path, text)
                client.diagnostics(uri, after=mark, timeout=600)
            # one untimed change: the checkpoints before this revision are taken
            for version, new in ((2, variants(text, table, 1)[0]), (3, text)):
                mark = client.count()
                client.change(path, new, version)
                wait_version(client, uri, version, mark)
            time.sleep(0.3)  # a quiet spell: each measured change is linted at once
            result = Edits(which, str(path.relative_to(root)))
            cpu_before = proc_cpu(client.proc.pid)
            for version, new in enumerate(variants(text, table, edits), start=10):
                mark = client.count()
                sent = client.change(path, new, version)
                arrived = wait_version(client, uri, version, mark)
                result.wall.append(arrived - sent)
                time.sleep(0.3)
            result.cpu_per_edit = (proc_cpu(client.proc.pid) - cpu_before) / edits
            results.append(result)
        client.close()
    finally:
        if client.proc.poll() is None:
            client.proc.kill()
            client.proc.wait()
    return first_load, results


def measure_in_process(root: Path, targets: list[tuple[str, Path, str]], edits: int,
                       results: list[Edits]) -> None:
    from b03lint.server.workspace import Workspace

    cwd = Path.cwd()
    ws = Workspace(root)
    ws.load()
    gc.freeze()
    try:
        for (_which, path, table), result in zip(targets, results, strict=True):
            text = path.read_text(encoding="utf-8")
            ws.edit(path, text)
            ws.edit(path, variants(text, table, 1)[0])
            ws.edit(path, text)
            for new in variants(text, table, edits):
                wall, cpu = time.perf_counter(), time.process_time()
                lint = ws.edit(path, new)
                result.local_wall.append(time.perf_counter() - wall)
                result.local_cpu.append(time.process_time() - cpu)
                for phase, seconds in lint.phases.items():
                    result.phases.setdefault(phase, []).append(seconds)
                result.rechecked.append(len(lint.rechecked))
                result.resumed_at.extend(r for r, _t in lint.resumed_at)
            ws.close(path)
    finally:
        os.chdir(cwd)


def section(revisions: int, edits: int, cold: tuple[list[float], list[float]],
            warm: tuple[list[float], list[float]], first_load: float,
            results: list[Edits], command: str) -> str:
    import b03lint

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [
        START,
        "## Language server",
        "",
        f"Produced by `{command}` (what it measures: the docstring of bench/server.py).",
        "",
        f"- date: {_dt.datetime.now(_dt.timezone.utc):%Y-%m-%d %H:%M} UTC; "
        f"`nproc` = {os.cpu_count()}; load average at the end: {load:.2f}",
        f"- Python {platform.python_version()}; b03lint {b03lint.__version__} "
        f"at {_git_head()}",
        f"- chain: `bench/generate.py --revisions {revisions}`; {edits} changes per file, "
        "each adding or removing one `op.add_column`",
        "",
        "| measurement | median wall ms | CPU ms | goal | verdict |",
        "|---|---|---|---|---|",
        f"| `b03lint check --no-cache --no-result-cache`, cold process | {ms(cold[0]):,.0f} | "
        f"{ms(cold[1]):,.0f} |  |  |",
        f"| `b03lint check --no-result-cache`, parse cache filled | {ms(warm[0]):,.0f} | "
        f"{ms(warm[1]):,.0f} |  |  |",
        f"| server: first load, parse cache filled (`initialized` to the first "
        "diagnostics) | "
        f"{first_load * 1000:,.0f} |  |  |  |",
    ]
    for r in results:
        verdict = "**PASS**" if ms(r.wall) < GOAL_MS else "**MISS**"
        lines.append(f"| server: `didChange` to `publishDiagnostics`, {r.which} revision "
                     f"(`{Path(r.path).name}`) | {ms(r.wall):.1f} | "
                     f"{r.cpu_per_edit * 1000:.1f} | < {GOAL_MS:.0f} ms | {verdict} |")
    for r in results:
        lines.append(f"| in process (no JSON-RPC): one change, {r.which} revision | "
                     f"{ms(r.local_wall):.1f} | {ms(r.local_cpu):.1f} |  |  |")
    lines += ["", "Where the CPU time of one change goes (in process, median ms per phase; "
              "`file rules` is the edited file and the files whose schema-before changed, "
              "`project rules` the graph, contract and drift rules, suppressions):", "",
              "| phase | " + " | ".join(f"{r.which}" for r in results) + " |",
              "|---|" + "---|" * len(results)]
    phases = list(dict.fromkeys(p for r in results for p in r.phases))
    for phase in phases:
        lines.append(f"| {phase} | " + " | ".join(
            f"{ms(r.phases.get(phase, [0.0])):.1f}" for r in results) + " |")
    lines.append("| files re-checked | " + " | ".join(
        f"{statistics.median(r.rechecked):.0f}" for r in results) + " |")
    lines.append("| replay resumed at revision # | " + " | ".join(
        f"{statistics.median(r.resumed_at):.0f}" for r in results) + " |")
    lines.append(END)
    return "\n".join(lines) + "\n"


def _git_head() -> str:
    """The commit measured, and whether the working tree differed from it."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=REPO, capture_output=True, text=True,
                               check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"
    return head + (" with uncommitted changes" if dirty else "")


def write(text: str) -> None:
    target = HERE / "RESULTS.md"
    current = target.read_text(encoding="utf-8")
    if START in current and END in current:
        before, rest = current.split(START, 1)
        after = rest.split(END, 1)[1]
        current = before + text.rstrip("\n") + after
    else:
        current = current.rstrip("\n") + "\n\n" + text
    target.write_text(current, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--revisions", type=int, default=1000)
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument("--cli-runs", type=int, default=5)
    parser.add_argument("--write", action="store_true", help="write the section into "
                        "bench/RESULTS.md (between its own markers)")
    args = parser.parse_args()
    command = " ".join(["bench/server.py", *sys.argv[1:]]).replace(" --write", "")
    with tempfile.TemporaryDirectory(prefix="b03lint-bench-server-") as tmp:
        root = generate(Path(tmp) / "chain", args.revisions)
        subprocess.run(["git", "init", "-q"], cwd=root, check=False)
        cold: tuple[list[float], list[float]] = ([], [])
        warm: tuple[list[float], list[float]] = ([], [])
        run_cli(["check", "--no-cache", "--no-result-cache"], root)  # bytecode, OS cache
        for _ in range(args.cli_runs):
            wall, cpu = run_cli(["check", "--no-cache", "--no-result-cache"], root)
            cold[0].append(wall)
            cold[1].append(cpu)
        run_cli(["check", "--no-result-cache"], root)  # fills the parse cache
        for _ in range(args.cli_runs):
            wall, cpu = run_cli(["check", "--no-result-cache"], root)
            warm[0].append(wall)
            warm[1].append(cpu)
        targets = pick(root)
        first_load, results = measure_server(root, targets, args.edits)
        measure_in_process(root, targets, args.edits, results)
        shutil.rmtree(root / ".b03lint_cache", ignore_errors=True)
    text = section(args.revisions, args.edits, cold, warm, first_load, results,
                   ".venv/bin/python " + command)
    sys.stdout.write(text)
    if args.write:
        write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
