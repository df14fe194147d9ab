"""pglast nodes -> text in one spelling: expressions deparsed with casts as
``expr::type`` and normalised type names, names and qualified names, foreign-key
actions."""

from __future__ import annotations

from typing import Any

from pglast import ast

from b03lint.sqltypes import normalize_type


def _parent(node: Any) -> Any:
    anc = getattr(node, "ancestors", None)
    if anc is None:
        return None
    try:
        parent = abs(anc)
    except Exception:  # pragma: no cover - defensive, pglast internals
        return None
    return None if parent is None else parent.node


_set = object.__setattr__
#: the nodes whose ``ancestors`` the outermost print in progress has set (None: no print)
_touched: list[list[Any] | None] = [None]


def _populate_ancestors(tree: tuple[Any, ...], touched: list[Any]) -> None:
    """Set every node's ``ancestors`` exactly as :func:`pglast.visitors.populate_ancestors`
    does (the same :class:`~pglast.visitors.Ancestor` chain: a member name below a node,
    an index below a tuple), without its generic visitor, which looks its own methods up
    with :func:`inspect.getmembers` on every call: that lookup and the breadth-first
    machinery were 60 % of deparsing. The nodes are noted in ``touched``."""
    from pglast.visitors import Ancestor

    node_type = ast.Node
    stack: list[tuple[Any, Any]] = [(Ancestor(), tree)]
    pop, push = stack.pop, stack.append
    while stack:
        anc, value = pop()
        if isinstance(value, tuple):
            for i, item in enumerate(value):
                sub = Ancestor(anc, value, i)
                if isinstance(item, node_type):
                    push((sub, item))
                elif isinstance(item, tuple):
                    for j, inner in enumerate(item):
                        if isinstance(inner, (tuple, node_type)):
                            push((Ancestor(sub, item, j), inner))
            continue
        _set(value, "ancestors", anc)
        touched.append(value)
        for member in value:
            child = getattr(value, member)
            if isinstance(child, (tuple, node_type)):
                push((Ancestor(anc, value, member), child))


def _is_negative_number(node: Any) -> bool:
    val = getattr(node, "val", None)
    if isinstance(val, ast.Integer):
        return bool((val.ival or 0) < 0)
    if isinstance(val, ast.Float):
        return str(val.fval or "").startswith("-")
    return False


#: the printer class, made on first use (pglast's ``stream`` and ``printers`` modules cost
#: about 12 ms to import, and most runs read SQL without deparsing any of it)
_PRINTER: list[type] = []


def _printer() -> type:
    """pglast's RawStream, but casts as ``expr::type`` and type names normalised."""
    if _PRINTER:
        return _PRINTER[0]
    from pglast.stream import RawStream

    class _Printer(RawStream):
        """pglast's RawStream, but casts as ``expr::type`` and type names normalised."""

        def __call__(self, sql: Any, plpgsql: bool = False) -> str:
            """:meth:`RawStream.__call__` for one node, with a faster equivalent of its
            ``populate_ancestors``; when the outermost print ends, every ``ancestors`` it set
            is cleared again. Each is a reference cycle (a node's ancestor holds its parent,
            which holds the node): left in place, every deparsed tree is garbage for the
            cyclic collector instead of being freed when the reader drops it."""
            if not isinstance(sql, ast.Node):
                return str(super().__call__(sql, plpgsql))
            outer = _touched[0] is None
            touched: list[Any] = [] if outer else _touched[0]  # type: ignore[assignment]
            if outer:
                _touched[0] = touched
            try:
                _populate_ancestors((sql,), touched)
                if not (isinstance(sql, ast.RawStmt) and sql.stmt is None):
                    self.print_node(sql)
                return str(self.getvalue())
            finally:
                if outer:
                    _touched[0] = None
                    for node in touched:
                        _set(node, "ancestors", None)

        def print_node(self, node: Any, is_name: bool = False, is_symbol: bool = False) -> None:
            if isinstance(node, ast.TypeCast) and not isinstance(_parent(node), ast.VariableSetStmt):
                type_name = type_spelling(node.typeName)
                if type_name is not None:
                    arg = node.arg
                    simple = isinstance(
                        arg, (ast.ColumnRef, ast.FuncCall, ast.TypeCast, ast.A_ArrayExpr,
                              ast.ParamRef, ast.SQLValueFunction)
                    ) or (isinstance(arg, ast.A_Const) and not _is_negative_number(arg))
                    if simple:
                        self.print_node(arg)
                    else:
                        self.write("(")
                        self.print_node(arg)
                        self.write(")")
                    self.write("::" + type_name)
                    self.separator()
                    return
            if isinstance(node, ast.Boolean):  # as the catalog prints them
                self.write("true" if node.boolval else "false")
                self.separator()
                return
            if isinstance(node, ast.TypeName):
                type_name = type_spelling(node)
                if type_name is not None:
                    self.write(type_name)
                    self.separator()
                    return
            super().print_node(node, is_name, is_symbol)

    _PRINTER.append(_Printer)
    return _Printer


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
    from pglast.stream import RawStream

    for printer in (_printer(), RawStream):
        try:
            text: str = printer()(node)
        except Exception:
            continue
        return text
    return f"<{type(node).__name__}>"


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
