"""The table of compiled code that :mod:`b03lint.codecache` keeps per user, and
:func:`compiled`, which serves a source text from it.

A module of its own, importing nothing of b03lint's, so that any module can compile its
generated functions through the table (the parse cache's builders,
:func:`b03lint.cache._builder`) without importing :mod:`b03lint.codecache` and what it
needs (:mod:`b03lint.runcache`, which imports :mod:`b03lint.cache` for its secret).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import CodeType
    from typing import Any

#: what :func:`b03lint.codecache.install` read and is filling: ``table`` (source text ->
#: code), ``new`` (compiled by this run), ``used`` (texts this run asked for); empty when
#: the table is not installed
state: dict[str, Any] = {}


def compiled(source: str) -> CodeType:
    """``source`` compiled as ``exec`` would compile it (file name ``<string>``, no
    inherited ``__future__`` flags), from the table when it is there."""
    table: dict[str, CodeType] | None = state.get("table")
    code = None if table is None else table.get(source)
    if code is None:
        code = compile(source, "<string>", "exec", dont_inherit=True)
        if table is not None:
            state["new"][source] = code
    if table is not None:
        state["used"].add(source)
    return code
