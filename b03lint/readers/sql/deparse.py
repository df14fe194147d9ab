"""pglast nodes -> text in one spelling: expressions deparsed with casts as
``expr::type`` and normalised type names, names and qualified names, foreign-key
actions."""

from __future__ import annotations

from typing import Any

from pglast import ast

from b03lint.sqltypes import normalize_type

#: the slots of each node class that say what it is, not where it was written (pglast's
#: printers never look at a ``ParseLoc``: they print from the structure alone)
_SHAPE_SLOTS: dict[type, tuple[str, ...]] = {}
#: deparsed text by shape: migrations repeat the same defaults, checks and policies, and
#: printing is most of the cost of reading them
_PRINTED: dict[object, str] = {}
MAX_PRINTED = 50_000


def _shape(value: Any) -> object:
    """A hashable key equal for two trees exactly when they print the same way: every
    node's class and every slot but its source positions, recursively."""
    if isinstance(value, ast.Node):
        cls = type(value)
        slots = _SHAPE_SLOTS.get(cls)
        if slots is None:
            slots = _SHAPE_SLOTS[cls] = tuple(
                name for name, info in cls.__slots__.items()  # type: ignore[attr-defined]
                if getattr(info, "c_type", None) != "ParseLoc")
        return (cls, *[_shape(getattr(value, name)) for name in slots])
    if isinstance(value, tuple):
        return tuple([_shape(item) for item in value])
    return value


def deparse(node: Any) -> str:
    """SQL text of an expression node, in the module's one spelling (pglast's own printer
    if ours fails; a placeholder naming the node if that fails too -- never raises). The
    text depends on the tree's shape alone, so each shape is printed once per process."""
    if node is None:
        return ""
    try:
        key: object = _shape(node)
        hash(key)
    except (RecursionError, TypeError):  # too deep to key, or an unhashable value
        return _print(node)
    text = _PRINTED.get(key)
    if text is None:
        if len(_PRINTED) >= MAX_PRINTED:
            _PRINTED.clear()
        text = _PRINTED[key] = _print(node)
    return text


def _print(node: Any) -> str:
    # pglast's printers (pglast.stream, pglast.printers: about 12 ms to import) only when
    # a tree is printed: most runs read SQL without deparsing any of it
    from b03lint.readers.sql.printer import print_node

    return print_node(node)


def deparse_opt(node: Any) -> str | None:
    return None if node is None else deparse(node)


# =========================================================================== names & types

_INTERVAL_FULL_RANGE = 0x7FFF
_INTERVAL_RANGES = {
    1 << 2: "year",
    1 << 1: "month",
    1 << 3: "day",
    1 << 10: "hour",
    1 << 11: "minute",
    1 << 12: "second",
    (1 << 2) | (1 << 1): "year to month",
    (1 << 3) | (1 << 10): "day to hour",
    (1 << 3) | (1 << 10) | (1 << 11): "day to minute",
    (1 << 3) | (1 << 10) | (1 << 11) | (1 << 12): "day to second",
    (1 << 10) | (1 << 11): "hour to minute",
    (1 << 10) | (1 << 11) | (1 << 12): "hour to second",
    (1 << 11) | (1 << 12): "minute to second",
}


def string_value(node: Any) -> str:
    if isinstance(node, ast.String):
        return str(node.sval)
    if isinstance(node, str):
        return node
    return deparse(node)


def name_list(nodes: Any) -> list[str]:
    return [string_value(n) for n in nodes or ()]


def qualified(schema: str | None, name: str) -> str:
    return name if schema in (None, "public") else f"{schema}.{name}"


def split_names(names: list[str]) -> tuple[str | None, str]:
    """``[catalog.]schema.name`` -> (schema, name)."""
    if len(names) >= 2:
        return names[-2], names[-1]
    return None, names[-1] if names else ""


def range_var(rv: Any) -> tuple[str | None, str]:
    if rv is None:
        return None, ""
    return rv.schemaname, str(rv.relname)


def range_var_name(rv: Any) -> str:
    schema, name = range_var(rv)
    return qualified(schema, name)


def _const_int(node: Any) -> int | None:
    val = getattr(node, "val", None)
    if isinstance(val, ast.Integer):
        return int(val.ival or 0)
    return None


def type_spelling(tn: Any) -> str | None:
    """Normalised spelling of a pglast ``TypeName`` (None for ``%TYPE`` and the like)."""
    if tn is None or tn.pct_type:
        return None
    names = name_list(tn.names)
    if not names:
        return None
    if len(names) == 2 and names[0] == "public":
        names = names[1:]
    name = ".".join(names)
    arrays = "[]" * len(tn.arrayBounds or ())
    typmods = list(tn.typmods or ())
    if name == "pg_catalog.interval" and typmods:
        mask = _const_int(typmods[0])
        text = "interval"
        if mask is not None and mask != _INTERVAL_FULL_RANGE and mask in _INTERVAL_RANGES:
            text += " " + _INTERVAL_RANGES[mask]
        if len(typmods) > 1:
            text += f"({deparse(typmods[1])})"
        return text + arrays
    mods: list[int | str] = []
    for mod in typmods:
        number = _const_int(mod)
        mods.append(number if number is not None else deparse(mod))
    return normalize_type(name + arrays, tuple(mods))


FK_ACTIONS = {"c": "CASCADE", "r": "RESTRICT", "n": "SET NULL", "d": "SET DEFAULT"}
