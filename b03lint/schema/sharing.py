"""One object per distinct string in a value that is computed once and kept: the canonical
schema, which the parse cache pickles and every run unpickles.

Reading SQL creates a new string for every occurrence of a name (``tenant_id``, ``btree``,
``timestamptz``...): the canonical schema of the 20,000-revision benchmark chain held
269,358 strings of 66,579 distinct values, 12 MB of duplicates. Pickling keeps each object
once, so after :func:`share_strings` the pickled entry is smaller, unpickling creates fewer
objects, and the loaded schema is smaller in memory. Only the identity of equal strings
changes: every value compares, hashes and prints as before.

Equal :class:`~b03lint.schema.model.Origin` records (immutable: where a fact was read) are
made one object too: the same statement is the origin of its table, each column and each
constraint (77,222 origins, 33,337 distinct), and each one pickled is one more object to
rebuild when the cache is read.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from b03lint.schema.model import Origin

T = TypeVar("T")
#: immutable records shared by value (their identity is never relied on)
_BY_VALUE: tuple[type, ...] = (Origin,)

_MISSING = object()
_ATOMS = (int, float, bool, bytes, type(None))
#: class -> the attributes walked (None: a class left as it is)
_FIELDS: dict[type, tuple[str, ...] | None] = {}


def _fields(cls: type) -> tuple[str, ...] | None:
    """A dataclass's fields; the slots of one of b03lint's own slotted classes."""
    try:
        return _FIELDS[cls]
    except KeyError:
        pass
    names: tuple[str, ...] | None = None
    if dataclasses.is_dataclass(cls):
        names = tuple(f.name for f in dataclasses.fields(cls))
    elif cls.__module__.startswith("b03lint.") and "__dict__" not in dir(cls):
        slots = [getattr(c, "__slots__", ()) for c in reversed(cls.__mro__)]
        names = tuple(dict.fromkeys(n for group in slots
                                    for n in ((group,) if isinstance(group, str) else group)
                                    if n != "__weakref__"))
    _FIELDS[cls] = names
    return names


def share_strings(value: T) -> T:
    """``value`` with equal strings made one object, in place where it can be (dataclass
    fields, lists, dicts and sets are updated; tuples and frozensets are rebuilt and put
    back in their place). Objects shared before stay shared; objects of other types are
    left alone."""
    strings: dict[str, str] = {}
    records: dict[Any, Any] = {}
    done: dict[int, Any] = {}
    alive: list[Any] = []  # the objects walked, so that no id is reused meanwhile

    def walk(obj: Any) -> Any:
        kind = type(obj)
        if kind is str:
            return strings.setdefault(obj, obj)
        if kind in _ATOMS:
            return obj
        key = id(obj)
        if key in done:
            return done[key]
        alive.append(obj)
        result = obj
        if kind is tuple:
            items = tuple(walk(x) for x in obj)
            if any(a is not b for a, b in zip(items, obj, strict=True)):
                result = items
        elif kind is frozenset:
            result = frozenset(walk(x) for x in obj)
        elif kind is list:
            done[key] = obj
            obj[:] = [walk(x) for x in obj]
        elif kind is dict:
            done[key] = obj
            pairs = [(walk(k), walk(v)) for k, v in obj.items()]
            obj.clear()
            obj.update(pairs)
        elif kind is set:
            done[key] = obj
            members = [walk(x) for x in obj]
            obj.clear()
            obj.update(members)
        else:
            names = _fields(kind)
            if names is not None:
                done[key] = obj
                for name in names:
                    old = getattr(obj, name, _MISSING)
                    if old is _MISSING:
                        continue
                    new = walk(old)
                    if new is not old:
                        object.__setattr__(obj, name, new)  # frozen ones too: still ours
                if kind in _BY_VALUE:
                    result = records.setdefault(obj, obj)
        done[key] = result
        return result

    out: T = walk(value)
    return out
