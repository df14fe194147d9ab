"""The lock model's table is whole and consistent (its agreement with a real server is
tests/test_pg_locks.py): every row key covers every modelled major exactly once, the
conflict table is the documentation's (symmetric), and the generated documentation is
fresh."""

from __future__ import annotations

from pathlib import Path

from b03lint.lockview import model_markdown as markdown
from b03lint.pgmodel.locks import (
    CONFLICTS,
    MODES,
    NEWEST_MODELLED,
    OLDEST_MODELLED,
    ROWS,
    blocks,
    keys,
    row,
)

REPO = Path(__file__).resolve().parent.parent


def test_every_key_covers_every_version_once() -> None:
    for key in keys():
        for version in range(OLDEST_MODELLED, NEWEST_MODELLED + 1):
            covering = [r for r in ROWS if r.key == key and r.covers(version)]
            assert len(covering) == 1, (key, version)
            assert row(key, version) is covering[0]


def test_conflicts_are_symmetric_and_what_they_block() -> None:
    for a in MODES:
        for b in MODES:
            assert (b in CONFLICTS[a]) == (a in CONFLICTS[b]), (a, b)
    assert [blocks(m) for m in MODES] == ["nothing", "nothing", "nothing", "schema changes",
                                          "writes", "writes", "writes", "reads and writes"]


def test_rows_that_cannot_run_say_so() -> None:
    for r in ROWS:
        if not r.available:
            assert r.mode is None and not r.also and not r.proven


def test_the_documentation_is_fresh() -> None:
    assert (REPO / "docs" / "lock-model.md").read_text(encoding="utf-8") == markdown(), \
        "regenerate: b03lint locks --model -o docs/lock-model.md"
