"""The ``#`` comments of a migration, by line: waivers (``CI:DESTRUCTIVE_OK``),
suppressions (``b03lint: ignore[...]``) and ADR references are read from them later
(``b03lint/waivers.py``, ``b03lint/suppressions.py``). SQL comments inside embedded SQL
are merged in at the line where they are written.

The file has already parsed with ``ast``, so its lexical structure is known to be valid:
a comment is a ``#`` outside every string literal, and the strings are the only thing to
step over. :func:`collect_comments` jumps from one ``#`` or quote to the next with regular
expressions (each string piece on its own, so a comment between the pieces of an
implicitly concatenated string is found, as one inside a call spread over several lines
is), and walks f-strings' replacement fields, where strings nest (Python 3.12 lets them
reuse the outer quote) and, in 3.12, comments may appear. This gives what
``tokenize`` gives (``tests/test_reader_python.py`` compares them on every real and
generated migration at hand) at a fraction of its cost: ``tokenize`` is pure Python and
took 17 % of a cold check.
"""

from __future__ import annotations

import re

from b03lint.readers.python.source import NEWLINE

#: the next place where a comment or a string may begin
_NEXT = re.compile(r"[#'\"]")
#: the rest of a string piece after its opening quote (escapes step over any character,
#: a raw string's too: ``r"\""`` does not end at the escaped quote either)
_REST = {
    "'": re.compile(r"(?:[^'\\\n]|\\.)*'", re.S),
    '"': re.compile(r'(?:[^"\\\n]|\\.)*"', re.S),
    "'''": re.compile(r"(?:[^'\\]|\\.|'(?!''))*'''", re.S),
    '"""': re.compile(r'(?:[^"\\]|\\.|"(?!""))*"""', re.S),
}
#: inside an f-string's literal text: what can end it or open a replacement field
_FLITERAL = {q: re.compile(r"[\\{}]|" + re.escape(q)) for q in _REST}
#: inside a replacement field: what nests or closes it
_FIELD = re.compile(r"[{}'\"#]")
_PREFIX_CHARS = frozenset("rRbBfFuU")


class _Malformed(Exception):
    """The text is not lexically what this scanner expects: ask ``tokenize``."""


def collect_comments(text: str, comments: dict[int, str]) -> None:
    """Every ``#`` comment of ``text`` into ``comments``, by line (1-based, as ``ast``
    numbers lines)."""
    if "#" not in text:
        return  # no comment anywhere
    if "\r" in text:  # number lines the way ast does (a lone CR ends a line too)
        text = NEWLINE.sub("\n", text)
    found: dict[int, str] = {}
    try:
        _scan(text, found)
    except _Malformed:
        found = {}
        _with_tokenize(text, found)
    comments.update(found)


def _scan(text: str, found: dict[int, str]) -> None:
    pos = 0
    line = 1
    counted = 0  # line holds the number of the line at offset ``counted``
    search = _NEXT.search
    while True:
        m = search(text, pos)
        if m is None:
            return
        k = m.start()
        if m.group() == "#":
            end = text.find("\n", k)
            end = len(text) if end < 0 else end
            line += text.count("\n", counted, k)
            counted = k
            found[line] = text[k:end]
            pos = end
        else:
            pos = _string_end(text, k, found)
            if pos > counted:
                line += text.count("\n", counted, pos)
                counted = pos


def _string_end(text: str, k: int, found: dict[int, str]) -> int:
    """The offset just after the string piece whose opening quote is at ``k``."""
    j = k
    while j > 0 and k - j < 2 and text[j - 1] in _PREFIX_CHARS:
        j -= 1
    prefix = text[j:k]
    if prefix and j > 0 and (text[j - 1].isalnum() or text[j - 1] == "_"):
        prefix = ""  # `if"x"`: the letters end a keyword or a name, they are no prefix
    quote = text[k] * 3 if text.startswith(text[k] * 3, k) else text[k]
    start = k + len(quote)
    if "f" in prefix.lower():
        return _fstring_end(text, start, quote, found)
    m = _REST[quote].match(text, start)
    if m is None:
        raise _Malformed
    return m.end()


def _fstring_end(text: str, i: int, quote: str, found: dict[int, str]) -> int:
    """The offset after an f-string whose literal text starts at ``i``."""
    literal = _FLITERAL[quote]
    n = len(text)
    depth = 0
    while i < n:
        if depth == 0:
            m = literal.search(text, i)
            if m is None:
                raise _Malformed
            k = m.start()
            c = m.group()
            if c == quote:
                return k + len(quote)
            if c == "\\" or text.startswith(c * 2, k):  # an escape; {{ or }}: a brace
                i = k + 2
            elif c == "{":
                depth, i = 1, k + 1
            else:
                i = k + 1
            continue
        m = _FIELD.search(text, i)
        if m is None:
            raise _Malformed
        k = m.start()
        c = m.group()
        if c == "{":
            depth, i = depth + 1, k + 1
        elif c == "}":
            depth, i = depth - 1, k + 1
        elif c == "#":  # a comment inside a multi-line replacement field (3.12)
            end = text.find("\n", k)
            end = n if end < 0 else end
            found[text.count("\n", 0, k) + 1] = text[k:end]
            i = end
        else:
            i = _string_end(text, k, found)
    raise _Malformed


def _with_tokenize(text: str, found: dict[int, str]) -> None:
    import io
    import tokenize

    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.COMMENT:
                found[tok.start[0]] = tok.string
    except (tokenize.TokenError, SyntaxError, ValueError):
        pass  # the file parsed with ast: keep the comments read so far


def merge_comments(comments: dict[int, str], extra: dict[int, str]) -> None:
    """Add the comments of embedded SQL (by line) to the file's."""
    for line, text in extra.items():
        if line in comments and text not in comments[line]:
            comments[line] = f"{comments[line]} {text}"
        else:
            comments.setdefault(line, text)
