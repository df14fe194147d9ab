"""The Done-when ratios of the speed issue in instructions executed, which other work on
the machine does not change (wall time does, and CPU time too, less so).

    .venv/bin/python bench/instructions.py          # about 15 minutes; writes RESULTS.md

Each command runs once under ``valgrind --tool=callgrind`` (every process of the run
counted, children too); the figure is the number of instructions it executed. The ratios
are those of the issue: the pre-commit rows against ``python -c pass``; 1,000 revisions
cold (``--jobs 1``) against the pipeline (``alembic upgrade head --sql``, then ``squawk``
on its output: both counted) and against the floor (``bench/floor.py``); warm (parse cache
filled, ``--no-result-cache``) against cold. Instructions are work, not time: a run
spread over two processes executes as many instructions as on one (a little more), so
parallel runs are not measured here; ``bench/run.py`` gives their wall time. Untimed
warm-ups compile every module first, as in ``run.py``.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from generate import generate  # noqa: E402
from run import REPO, age, changed_file, child_env, clear_cache, tool, verdict  # noqa: E402

START = "<!-- instructions:start -->"
END = "<!-- instructions:end -->"
_COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


def instructions(cmd: list[str], cwd: Path, stdin: bytes | None = None,
                 ok: tuple[int, ...] = (0,)) -> tuple[int, bytes]:
    """Instructions executed by ``cmd`` and every process it starts; and its output."""
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", "--trace-children=yes",
             f"--callgrind-out-file={tmp}/cg.%p", *cmd],
            cwd=cwd, env=child_env(), input=stdin, capture_output=True, check=False)
    if done.returncode not in ok:
        raise SystemExit(f"bench: {' '.join(cmd)} exited {done.returncode}: "
                         f"{done.stderr.decode(errors='replace')[-2000:]}")
    counts = [int(n) for n in _COLLECTED.findall(done.stderr.decode(errors="replace"))]
    if not counts:
        raise SystemExit(f"bench: no instruction count from valgrind for {cmd}")
    return sum(counts), done.stdout


def imported(cmd: list[str], cwd: Path) -> list[str]:
    """The modules ``cmd`` (``python -m b03lint ...``) imports, in the order it imports
    them: the outermost imports of its ``-X importtime`` report."""
    done = subprocess.run([cmd[0], "-X", "importtime", *cmd[1:]], cwd=cwd, env=child_env(),
                          capture_output=True, check=False)
    names: list[str] = []
    for line in done.stderr.decode(errors="replace").splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1]
            if name.startswith(" ") and not name.startswith("  "):  # not nested
                names.append(name.strip())
    if not names:
        raise SystemExit(f"bench: no import report from {cmd}")
    return names


def import_floor(cmd: list[str], cwd: Path) -> int:
    """Instructions of a process that only imports what ``cmd`` imported (start-up
    included, with the bytecode cache of dataclasses' methods installed as b03lint
    installs it), and runs nothing: how much of a row is imports."""
    lines = ["from b03lint import codecache", "codecache.install()"]
    for name in imported(cmd, cwd):
        if name == "__main__" or not all(part.isidentifier() for part in name.split(".")):
            continue  # what no import statement names
        lines += ["try:", f"    import {name}", "except Exception:", "    pass"]
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "imports.py"
        script.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return instructions([cmd[0], str(script)], cwd)[0]


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def measure(workdir: Path) -> str:
    b03, alembic, squawk = tool("b03lint"), tool("alembic"), tool("squawk")
    py = sys.executable
    small = generate(workdir / "chain_100", 100)
    big = generate(workdir / "chain_1000", 1000)
    for root in (small, big):  # untimed: bytecode of every module, the OS file cache
        subprocess.run([b03, "check", "--no-cache"], cwd=root, env=child_env(),
                       capture_output=True, check=False)
        subprocess.run([py, str(HERE / "floor.py"), str(root)], cwd=root, env=child_env(),
                       capture_output=True, check=False)
    subprocess.run([alembic, "upgrade", "head", "--sql"], cwd=big, env=child_env(),
                   capture_output=True, check=False)

    unit = instructions([py, "-c", "pass"], REPO)[0]
    rows = [_row(["`python -c pass`", "", f"{unit / 1e6:,.0f}", "1.0x (the unit)", "", ""])]

    target = changed_file(small)
    shown = target.relative_to(small).as_posix()
    original = target.read_bytes()
    try:
        clear_cache(small)
        subprocess.run([b03, "check"], cwd=small, env=child_env(), capture_output=True,
                       check=False)
        # an edit of the same shape first, to learn what such a run imports
        target.write_bytes(original + b"\n# edited by the benchmark (imports)\n")
        age(target)
        edited_imports = import_floor([py, "-m", "b03lint", "check", shown], small)
        target.write_bytes(original + b"\n# edited by the benchmark\n")
        age(target)
        edited = instructions([b03, "check", shown], small)[0]
        time.sleep(0.1)
        unchanged = instructions([b03, "check", shown], small)[0]
    finally:
        target.write_bytes(original)
    for label, count, limit in (("one migration edited, rest cached", edited, 4.0),
                                ("unchanged re-run (result cache)", unchanged, 2.5)):
        ratio = count / unit
        rows.append(_row([f"pre-commit: `b03lint check <1 file>`, {label}", "100",
                          f"{count / 1e6:,.0f}", f"{ratio:.1f}x python",
                          f"<= {limit}x python", verdict(ratio <= limit)]))
        if limit == 4.0:
            rows.append(_row(["the modules that edited run imports, imported and nothing "
                              "run", "100", f"{edited_imports / 1e6:,.0f}",
                              f"{edited_imports / unit:.1f}x python; "
                              f"{edited_imports / edited:.0%} of the run", "", ""]))

    floor = instructions([py, str(HERE / "floor.py"), str(big)], big)[0]
    clear_cache(big)
    cold = instructions([b03, "check", "--jobs", "1"], big)[0]
    warm = instructions([b03, "check", "--jobs", "1", "--no-result-cache"], big)[0]
    warm_imports = import_floor([py, "-m", "b03lint", "check", "--jobs", "1",
                                 "--no-result-cache"], big)
    render, sql = instructions([alembic, "upgrade", "head", "--sql"], big)
    lint = instructions([squawk], big, stdin=sql, ok=(0, 1))[0]
    pipe = render + lint
    rows += [
        _row(["floor (`bench/floor.py`)", "1000", f"{floor / 1e6:,.0f}", "", "", ""]),
        _row(["`alembic upgrade head --sql`, then `squawk` on its output", "1000",
              f"{pipe / 1e6:,.0f}", f"alembic {render / 1e6:,.0f} + squawk {lint / 1e6:,.0f}",
              "", ""]),
        _row(["whole chain `b03lint check --jobs 1`, cold (empty cache)", "1000",
              f"{cold / 1e6:,.0f}",
              f"pipeline / this = {pipe / cold:.2f}x; this / floor = {cold / floor:.2f}x",
              ">= 2.5x; <= 2x", verdict(pipe / cold >= 2.5 and cold / floor <= 2.0)]),
        _row(["whole chain `b03lint check --jobs 1`, warm (parse cache; result cache "
              "missed)", "1000", f"{warm / 1e6:,.0f}", f"{warm / cold:.2f} of cold",
              "<= 0.10 of cold", verdict(warm / cold <= 0.10)]),
        _row(["the modules that warm run imports, imported and nothing run", "1000",
              f"{warm_imports / 1e6:,.0f}", f"{warm_imports / cold:.2f} of cold; "
              f"{warm_imports / warm:.0%} of the warm run", "", ""]),
    ]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                            capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True,
                           text=True).stdout.strip()
    head = [f"- {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, b03lint at {commit}"
            f"{' (with uncommitted changes)' if dirty else ''}, "
            f"{subprocess.run(['valgrind', '--version'], capture_output=True, text=True).stdout.strip()}",
            "", _row(["measurement", "revisions", "million instructions", "derived", "target",
                      "verdict"]), "|---|---|---|---|---|---|"]
    return "\n".join(head + rows)


def write(path: Path, body: str) -> None:
    text = path.read_text(encoding="utf-8")
    block = f"{START}\n{body}\n{END}"
    if START in text and END in text:
        text = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _m: block, text,
                      flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/b03lint-bench-instr"))
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    body = measure(args.workdir)
    print(body)
    if not args.no_write:
        write(args.out, body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
