"""The ``#`` comments of a migration, by line: waivers (``CI:DESTRUCTIVE_OK``),
suppressions (``b03lint: ignore[...]``) and ADR references are read from them later
(``b03lint/waivers.py``, ``b03lint/suppressions.py``). SQL comments inside embedded SQL
are merged in at the line where they are written."""

from __future__ import annotations

import io
import tokenize

from b03lint.readers.python.source import NEWLINE


def collect_comments(text: str, comments: dict[int, str]) -> None:
    """Every ``#`` comment of ``text`` into ``comments``, by line."""
    if "#" not in text:
        return  # no comment anywhere: spare the (pure Python, slow) tokenizer
    if "\r" in text:  # number lines the way ast does (a lone CR ends a line too)
        text = NEWLINE.sub("\n", text)
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.COMMENT:
                comments[tok.start[0]] = tok.string
    except (tokenize.TokenError, SyntaxError, ValueError):
        pass  # the file parsed with ast: keep the comments read so far


def merge_comments(comments: dict[int, str], extra: dict[int, str]) -> None:
    """Add the comments of embedded SQL (by line) to the file's."""
    for line, text in extra.items():
        if line in comments and text not in comments[line]:
            comments[line] = f"{comments[line]} {text}"
        else:
            comments.setdefault(line, text)
