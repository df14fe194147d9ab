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


MODULES = {_module(path) for path in PACKAGE.rglob("*.py")}


def _imports() -> dict[str, set[str]]:
    """Every module's imports of ours, wherever written: at the top, inside a function
    (imported lazily), under ``if TYPE_CHECKING:`` (a type hint is a dependency too).
    ``from b03lint import baseline`` names the module ``b03lint.baseline``."""
    out: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
                found.update(f"{node.module}.{a.name}" for a in node.names
                             if f"{node.module}.{a.name}" in MODULES)
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
    ("the operation vocabulary imports nothing of ours but the class maker",
     lambda m: m == "b03lint.operations",
     tuple(m for m in MODULES if m not in ("b03lint", "b03lint.records"))),
    ("the class maker (b03lint.records) imports nothing of ours",
     lambda m: m == "b03lint.records", ("b03lint",)),
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


def _owner(name: str) -> str | None:
    """The module an imported name belongs to (``b03lint.engine.lint`` -> ``b03lint.engine``)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One circle through each strongly connected group of modules (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, list[str]]] = [(root, sorted(graph[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, todo = work[-1]
            if todo:
                nxt = todo.pop()
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, sorted(graph[nxt])))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(group)
    circles = []
    for group in groups:  # a shortest way back to the first member, for the message
        members = set(group)
        start = min(group)
        paths = {start: [start]}
        queue = [start]
        found: list[str] | None = None
        while queue and found is None:
            here = queue.pop(0)
            for nxt in sorted(graph[here] & members):
                if nxt == start:
                    found = [*paths[here], start]
                    break
                if nxt not in paths:
                    paths[nxt] = [*paths[here], nxt]
                    queue.append(nxt)
        circles.append(found or sorted(group))
    return circles


def test_no_import_circle() -> None:
    """No module of b03lint reaches itself through imports of any kind; a circle drawn by
    type hints alone counts too (move the shared type down instead)."""
    graph = {m: {o for d in deps if (o := _owner(d)) is not None and o != m}
             for m, deps in IMPORTS.items()}
    assert [" -> ".join(c) for c in _circles(graph)] == []


def test_the_circle_finder_finds_circles() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e2"}, "e2": set()}
    assert _circles(graph) == [["a", "b", "c", "a"]]


def _third_party_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[0] for a in node.names)
    return found


def test_libcst_is_imported_only_by_the_fix_engine() -> None:
    """libcst rewrites sources for fixes (DESIGN.md): no other module may import it, and
    the package's ``__init__`` itself does not (``check`` imports the package's types)."""
    users = sorted(_module(p) for p in PACKAGE.rglob("*.py")
                   if "libcst" in _third_party_imports(p))
    assert users, "the fix engine imports libcst"
    assert [m for m in users if not m.startswith("b03lint.fixes.")] == []


def test_contracts_see_the_package() -> None:
    assert {"b03lint.engine", "b03lint.readers.python", "b03lint.schema.diff",
            "b03lint.cli"} <= set(IMPORTS)
