"""pglast's printer, as :func:`b03lint.readers.sql.deparse.deparse` uses it: imported only
when a tree is printed (pglast's ``stream`` and ``printers`` modules cost about 12 ms to
import, and most runs read SQL without deparsing any of it)."""

from __future__ import annotations

from typing import Any

from pglast import ast
from pglast.stream import RawStream
from pglast.visitors import Ancestor

from b03lint.readers.sql.deparse import type_spelling


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


def _is_negative_number(node: Any) -> bool:
    val = getattr(node, "val", None)
    if isinstance(val, ast.Integer):
        return bool((val.ival or 0) < 0)
    if isinstance(val, ast.Float):
        return str(val.fval or "").startswith("-")
    return False


def print_node(node: Any) -> str:
    """``node`` printed by :class:`_Printer`, else by pglast's own ``RawStream``, else a
    placeholder naming the node: never raises."""
    for printer in (_Printer, RawStream):
        try:
            text: str = printer()(node)
        except Exception:
            continue
        return text
    return f"<{type(node).__name__}>"
