"""Import contracts that keep the data flow one-directional (DESIGN.md): files -> readers ->
operations -> replay -> schema -> diff -> findings -> reporters, with the CLI on top.
Checked statically from every module's imports, wherever they are written."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "b03lint"


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
        out[_module(path)] = {m for m in found if m.split(".")[0] == "b03lint"}
    return out


IMPORTS = _imports()


def _within(module: str, *prefixes: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


# (what, modules the contract covers, modules they must not import)
CONTRACTS = [
    ("core never imports the command line",
     lambda m: not _within(m, "b03lint.cli", "b03lint.commands", "b03lint.__main__"),
     ("b03lint.cli", "b03lint.commands")),
    ("the operation vocabulary imports nothing of ours",
     lambda m: m == "b03lint.operations", ("b03lint",)),
    ("readers know the vocabulary, not rules, schema, engine or output",
     lambda m: _within(m, "b03lint.readers"),
     ("b03lint.rules", "b03lint.schema", "b03lint.engine", "b03lint.reporters",
      "b03lint.live", "b03lint.contract")),
    ("the schema layer never reaches up to rules, the engine, output or live mode",
     lambda m: _within(m, "b03lint.schema"),
     ("b03lint.rules", "b03lint.engine", "b03lint.reporters", "b03lint.live")),
    ("rules never print or touch a database",
     lambda m: _within(m, "b03lint.rules"), ("b03lint.reporters", "b03lint.live")),
    ("reporters render findings; they never read migrations or databases",
     lambda m: _within(m, "b03lint.reporters"),
     ("b03lint.readers", "b03lint.loader", "b03lint.live")),
]


@pytest.mark.parametrize(("what", "covers", "forbidden"), CONTRACTS,
                         ids=[c[0] for c in CONTRACTS])
def test_import_contract(what: str, covers: object, forbidden: tuple[str, ...]) -> None:
    assert callable(covers)
    broken = sorted(f"{m} imports {d}" for m, deps in IMPORTS.items() if covers(m)
                    for d in deps if _within(d, *forbidden) and d != m)
    assert broken == [], what


def test_contracts_see_the_package() -> None:
    assert {"b03lint.engine", "b03lint.readers.python", "b03lint.schema.diff",
            "b03lint.cli"} <= set(IMPORTS)
