#!/usr/bin/env python3
"""Zero-drift confirmation of a live database (implementation guide, section 3.4):

    DATABASE_URL=postgresql://.../skeldir_b03_recon \\
        python scripts/validate-schema-compliance.py --output artifacts/phase2-validation.json

A thin wrapper over ``b03lint reconcile --output FILE``: the live
catalog is compared with the canonical schema (read-only), registered drift behaves as in
``b03lint check``, and the JSON report gets the ``severity`` the guide expects: ``PASS``
or ``BLOCKING``, or ``ERROR`` whenever the comparison could not be done or was cut short
(``verdict`` then says ``ERROR`` too: a failed run never says PASS). The last line printed
is ``severity=<value>``. Exit codes are b03lint's: 0 PASS, 1 BLOCKING, 2 error, 130
interrupted. Other arguments (``--schema``, ``--config``, ...) are handed to
``b03lint reconcile`` unchanged; without ``--database-url``, the URL is read from
``DATABASE_URL`` (or the variable ``--database-url-env`` names), and it is handed to b03lint
in an environment variable, never on a command line.

b03lint is imported when this interpreter has it (the repository's own copy is found too),
else the ``b03lint`` executable on PATH or in the repository's ``.venv`` is run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _in_process() -> bool:
    """Whether this interpreter can run b03lint's live mode itself."""
    try:
        import psycopg  # noqa: F401
        import yaml  # noqa: F401
    except ImportError:
        return False
    try:
        import b03lint.cli
    except ImportError:
        sys.path.insert(0, str(REPO))
        try:
            import b03lint.cli  # noqa: F401
        except ImportError:
            return False
    return True


#: the variable the URL is handed over in: never on a command line (the process list)
URL_VARIABLE = "B03LINT_COMPLIANCE_DATABASE_URL"


def run_b03lint(args: list[str], url: str) -> int:
    env = {**os.environ, URL_VARIABLE: url}
    args = ["reconcile", "--database-url-env", URL_VARIABLE, *args]
    if _in_process():
        from b03lint.cli import main as b03lint_main

        saved = os.environ.get(URL_VARIABLE)
        os.environ[URL_VARIABLE] = url
        try:
            return b03lint_main(args)
        finally:
            if saved is None:
                os.environ.pop(URL_VARIABLE, None)
            else:
                os.environ[URL_VARIABLE] = saved
    for candidate in (shutil.which("b03lint"), REPO / ".venv" / "bin" / "b03lint"):
        if candidate and Path(candidate).exists():
            return subprocess.run([str(candidate), *args], check=False, env=env).returncode
    print("error: b03lint is not installed for this Python and not on PATH "
          "(pip install 'b03lint[live]')", file=sys.stderr)
    return 2


def severity(report: dict[str, object], code: int) -> str:
    """``ERROR`` unless b03lint finished (exit 0 or 1) with a report free of errors."""
    if code not in (0, 1) or report.get("errors") or report.get("verdict") == "ERROR":
        return "ERROR"
    return "PASS" if code == 0 else "BLOCKING"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="validate-schema-compliance.py",
        description="Compare a live database with the canonical schema (b03lint reconcile) "
                    "and write the JSON report with severity PASS or BLOCKING.")
    parser.add_argument("--database-url", metavar="URL",
                        help="the database to check (default: $DATABASE_URL); visible in the "
                             "process list: prefer --database-url-env")
    parser.add_argument("--database-url-env", metavar="VAR", default="DATABASE_URL",
                        help="the environment variable that holds the URL (default: "
                             "DATABASE_URL)")
    parser.add_argument("--output", type=Path, metavar="FILE.json",
                        help="where to write the JSON report (parent folders are created)")
    known, rest = parser.parse_known_args(argv)
    url = known.database_url or os.environ.get(known.database_url_env, "").strip()
    if not url:
        parser.error(f"no database: pass --database-url URL or set {known.database_url_env}")
    with tempfile.TemporaryDirectory(prefix="b03lint-compliance-") as tmp:
        output: Path = known.output or Path(tmp) / "report.json"
        code = run_b03lint(["--output", str(output), *rest], url)
        report: dict[str, object] = {}
        if output.exists():
            try:
                loaded = json.loads(output.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                print(f"{output}: error: cannot read the report: {exc}", file=sys.stderr)
                return 2
            if isinstance(loaded, dict):
                report = loaded
        value = severity(report, code)
        if report:
            # one answer in the file: the verdict says what the severity says
            report["severity"] = report["verdict"] = value
            output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    findings = report.get("findings")
    blocking = sum(1 for f in (findings if isinstance(findings, list) else [])
                   if isinstance(f, dict) and f.get("severity") == "blocking")
    where = f" ({known.output})" if known.output is not None and report else ""
    print(f"severity={value}: {blocking} blocking divergence(s){where}")
    return code


if __name__ == "__main__":
    sys.exit(main())
