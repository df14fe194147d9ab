"""Comments read without ``tokenize`` (b03lint/readers/python/comments.py): the same
comments, on the same lines, as the tokenizer finds, for every construct where a ``#`` is
or is not a comment."""

from __future__ import annotations

import ast
import io
import sys
import tokenize
from pathlib import Path

import pytest

from b03lint.readers.python.comments import collect_comments

REPO = Path(__file__).resolve().parent.parent

CASES = {
    "implicit concatenation": 'x = ("a #1"  # between pieces\n     "b")  # after\n',
    "multi-line call": ('op.add_column(  # opening\n    "t",  # CI:DESTRUCTIVE_OK - See ADR-1\n'
                        '    sa.Column("c"),\n)  # closing\n'),
    "hash in strings": "s = '#no' + \"#no\" + '''\n# no\n''' + r'\\\\' # yes\n",
    "escaped quotes": 's = "a\\" # still a string"  # comment\nt = \'it\\\'s # no\'\n',
    "raw string ending in escaped quote": 's = r"\\"# no"  # yes\n',
    "triple with quotes inside": 's = """a "" # no "\n"""  # yes\n',
    "line continuation": 's = "a\\\n# no"  # yes\nx = 1 + \\\n    2  # also\n',
    "prefixes": "a = rb'#' + Br'#' + u'#' + b'''#'''  # yes\n",
    "keyword before a string": 'if"#":  # yes\n    pass\nelif"#": pass  # too\n',
    "f-strings": ("name = 'n'\ns = f'{name!r:>{10}} # no {{#}}'  # yes\n"
                  "t = f\"{'#' + name}\" f'{ {1: 2}[1] }'  # two pieces\n"),
    "docstring and comment-only lines": '"""doc # no"""\n# first\n\n    # indented\n',
    "carriage returns": "x = 1  # dos\r\ny = '#'\r# mac\rz = 2\n",
    "no trailing newline": "x = 1  # end",
    "comment with trailing spaces": "x = 1  # spaced   \n",
}
if sys.version_info >= (3, 12):
    CASES["nested same quotes (3.12)"] = 's = f"{"#" + f"{"a"}"}"  # yes\n'
    CASES["comment inside a field (3.12)"] = 's = f"""{\n1  # inside\n}"""  # after\n'


def _tokenized(text: str) -> dict[int, str]:
    from b03lint.readers.python.source import NEWLINE

    text = NEWLINE.sub("\n", text)
    return {t.start[0]: t.string for t in tokenize.generate_tokens(io.StringIO(text).readline)
            if t.type == tokenize.COMMENT}


@pytest.mark.parametrize("text", list(CASES.values()), ids=list(CASES))
def test_the_same_comments_as_the_tokenizer(text: str) -> None:
    ast.parse(text)  # the reader only ever sees files that parsed
    found: dict[int, str] = {}
    collect_comments(text, found)
    assert found == _tokenized(text)
    assert found  # every case has at least one real comment


def test_every_migration_and_module_at_hand(tmp_path: Path) -> None:
    """The example's chain, a generated chain and b03lint's own source and tests."""
    sys.path.insert(0, str(REPO / "bench"))
    try:
        from generate import generate
    finally:
        sys.path.remove(str(REPO / "bench"))
    chain = generate(tmp_path / "chain", 120)
    texts = [p.read_text(encoding="utf-8") for p in
             [*(REPO / "alembic").rglob("*.py"), *(REPO / "b03lint").rglob("*.py"),
              *(REPO / "tests").rglob("*.py"), *(chain / "alembic").rglob("*.py")]]
    assert len(texts) > 200
    for text in texts:
        found: dict[int, str] = {}
        collect_comments(text, found)
        assert found == _tokenized(text)
