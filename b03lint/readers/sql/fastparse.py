"""pglast's syntax tree, built from the C parser's JSON instead of by pglast's own
constructors.

``pglast.parser.parse_sql`` converts PostgreSQL's parse tree into :mod:`pglast.ast` nodes
by calling each node class's constructor, whose ``__setattr__`` validates and coerces
every attribute in Python: on the benchmark's chains that was two thirds of the cost of
parsing, and parsing the largest single cost of reading the SQL. Here the tree comes from
``parse_sql_json`` (the same libpg_query parse, serialised in C) and is built with one
table-driven pass that sets each slot directly: the same classes, the same values (enums
as pglast's enums, lists as tuples, absent fields as pglast gives them), so the readers
see exactly the tree they saw before. A test compares both trees, every slot and every
position, on every statement of the test suite's SQL.

Only ASCII text takes this path: libpg_query reports positions in UTF-8 bytes, which
pglast converts to character indices; for other text, and for anything this builder does
not know, :func:`parse_sql` is pglast's own.
"""

from __future__ import annotations

import json
from typing import Any

from pglast import ast, enums
from pglast.parser import parse_sql as _pglast_parse_sql
from pglast.parser import parse_sql_json

_set = object.__setattr__
_new = object.__new__

# slot kinds
_SCALAR, _NODE, _TYPED, _LIST, _ENUM, _VALUE, _LOC = range(7)
#: the value an absent field has in pglast's tree, by C type (libpg_query leaves zero
#: values out of its JSON)
_ZERO: dict[str, object] = {"bool": False, "char": "\x00"}
_NUMBERS = frozenset({"int", "int16", "int32", "long", "Index", "AttrNumber", "ParseLoc",
                      "SubTransactionId", "Cost", "RelFileNumber", "AclMode", "Cardinality",
                      "bits32", "Oid", "uint32", "double"})

#: per node class: (slot, JSON key, kind, absent value, enum class or node class)
_Spec = tuple[tuple[str, str, int, object, Any], ...]
_SPECS: dict[str, tuple[type, _Spec]] = {}


class Unknown(Exception):
    """The JSON holds something this builder has no rule for: pglast's parser is used."""


def _spec(name: str) -> tuple[type, _Spec]:
    found = _SPECS.get(name)
    if found is not None:
        return found
    cls: Any = getattr(ast, name, None)
    declared: Any = getattr(cls, "__slots__", None)
    if not (isinstance(cls, type) and issubclass(cls, ast.Node) and isinstance(declared, dict)):
        raise Unknown(name)
    slots: list[tuple[str, str, int, object, Any]] = []
    for key, info in declared.items():
        ctype: str = info.c_type
        # pglast renames fields that are Python keywords (``def`` -> ``def_``)
        slot = (key, key[:-1] if key.endswith("_") else key)
        if ctype == "ValUnion":
            slots.append((*slot, _VALUE, None, None))
        elif ctype == "List*":
            slots.append((*slot, _LIST, None, None))
        elif ctype in ("Node*", "Expr*"):
            slots.append((*slot, _NODE, None, None))
        elif ctype == "char*":
            slots.append((*slot, _SCALAR, None, None))
        elif ctype in _ZERO:
            slots.append((*slot, _SCALAR, _ZERO[ctype], None))
        elif ctype == "ParseLoc":  # an unknown position (-1) is None in pglast's tree
            slots.append((*slot, _LOC, 0, None))
        elif ctype in _NUMBERS:
            slots.append((*slot, _SCALAR, 0, None))
        elif hasattr(enums, ctype):
            enum = getattr(enums, ctype)
            slots.append((*slot, _ENUM, enum(0) if _has_zero(enum) else None, enum))
        elif ctype.endswith("*") and isinstance(getattr(ast, ctype[:-1], None), type):
            slots.append((*slot, _TYPED, None, ctype[:-1]))
        else:
            raise Unknown(f"{name}.{key}: {ctype}")
    found = _SPECS[name] = (cls, tuple(slots))
    return found


def _has_zero(enum: Any) -> bool:
    try:
        enum(0)
    except ValueError:
        return False
    return True


#: A_Const's value, by its JSON key
_VALUES = {"ival": "Integer", "fval": "Float", "sval": "String", "boolval": "Boolean",
           "bsval": "BitString"}


def _node(name: str, fields: dict[str, Any]) -> Any:
    build = _BUILDERS.get(name)
    if build is None:
        build = _BUILDERS[name] = _builder(name)
    return build(fields)


#: per node class name: the function that builds one node of it from its JSON fields
_BUILDERS: dict[str, Any] = {}


def _builder(name: str) -> Any:
    """A function that builds a ``name`` node from its JSON fields: written out from the
    class's slot table once per class and process (one ``exec`` each, about fifty classes
    on a real schema), so a node costs one call with no per-slot dispatch. The generic
    loop this replaces spent most of a node's time deciding each slot's kind again."""
    cls, slots = _spec(name)
    env: dict[str, Any] = {"_new": _new, "_set": _set, "_cls": cls, "_wrapped": _wrapped,
                           "_list": _list, "_node": _node, "_value": _value,
                           "Unknown": Unknown}
    body = ["def build(fields):", "    obj = _new(_cls)", "    get = fields.get"]
    for i, (slot, key, kind, zero, extra) in enumerate(slots):
        env[f"z{i}"], env[f"e{i}"] = zero, extra
        body.append(f"    v = get({key!r})")
        if kind == _VALUE:  # a Value union: present as one of its member keys
            body.append(f"    if v is not None: raise Unknown({slot!r})")
            body.append(f"    _set(obj, {slot!r}, _value(fields))")
            continue
        made = {_SCALAR: "v", _LOC: "(None if v == -1 else v)", _NODE: "_wrapped(v)",
                _LIST: "_list(v)", _ENUM: f"e{i}[v]", _TYPED: f"_node(e{i}, v)"}[kind]
        body.append(f"    _set(obj, {slot!r}, z{i} if v is None else {made})")
    body.append("    return obj")
    exec("\n".join(body), env)  # the text is built above from pglast's slot tables
    return env["build"]


def _value(fields: dict[str, Any]) -> Any:
    """An ``A_Const``'s value, from whichever of its member keys the JSON holds."""
    for key, value_name in _VALUES.items():
        inner = fields.get(key)
        if inner is not None:
            return _node(value_name, inner)
    return None


def _wrapped(value: dict[str, Any]) -> Any:
    """A ``Node*`` field or list item: ``{"ClassName": {...fields}}``."""
    if len(value) != 1:
        raise Unknown(repr(value)[:80])
    (name, fields), = value.items()
    if name == "List":
        return _list(fields.get("items", ()))
    return _node(name, fields)


def _list(items: list[Any]) -> tuple[Any, ...]:
    return tuple([_wrapped(item) for item in items])


def parse_sql(text: str) -> tuple[Any, ...]:
    """What ``pglast.parser.parse_sql(text)`` returns (a tuple of ``RawStmt``), built
    from the JSON form when ``text`` is ASCII; the same exceptions for bad SQL."""
    if not text.isascii():
        stmts: tuple[Any, ...] = _pglast_parse_sql(text)
        return stmts
    tree = json.loads(parse_sql_json(text))  # raises ParseError as parse_sql does
    try:
        return tuple([_node("RawStmt", raw) for raw in tree.get("stmts", ())])
    except (Unknown, KeyError, ValueError, TypeError, AttributeError):
        stmts = _pglast_parse_sql(text)
        return stmts
