"""The Python reader's shortcuts give what the general code gives: ``binds`` answers the
statements every revision has without walking them, the message is the docstring's first
line without cleaning the whole docstring, and a column of an all-ASCII file is its byte
offset. Each is compared with the general form on crafted statements and on every
migration of the corpus and the bundled example."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from b03lint.readers.python import read_migration
from b03lint.readers.python.module import binds, first_line, walked_binds
from b03lint.readers.python.source import Source

REPO = Path(__file__).resolve().parent.parent
NAMES = [("upgrade", "downgrade"), ("downgrade",), ("x",)]

STATEMENTS = [
    "upgrade = 1", "upgrade = downgrade = 'x'", "x = upgrade = None",
    "import a.upgrade as upgrade", "import upgrade", "import upgrade.sub",
    "from x import upgrade, downgrade", "from x import upgrade as downgrade",
    "from . import x", "'a docstring'", "42", "upgrade: int = 1", "(upgrade := 1)",
    "y = (upgrade := 1)", "a, upgrade = 1, 2", "x[upgrade] = 1", "upgrade.x = 1",
    "class upgrade: pass", "async def downgrade(): pass", "def upgrade(x=(downgrade := 1)): pass",
    "@decorator\ndef x(): pass", "if True:\n    def upgrade(): pass", "upgrade += 1",
    "for upgrade in []: pass", "with a as upgrade: pass", "try:\n    import upgrade\nexcept E: x = 1",
    "[upgrade for upgrade in y]", "f = lambda upgrade: upgrade",
]


def walked(stmt: ast.stmt, names: tuple[str, ...]) -> set[str]:
    """What the general walk finds (the shortcuts of ``binds`` must agree with it)."""
    return set(walked_binds(stmt, names))


@pytest.fixture(scope="module")
def migrations(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The corpus's files, the bundled example's, and a generated chain of the benchmark
    (every operation shape it writes)."""
    import sys

    sys.path.insert(0, str(REPO / "bench"))
    try:
        from generate import generate
    finally:
        sys.path.remove(str(REPO / "bench"))
    chain = generate(tmp_path_factory.mktemp("chain") / "c", 60)
    files = sorted((REPO / "tests" / "corpus" / "files").glob("*.py.txt"))
    files += sorted((REPO / "alembic").rglob("*.py"))
    files += sorted((chain / "alembic" / "versions").rglob("*.py"))
    assert len(files) > 80
    return files


@pytest.mark.parametrize("names", NAMES)
@pytest.mark.parametrize("text", STATEMENTS)
def test_binds_of_a_crafted_statement(text: str, names: tuple[str, ...]) -> None:
    stmt = ast.parse(text).body[0]
    assert set(binds(stmt, names)) == walked(stmt, names)


@pytest.mark.parametrize(("text", "expected"), [
    ("upgrade = 1", {"upgrade"}), ("x = upgrade = 'a'", {"upgrade"}), ("x = 1", set()),
    ("import a.upgrade as upgrade", {"upgrade"}), ("import upgrade.sub", {"upgrade"}),
    ("from x import upgrade as downgrade", {"downgrade"}), ("'upgrade'", set()),
    ("def upgrade(): pass", {"upgrade"}), ("class downgrade: pass", {"downgrade"}),
    ("if x:\n    def upgrade(): pass", {"upgrade"}), ("y = (upgrade := 1)", {"upgrade"}),
    ("def f():\n    upgrade = 1", set()),
])
def test_binds_names_what_python_binds(text: str, expected: set[str]) -> None:
    stmt = ast.parse(text).body[0]
    assert set(binds(stmt, ("upgrade", "downgrade"))) == expected


def test_binds_of_every_statement_at_hand(migrations: list[Path]) -> None:
    count = 0
    for path in migrations:
        try:
            tree = ast.parse(path.read_bytes())
        except SyntaxError:
            continue
        for stmt in tree.body:
            for names in NAMES:
                count += 1
                assert set(binds(stmt, names)) == walked(stmt, names), (path, ast.dump(stmt))
    assert count > 1000


def cleaned_first_line(doc: str | None) -> str | None:
    if not doc:
        return None
    text = inspect.cleandoc(doc).strip()
    return (text.splitlines()[0].strip() or None) if text else None


DOCSTRINGS = ["x", "\n\n   Title  \n  body", "\tA\tb\n\tc", "", "   \n   ", "a\rb",
              "a\x0cb\nc", "\u2028x\ny", "  \x0b  \nz", "\n\t\tTab\tin\n", "one\ntwo",
              "\x1c\x1dq", "\n  \u00a0 nbsp\n", "Revision ID: abc\nRevises: def"]


@pytest.mark.parametrize("doc", DOCSTRINGS)
def test_first_line_is_cleandocs(doc: str) -> None:
    assert first_line(doc) == cleaned_first_line(doc)


def test_message_of_every_migration_at_hand(migrations: list[Path]) -> None:
    for path in migrations:
        data = path.read_bytes()
        try:
            tree = ast.parse(data)
        except SyntaxError:
            continue
        expected = cleaned_first_line(ast.get_docstring(tree, clean=False))
        assert read_migration(path.name, data).message == expected, path


def test_columns_are_characters_where_a_line_is_not_ascii() -> None:
    ascii_src = Source("x = 'abc'\n", "a.py")
    assert ascii_src.ascii and ascii_src.col(1, 5) == 5
    src = Source("x = 'é'; y = 1\nz = 2\n", "b.py")
    assert not src.ascii
    assert src.col(1, 11) == 10  # 'é' is two bytes, one character
    assert src.col(2, 4) == 4  # an ASCII line of a non-ASCII file
    assert src.col(9, 3) == 3  # outside the file: the offset as given
    mf = read_migration("c.py", b"'''Doc'''\nfrom alembic import op\ndef upgrade():\n"
                                b"    op.drop_table('t\xc3\xa9')  ; op.drop_table('u')\n")
    columns = [op.loc.column for op in mf.upgrade_ops]
    assert columns == [4, 27], columns  # in bytes, the second one is at 28
