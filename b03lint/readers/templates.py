"""SQL templates: text whose parts are filled in at run time, read as far as it is known.

A migration often builds SQL from a template: ``"DROP TABLE {}".format(name)``,
``f"UPDATE {table} SET ..."``, ``"... WHERE id = %s" % row_id``, ``"..." + suffix``. When
the filled-in part is not known statically, the Python reader still reads the template:
each unknown part becomes :data:`PLACEHOLDER`, an identifier PostgreSQL's grammar accepts
wherever a name or a value goes (``IN {}`` gets ``IN (placeholder)``), and the SQL reader
reads the statement (:func:`b03lint.readers.sql.read_sql` with ``template=True``). An
operation whose names or expressions hold the placeholder is then reported as unresolved
(its kind and table known, the run-time part not); one that does not (``UPDATE t SET x =
<placeholder> WHERE ...``) is read as written. A template that still does not parse is
unresolved, never a syntax error: the error would be the placeholder's, not the SQL's.

This module is shared by both readers; it imports nothing of theirs (only the operations).
"""

from __future__ import annotations

import dataclasses
import re
import string
from collections.abc import Mapping, Sequence

from b03lint.operations import DataChange, Operation, Unresolved

#: what stands for a part filled in at run time (a valid unquoted PostgreSQL identifier)
PLACEHOLDER = "b03lint_placeholder"

#: a run-time part given to :func:`fill_format` / :func:`fill_percent`
UNKNOWN_PART = object()

_IN_BEFORE = re.compile(r"\bin\s*$", re.IGNORECASE)
_PERCENT = re.compile(
    r"%(?:\((?P<key>[^)]*)\))?(?P<spec>[#0\- +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?)"
    r"(?P<conv>[diouxXeEfFgGcrsa%])")


def placeholder_after(before: str) -> str:
    """The placeholder for a run-time part written after ``before``: parenthesised after
    ``IN`` (a list bound at run time)."""
    return f"({PLACEHOLDER})" if _IN_BEFORE.search(before[-40:]) else PLACEHOLDER


def fill_format(template: str, args: Sequence[object],
                kwargs: Mapping[str, object]) -> str | None:
    """``template.format(*args, **kwargs)`` where an argument may be :data:`UNKNOWN_PART`
    (it becomes the placeholder). None when the template does not format."""
    out: list[str] = []
    auto = 0
    try:
        fields = list(string.Formatter().parse(template))
    except ValueError:
        return None
    formatter = string.Formatter()
    for literal, field, spec, conversion in fields:
        out.append(literal)
        if field is None:
            continue
        if spec and "{" in spec:
            return None
        head = re.match(r"[^.\[]*", field)
        first = head.group() if head else field
        key: int | str
        if first == "":
            key, auto = auto, auto + 1
        elif first.isdigit():
            key = int(first)
        else:
            key = first
        try:
            base = args[key] if isinstance(key, int) else kwargs[key]
        except (IndexError, KeyError):
            return None
        if base is UNKNOWN_PART:
            out.append(placeholder_after("".join(out)))
            continue
        try:
            value = formatter.get_field(field if first else f"{key}{field}", list(args),
                                        dict(kwargs))[0]
            value = formatter.convert_field(value, conversion)
            out.append(format(value, spec or ""))
        except (AttributeError, IndexError, KeyError, TypeError, ValueError):
            return None
    return "".join(out)


def fill_percent(template: str, args: object) -> str | None:
    """``template % args`` where ``args`` (a tuple, a mapping or one value) or any of its
    items may be :data:`UNKNOWN_PART`. None when the template does not format."""
    out: list[str] = []
    last = 0
    position = 0
    for m in _PERCENT.finditer(template):
        out.append(template[last:m.start()])
        last = m.end()
        if m.group("conv") == "%":
            out.append("%")
            continue
        if "*" in m.group("spec"):
            return None
        key = m.group("key")
        if args is UNKNOWN_PART:
            value: object = UNKNOWN_PART
        elif key is not None:
            if not isinstance(args, Mapping) or key not in args:
                return None
            value = args[key]
        elif isinstance(args, tuple):
            if position >= len(args):
                return None
            value, position = args[position], position + 1
        else:
            value, position = args, position + 1
        if value is UNKNOWN_PART:
            out.append(placeholder_after("".join(out)))
            continue
        try:
            out.append(f"%{m.group('spec')}{m.group('conv')}" % (value,))
        except (TypeError, ValueError, OverflowError):
            return None
    out.append(template[last:])
    return "".join(out)


def mentions(value: object) -> bool:
    """Whether a placeholder appears anywhere in ``value`` (an operation, a column, a
    constraint, a tuple of them, a string)."""
    if isinstance(value, str):
        return PLACEHOLDER in value
    if isinstance(value, (tuple, list)):
        return any(mentions(v) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return any(mentions(getattr(value, f.name)) for f in dataclasses.fields(value))
    return False


def mentioned_fields(value: object) -> list[str]:
    """The fields of a dataclass (an operation) that hold a placeholder."""
    if not dataclasses.is_dataclass(value) or isinstance(value, type):
        return []
    return [f.name for f in dataclasses.fields(value) if mentions(getattr(value, f.name))]


def template_operation(op: Operation) -> Operation:
    """What the reading of a template says for certain about ``op``: the operation as read
    when it holds no run-time part; else an :class:`Unresolved` of the same kind (and table,
    when the table is not the run-time part)."""
    fields = [f for f in mentioned_fields(op) if f != "related"]
    if not fields or isinstance(op, Unresolved):
        return op
    table = op.table_name if op.table_name and not mentions(op.table_name) else None
    return Unresolved(
        loc=op.loc, phase=op.phase, source=op.source, via=op.via, table=table,
        data=isinstance(op, DataChange),
        reason=f"{op.kind.replace('_', ' ')} whose {' and '.join(f'`{f}`' for f in fields)} "
               f"{'is' if len(fields) == 1 else 'are'} filled in at run time (the SQL is "
               "a template)")
