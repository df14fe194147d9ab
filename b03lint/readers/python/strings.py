"""Strings the evaluator computes: f-strings, ``str.format``, ``%``, ``+`` and the other
string methods, each within the file's text limit; and templates, when a part of the
string is filled in at run time (see ``b03lint/readers/templates.py``)."""

from __future__ import annotations

import ast
import re
import string
from typing import cast

from b03lint.readers.python.source import Pos, Source
from b03lint.readers.python.text import FixedText, Text, strip_text
from b03lint.readers.python.values import (
    MISSING,
    UNKNOWN,
    Dict,
    Env,
    Seq,
    Template,
    python_value,
)
from b03lint.readers.templates import (
    PLACEHOLDER,
    UNKNOWN_PART,
    fill_format,
    placeholder_after,
)

#: a width or precision this long in a format spec is not evaluated (``'%0400000000d'``)
_HUGE_SPEC = re.compile(r"\d{5,}")
HUGE_PERCENT = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(?:\*|\d{5,}|\d*\.(?:\*|\d{5,}))")



class StringValues:
    """The string half of the :class:`~b03lint.readers.python.evaluator.Evaluator`."""

    src: Source
    _text_limit: int

    def _eval(self, expr: ast.expr, env: Env, depth: int) -> object:
        raise NotImplementedError

    def _computed(self, text: str, at: Pos) -> object:
        raise NotImplementedError

    def _eval_fstring(self, expr: ast.JoinedStr, env: Env, depth: int) -> object:
        pieces: list[str] = []
        template = False
        for part in expr.values:
            if isinstance(part, ast.Constant) and isinstance(part.value, str):
                pieces.append(part.value)
            elif isinstance(part, ast.FormattedValue):
                value = self._eval(part.value, env, depth)
                if isinstance(value, Template):
                    pieces.append(value.text.text)
                    template = True
                    continue
                py = python_value(value)
                if py is MISSING or not isinstance(py, (str, int, float, bool, type(None))):
                    pieces.append(placeholder_after("".join(pieces)))
                    template = True
                    continue
                if part.conversion == ord("r"):
                    py = repr(py)
                elif part.conversion == ord("a"):
                    py = ascii(py)
                elif part.conversion == ord("s"):
                    py = str(py)
                spec = ""
                if part.format_spec is not None:
                    spec_value = self._eval(part.format_spec, env, depth)
                    if not isinstance(spec_value, Text) or _HUGE_SPEC.search(spec_value.text):
                        return UNKNOWN
                    spec = spec_value.text
                try:
                    pieces.append(format(py, spec))
                except (ValueError, TypeError):
                    return UNKNOWN
            else:
                return UNKNOWN
        text = "".join(pieces)
        if template:
            return self._template(text, self.src.start(expr))
        return self._computed(text, self.src.start(expr))

    def _template(self, text: str | None, at: Pos) -> object:
        """A :class:`Template` of ``text``, or UNKNOWN when there is no text (the template
        did not format) or nothing of it is known."""
        if text is None or not text.replace(PLACEHOLDER, "").strip(" \t\n()'\"%;,"):
            return UNKNOWN
        computed = self._computed(text, at)
        return Template(computed) if isinstance(computed, Text) else UNKNOWN

    def _concat_template(self, left: object, right: object, at: Pos) -> object:
        """``"..." + x`` where one side is text and the other is filled in at run time."""
        sides: list[str | None] = []
        for side in (left, right):
            if isinstance(side, (Text, Template)):
                sides.append((side.text if isinstance(side, Template) else side).text)
            elif side is UNKNOWN:
                sides.append(None)
            else:
                return UNKNOWN
        if all(s is None for s in sides) or not any(
                isinstance(v, Template) or v is UNKNOWN for v in (left, right)):
            return UNKNOWN
        text = ""
        for piece in sides:
            text += placeholder_after(text) if piece is None else piece
        return self._template(text, at)

    def _eval_str_method(
        self, owner: Text, method: str, call: ast.Call, env: Env, depth: int
    ) -> object:
        at = self.src.start(call)
        if any(isinstance(a, ast.Starred) for a in call.args):
            return UNKNOWN
        args = [python_value(self._eval(a, env, depth)) for a in call.args]
        if method == "format" and _plain_format(owner.text) and (
                MISSING in args or any(kw.arg is not None and python_value(
                    self._eval(kw.value, env, depth)) is MISSING for kw in call.keywords)):
            if any(kw.arg is None for kw in call.keywords):
                return UNKNOWN
            given = [parts_of(self._eval(a, env, depth)) for a in call.args]
            named = {kw.arg: parts_of(self._eval(kw.value, env, depth))
                     for kw in call.keywords if kw.arg is not None}
            return self._template(fill_format(owner.text, given, named), at)
        if any(a is MISSING for a in args):
            return UNKNOWN
        if method in ("strip", "lstrip", "rstrip"):
            chars = args[0] if args else None
            if chars is not None and not isinstance(chars, str):
                return UNKNOWN
            return strip_text(owner, method, chars)
        if method == "format":
            if not _plain_format(owner.text):
                return UNKNOWN
            kwargs: dict[str, object] = {}
            for kw in call.keywords:
                value = python_value(self._eval(kw.value, env, depth))
                if kw.arg is None or value is MISSING:
                    return UNKNOWN
                kwargs[kw.arg] = value
            try:
                return self._computed(owner.text.format(*args, **kwargs), at)
            except (IndexError, KeyError, ValueError, TypeError, AttributeError):
                return UNKNOWN
        if method == "join" and len(args) == 1 and isinstance(args[0], (list, tuple)):
            parts = args[0]
            if all(isinstance(a, str) for a in parts):
                size = sum(map(len, parts)) + len(owner.text) * max(len(parts) - 1, 0)
                if size > self._text_limit:
                    return UNKNOWN
                return FixedText(owner.text.join(parts), at)
            return UNKNOWN
        if method in ("lower", "upper", "title", "capitalize", "replace", "removeprefix",
                      "removesuffix", "ljust", "rjust", "center", "zfill"):
            if method == "replace" and len(args) >= 2 and all(isinstance(a, str)
                                                               for a in args[:2]):
                old, new = cast(str, args[0]), cast(str, args[1])
                grows = owner.text.count(old) * max(len(new) - len(old), 0)
                if len(owner.text) + grows > self._text_limit:
                    return UNKNOWN
            if any(isinstance(a, int) and a > self._text_limit for a in args):
                return UNKNOWN  # padding to a width longer than the limit
            try:
                result = getattr(owner.text, method)(*args)
            except (TypeError, ValueError, AttributeError, OverflowError):
                return UNKNOWN
            if isinstance(result, str):
                return self._computed(result, at)
        return UNKNOWN


def _plain_format(template: str) -> bool:
    """Whether ``template.format(...)`` is safe to evaluate: no nested replacement field
    and no huge width or precision in any format spec."""

    try:
        return not any(spec and ("{" in spec or _HUGE_SPEC.search(spec))
                       for _lit, _field, spec, _conv in string.Formatter().parse(template))
    except ValueError:
        return False



def parts_of(value: object) -> object:
    """A value for :func:`fill_format` / :func:`fill_percent`: its plain Python value, or
    UNKNOWN_PART (items of a tuple or mapping one by one)."""
    if isinstance(value, Seq):
        return tuple(parts_of(v) for v in value.items)
    if isinstance(value, Dict):
        keys = [python_value(k) for k, _ in value.items]
        if all(isinstance(k, str) for k in keys):
            return {k: parts_of(v) for k, (_, v) in zip(keys, value.items, strict=True)}
        return UNKNOWN_PART
    if isinstance(value, Template):
        return UNKNOWN_PART
    py = python_value(value)
    return UNKNOWN_PART if py is MISSING else py


