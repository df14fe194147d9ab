"""The guide's evidence artefacts for one live run (``--evidence DIR``), named as the guide
names them:

- ``phase3-baseline-rebuild.log`` (4.2, 4.4): every command run, with its output;
- ``phase3-psql-verification.txt`` (4.4): the index definitions (INCLUDE shown), the probe
  transcript (allowed and forbidden INSERTs and what PostgreSQL said), the RLS query;
- ``phase2-validation.json`` (3.4): the JSON report, ``verdict`` PASS or BLOCKING;
- ``phase5-downgrade.log`` (6.2): the downgrade/upgrade round trip (with ``--roundtrip``);
- ``phase3-lock-trace.txt``: with ``--trace``, every statement Alembic sent, with the lock
  model's prediction, what the server did and whether they agree (the JSON report has the
  same under ``trace``).

Everything is kept in memory while the run goes and written at the end (also when the run
fails), through :func:`~b03lint.live.redact.scrub`: no password reaches a file.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

from b03lint.live.redact import scrub

REBUILD_LOG = "phase3-baseline-rebuild.log"
PSQL_VERIFICATION = "phase3-psql-verification.txt"
VALIDATION_JSON = "phase2-validation.json"
DOWNGRADE_LOG = "phase5-downgrade.log"
#: ``rebuild --trace``: each statement with the lock model's prediction and the server's
LOCK_TRACE = "phase3-lock-trace.txt"


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Evidence:
    """Collects the transcripts of one run; ``echo`` mirrors the command log live."""

    def __init__(self, echo: TextIO | None = None):
        self.echo = echo
        self.rebuild: list[str] = []
        self.psql: list[str] = []
        self.downgrade: list[str] = []
        self.trace: list[str] = []
        self.report: dict[str, Any] | None = None

    def _add(self, lines: list[str], text: str, *, echo: bool = True) -> None:
        clean = scrub(text.rstrip("\n"))
        lines.extend(clean.splitlines() or [""])
        if echo and self.echo is not None:
            print(clean, file=self.echo, flush=True)

    # ------------------------------------------------------------------ logs

    def command(self, text: str, *, roundtrip: bool = False) -> None:
        """A command run (``$ alembic upgrade head``), timestamped."""
        line = f"[{_now()}] $ {text}"
        self._add(self.rebuild, line)
        if roundtrip:
            self._add(self.downgrade, line, echo=False)

    def output(self, text: str, *, roundtrip: bool = False) -> None:
        """What a command printed."""
        if not text.strip():
            return
        self._add(self.rebuild, text)
        if roundtrip:
            self._add(self.downgrade, text, echo=False)

    def note(self, text: str, *, roundtrip: bool = False) -> None:
        """A result b03lint observed (``schema after downgrade == schema before``)."""
        self._add(self.rebuild, f"# {text}")
        if roundtrip:
            self._add(self.downgrade, f"# {text}", echo=False)

    def lock_trace(self, text: str) -> None:
        """The lock trace of ``rebuild --trace`` (its text report)."""
        self._add(self.trace, text, echo=False)

    def verification(self, text: str) -> None:
        """A part of the psql verification transcript."""
        self._add(self.psql, text, echo=False)

    # ------------------------------------------------------------------ files

    def write(self, folder: Path) -> list[str]:
        """Write the artefacts into ``folder`` (created); returns the files written.
        Raises ``OSError`` when the folder cannot be written."""
        folder.mkdir(parents=True, exist_ok=True)
        written: list[str] = []

        def put(name: str, lines: list[str]) -> None:
            path = folder / name
            path.write_text(scrub("\n".join(lines) + "\n"), encoding="utf-8")
            written.append(str(path))

        put(REBUILD_LOG, self.rebuild)
        put(PSQL_VERIFICATION, self.psql)
        if self.report is not None:
            path = folder / VALIDATION_JSON
            path.write_text(scrub(json.dumps(self.report, indent=2)) + "\n", encoding="utf-8")
            written.append(str(path))
        if self.downgrade:
            put(DOWNGRADE_LOG, self.downgrade)
        if self.trace:
            put(LOCK_TRACE, self.trace)
        return written


def table(headers: list[str], rows: list[tuple[Any, ...]]) -> str:
    """Rows as psql prints them (aligned columns, ``(N rows)``)."""
    cells = [[str(h) for h in headers]] + [["" if v is None else str(v) for v in r]
                                          for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    out = [" " + " | ".join(h.center(w) for h, w in zip(cells[0], widths, strict=True))]
    out.append("-" + "-+-".join("-" * w for w in widths) + "-")
    out += [" " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True))
            for r in cells[1:]]
    out.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(out)


def stderr_echo(verbose: bool) -> TextIO | None:
    return sys.stderr if verbose else None
