#!/usr/bin/env python3
"""What b03lint reports on a real Alembic history, laid out for judging by hand.

    python bench/accuracy.py DIR [DIR ...] [--sample N] [--seed S] [--json FILE]
                             [--save FILE] [--compare FILE] [-- EXTRA b03lint ARGS]

DIR is a folder of revision files (``alembic/versions``) or a folder with an
``alembic.ini``. For each, it runs ``b03lint check --output-format json --no-cache
--no-baseline`` in a scratch working directory (so no project configuration applies) and
prints:

- the findings per code and severity;
- the unresolved share (unresolved operations / operations read);
- a sample of N findings per code (deterministic for a seed), each with its source line,
  so a reviewer can judge it true or false.

``--save FILE`` keeps every finding of the run; ``--compare FILE`` (a file saved by an
earlier run, e.g. before a change) prints, per history and code, the counts before and
after and the findings whose severity changed or that disappeared: exactly the list to
judge when a change claims to remove wrong findings.

``bench/ACCURACY.md`` records what that judging found. Nothing here is committed from the
histories themselves: they are read where they lie.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _b03lint() -> list[str]:
    exe = Path(sys.executable).with_name("b03lint")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "b03lint"]


def run_check(target: Path, extra: list[str]) -> tuple[int, dict[str, Any], str]:
    """One JSON run of ``b03lint check`` on ``target``; (exit code, report, stderr)."""
    args = [*_b03lint(), "check", "--output-format", "json", "--no-cache", "--no-baseline"]
    if not (target / "alembic.ini").is_file():
        args += ["--migrations", str(target)]
    args += extra
    with tempfile.TemporaryDirectory() as scratch:
        cwd = target if (target / "alembic.ini").is_file() else Path(scratch)
        proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False)
    try:
        report = json.loads(proc.stdout or "{}")
    except json.JSONDecodeError:
        report = {}
    return proc.returncode, report, proc.stderr


def source_line(path: str, line: int, base: Path) -> str:
    p = Path(path)
    if not p.is_absolute():
        p = base / p
    try:
        lines = p.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    return lines[line - 1].strip() if 0 < line <= len(lines) else ""


def summarize(target: Path, report: dict[str, Any]) -> dict[str, Any]:
    findings = report.get("findings", [])
    summary = report.get("summary", {})
    by_code: Counter[tuple[str, str]] = Counter((f["code"], f["severity"]) for f in findings)
    ops = int(summary.get("operations", 0) or 0)
    unresolved = int(summary.get("unresolved_operations", 0) or 0)
    return {
        "target": str(target),
        "verdict": report.get("verdict"),
        "files": summary.get("files"),
        "operations": ops,
        "unresolved": unresolved,
        "unresolved_share": round(unresolved / ops, 4) if ops else 0.0,
        "errors": len(report.get("errors", [])),
        "by_code": {f"{c} {s}": n for (c, s), n in sorted(by_code.items())},
    }


def sample(report: dict[str, Any], n: int, seed: int) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for f in report.get("findings", []):
        groups[f"{f['code']} {f['severity']}"].append(f)
    rng = random.Random(seed)
    out: dict[str, list[dict[str, Any]]] = {}
    for key in sorted(groups):
        items = groups[key]
        out[key] = items if len(items) <= n else rng.sample(items, n)
    return out


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1:]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dirs", nargs="+", type=Path)
    parser.add_argument("--sample", type=int, default=5, help="findings shown per code")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="write the summaries and samples here")
    parser.add_argument("--codes", default="", help="comma-separated codes to sample only")
    parser.add_argument("--save", type=Path, help="write every finding of the run here")
    parser.add_argument("--compare", type=Path, help="a --save file of an earlier run")
    args = parser.parse_args(argv)
    wanted = {c.strip() for c in args.codes.split(",") if c.strip()}
    tty = sys.stderr.isatty()
    results = []
    for i, target in enumerate(args.dirs, 1):
        if tty:
            print(f"\r[{i}/{len(args.dirs)}] {target}", end="", file=sys.stderr, flush=True)
        code, report, stderr = run_check(target.resolve(), extra)
        if not report:
            print(f"\n{target}: no JSON report (exit {code}): {stderr.strip()[:500]}",
                  file=sys.stderr)
            continue
        base = target.resolve() if (target / "alembic.ini").is_file() else Path(os.getcwd())
        summ = summarize(target, report)
        samples = sample(report, args.sample, args.seed)
        for items in samples.values():
            for f in items:
                f["source"] = source_line(f["path"], f["line"], base)
        results.append({"summary": summ, "exit_code": code, "samples": samples,
                        "findings": report.get("findings", [])})
    if tty:
        print("\r" + " " * 60 + "\r", end="", file=sys.stderr)
    for r in results:
        s = r["summary"]
        print(f"== {s['target']}  (exit {r['exit_code']}, verdict {s['verdict']})")
        print(f"   files {s['files']}, operations {s['operations']}, unresolved "
              f"{s['unresolved']} ({100 * s['unresolved_share']:.1f} %), errors {s['errors']}")
        for key, count in s["by_code"].items():
            print(f"   {key:<18} {count}")
        for key, items in r["samples"].items():
            if wanted and key.split()[0] not in wanted:
                continue
            print(f"   -- sample {key}")
            for f in items:
                where = f"{Path(f['path']).name}:{f['line']}"
                print(f"      {where}: {f['message']}")
                if f.get("source"):
                    print(f"         | {f['source'][:160]}")
    if args.compare:
        compare(json.loads(args.compare.read_text(encoding="utf-8")), results, args.sample)
    if args.save:
        args.save.write_text(json.dumps(results) + "\n", encoding="utf-8")
    if args.json:
        slim = [{k: v for k, v in r.items() if k != "findings"} for r in results]
        args.json.write_text(json.dumps(slim, indent=1) + "\n", encoding="utf-8")
    return 0


def _key(f: dict[str, Any]) -> tuple[str, int, str, str]:
    return (Path(f["path"]).name, f["line"], f["code"], f.get("object") or "")


def compare(old: list[dict[str, Any]], new: list[dict[str, Any]], n: int) -> None:
    """Counts before -> after per code and severity, and the findings that changed."""
    before = {r["summary"]["target"]: r for r in old}
    for r in new:
        target = r["summary"]["target"]
        prev = before.get(target)
        if prev is None:
            continue
        print(f"== compare {target}")
        keys = sorted(set(prev["summary"]["by_code"]) | set(r["summary"]["by_code"]))
        for key in keys:
            a, b = prev["summary"]["by_code"].get(key, 0), r["summary"]["by_code"].get(key, 0)
            if a != b:
                print(f"   {key:<18} {a:>5} -> {b}")
        now = {_key(f): f for f in r.get("findings", [])}
        changed: dict[str, list[str]] = defaultdict(list)
        for f in prev.get("findings", []):
            g = now.get(_key(f))
            if f["severity"] == "info" or (g is not None and g["severity"] == f["severity"]):
                continue
            after = "gone" if g is None else g["severity"]
            changed[f"{f['code']} {f['severity']} -> {after}"].append(
                f"{_key(f)[0]}:{f['line']}: {(g or f)['message'][:150]}")
        for label, items in sorted(changed.items()):
            print(f"   -- {label}: {len(items)}")
            for item in items[:n]:
                print(f"      {item}")


if __name__ == "__main__":
    raise SystemExit(main())
