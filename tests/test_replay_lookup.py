"""The fold finds a constraint's index by name through a map it keeps (a scan of every
table per index made long chains quadratic): the map answers exactly as the scan would,
after every operation of the PostgreSQL-grounded scenarios, the example chain and a
generated chain, across renames, drops and copies of the fold."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from test_replay_pg import SCENARIOS

from b03lint.readers.python import read_migration
from b03lint.readers.sql import read_sql
from b03lint.schema.replay import Folder
from b03lint.server.snapshot import copy_folder

REPO = Path(__file__).resolve().parent.parent


def _names(folder: Folder, op: Any) -> set[str]:
    names = {c for t in folder.schema.tables.values() for c in t.constraints}
    names |= set(folder.schema.indexes)
    for attr in ("name", "new_name"):
        value = getattr(op, attr, None)
        if isinstance(value, str):
            names.add(value)
    return names


def _check(folder: Folder, ops: list[Any]) -> int:
    checked = 0
    for i, op in enumerate(ops):
        folder.apply(op)
        if i % 7 == 3:  # the map must follow a fold copied midway (the language server's)
            folder = copy_folder(folder)
        for name in _names(folder, op):
            assert folder._constraint_index(name) == folder._scan_constraint_index(name), name
            checked += 1
    return checked


def test_the_constraint_index_map_answers_as_the_scan() -> None:
    checked = 0
    for statements in SCENARIOS.values():
        text = "".join(s + ";\n" for s in statements)
        checked += _check(Folder("scenario"), read_sql(text, path="s.sql").operations)
    sys.path.insert(0, str(REPO / "bench"))
    try:
        from generate import generate
    finally:
        sys.path.remove(str(REPO / "bench"))
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        chain = generate(Path(scratch) / "chain", 120)
        for versions in (REPO / "alembic" / "versions", chain / "alembic" / "versions"):
            files = [read_migration(str(path), path.read_bytes())
                     for path in sorted(versions.rglob("*.py"), key=lambda p: p.name)]
            # up the whole chain, then down it again: every drop and rename undone
            ops = [op for mf in files for op in mf.upgrade_ops]
            ops += [op for mf in reversed(files) for op in mf.downgrade_ops]
            checked += _check(Folder("chain"), ops)
    assert checked > 10_000
