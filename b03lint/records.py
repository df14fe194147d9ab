"""``@record``: what ``@dataclass(frozen=True, slots=True)`` makes, made at a fraction of its
start-up cost.

``dataclasses`` spends most of a class's definition in Python bookkeeping: a ``Field`` per
annotation checked against ``ClassVar``/``InitVar``/``KW_ONLY`` by regular expression, one
``exec`` per generated method, an ``inspect.signature`` for the docstring, and with
``slots=True`` the whole class built a second time. b03lint defines about a hundred such
classes on the path of every ``check`` (the operation vocabulary alone has fifty-five), and
that was a tenth of a pre-commit run (the per-field bookkeeping, not the class builds). :func:`record` makes the same class with one
``exec`` and no per-field checks (a slotted class is still built twice, as
``dataclasses`` does: the class statement makes it without slots): the same ``__init__``
(signature, defaults, keyword-only fields), ``__repr__`` text, ``__eq__``, ``__hash__``, frozen ``__setattr__``/``__delattr__``, ``__slots__``,
``__match_args__``, docstring, and real ``dataclasses.Field`` objects in
``__dataclass_fields__`` with the real ``__dataclass_params__``, so ``dataclasses.fields``,
``replace``, ``asdict``, ``is_dataclass`` and pickling see a dataclass.

It handles the shapes b03lint uses (plain annotations, defaults, ``field(default=...,
default_factory=..., repr=..., compare=..., hash=..., kw_only=...)``, ``ClassVar``
annotations, frozen or not, keyword-only or not, dataclass bases); for anything else
(``InitVar``, ``KW_ONLY``, ``__post_init__``, ``order``, ``init=False`` fields, a method it
would have to replace) it hands the class to ``dataclasses.dataclass`` unchanged. Type
checkers see ``dataclasses.dataclass`` itself (the ``TYPE_CHECKING`` branch of the
importing modules), and ``tests/test_records.py`` compares every record class of b03lint
with the class ``dataclasses`` makes from the same source (``B03LINT_PLAIN_DATACLASSES=1``).

The generated source is compiled through :data:`exec`, which :mod:`b03lint.codecache`
replaces with its cached compilation exactly as it does for ``dataclasses``.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from typing import Any

_MISSING = dataclasses.MISSING
_FIELD = dataclasses._FIELD  # type: ignore[attr-defined]
_FIELD_CLASSVAR = dataclasses._FIELD_CLASSVAR  # type: ignore[attr-defined]
_HAS_DEFAULT_FACTORY = dataclasses._HAS_DEFAULT_FACTORY  # type: ignore[attr-defined]
FrozenInstanceError = dataclasses.FrozenInstanceError
_recursive_repr = dataclasses._recursive_repr  # type: ignore[attr-defined]

#: the plain ``dataclasses.dataclass`` everywhere (the equivalence test sets it)
PLAIN = bool(os.environ.get("B03LINT_PLAIN_DATACLASSES"))

#: methods a record writes; a class defining one itself goes to ``dataclasses``
_WRITTEN = ("__init__", "__setattr__", "__delattr__", "__post_init__", "__getstate__",
            "__setstate__", "__slots__")
_PARAMS: dict[tuple[bool, bool], Any] = {}


def _params(frozen: bool, eq: bool) -> Any:
    """The ``__dataclass_params__`` ``dataclasses`` gives such a class (taken from one
    made by ``dataclasses`` itself, so that it is this Python's own kind of object)."""
    found = _PARAMS.get((frozen, eq))
    if found is None:
        probe: Any = dataclasses.dataclass(frozen=frozen, eq=eq)(type("probe", (), {}))
        found = _PARAMS[frozen, eq] = probe.__dataclass_params__
    return found


def _is_classvar(annotation: object) -> bool:
    if not isinstance(annotation, str):
        return False
    return annotation.startswith(("ClassVar", "typing.ClassVar"))


def record(cls: type | None = None, /, *, frozen: bool = False, slots: bool = False,
           kw_only: bool = False, eq: bool = True, **other: Any) -> Any:
    """``dataclasses.dataclass`` with the same arguments, fast for the shapes above."""

    def wrap(cls: type) -> type:
        made = None if PLAIN or other or not eq else _make(cls, frozen, kw_only, slots)
        if made is None:
            return dataclasses.dataclass(cls, frozen=frozen, slots=slots,
                                         kw_only=kw_only, eq=eq, **other)
        return made

    return wrap if cls is None else wrap(cls)


def _make(cls: type, frozen: bool, kw_only: bool, slots: bool) -> type | None:
    body = cls.__dict__
    if any(name in body for name in _WRITTEN) or ("__hash__" in body and body["__hash__"] is not None):
        return None
    #: every entry of ``__dataclass_fields__`` (ClassVar pseudo-fields too), in the order
    #: dataclasses keeps: the bases' (a redefinition stays in its place), then our own
    table: dict[str, Any] = {}
    inherited: set[str] = set()
    for base in cls.__mro__[-1:0:-1]:
        base_fields = base.__dict__.get("__dataclass_fields__")
        if base_fields is not None:
            params = base.__dict__.get("__dataclass_params__")
            if params is None or params.frozen != frozen:
                return None
            table.update(base_fields)
        inherited.update(base.__dict__.get("__slots__", ()))
    annotations: dict[str, Any] = body.get("__annotations__", {})
    for name, annotation in annotations.items():
        default = body.get(name, _MISSING)
        if _is_classvar(annotation):
            if isinstance(default, dataclasses.Field):
                return None
            f: Any = dataclasses.field(default=default)
            f.name, f.type = name, annotation
            f._field_type = _FIELD_CLASSVAR
            table[name] = f
            continue
        if not isinstance(annotation, str) or "InitVar" in annotation or "KW_ONLY" in annotation:
            return None
        if isinstance(default, dataclasses.Field):
            f = default
            if not f.init or f.metadata or isinstance(f.default, (list, dict, set)):
                return None
            if f.kw_only is _MISSING:
                f.kw_only = kw_only
        else:
            if isinstance(default, (list, dict, set)) or default.__class__.__hash__ is None:
                return None
            f = dataclasses.field(default=default, kw_only=kw_only)
        f.name, f.type = name, annotation
        f._field_type = _FIELD
        table[name] = f
    for name, value in body.items():
        if isinstance(value, dataclasses.Field) and name not in annotations:
            return None
    fields = {n: f for n, f in table.items() if f._field_type is _FIELD}
    every = list(fields.values())
    positional = [f for f in every if not f.kw_only]
    keyword = [f for f in every if f.kw_only]
    seen_default = False
    for f in positional:
        has = f.default is not _MISSING or f.default_factory is not _MISSING
        if seen_default and not has:
            return None  # dataclasses raises its own TypeError for this
        seen_default = seen_default or has

    names = [f.name for f in every]
    if slots:  # the class again, with slots (as dataclasses builds it: once more)
        namespace = {k: v for k, v in body.items() if k not in names
                     and k not in ("__dict__", "__weakref__")}
        namespace["__slots__"] = tuple(n for n in names if n not in inherited)
        made = type(cls)(cls.__name__, cls.__bases__, namespace)
        made.__qualname__ = cls.__qualname__
    else:  # this class, its defaults as class attributes (a factory's field: none)
        made = cls
        for name in annotations:
            f = table[name]
            if f._field_type is _FIELD and isinstance(body.get(name), dataclasses.Field):
                if f.default is _MISSING:
                    delattr(made, name)
                else:
                    setattr(made, name, f.default)
    made.__dataclass_fields__ = table  # type: ignore[attr-defined]
    made.__dataclass_params__ = _params(frozen, True)  # type: ignore[attr-defined]
    if "__match_args__" not in body:
        made.__match_args__ = tuple(f.name for f in positional)  # type: ignore[attr-defined,misc]

    scope: dict[str, Any] = {"__dataclass_builtins_object__": object, "_cls": made,
                             "FrozenInstanceError": FrozenInstanceError,
                             "__dataclass_HAS_DEFAULT_FACTORY__": _HAS_DEFAULT_FACTORY}
    args: list[str] = []
    lines: list[str] = []
    setter = "__dataclass_builtins_object__.__setattr__(self,{0!r},{1})" if frozen \
        else "self.{0}={1}"
    for f in positional + (["*"] if keyword else []) + keyword:
        if f == "*":
            args.append("*")
            continue
        assert isinstance(f, dataclasses.Field)
        if f.default_factory is not _MISSING:
            scope[f"__dataclass_dflt_{f.name}__"] = f.default_factory
            args.append(f"{f.name}:__dataclass_type_{f.name}__"
                          "=__dataclass_HAS_DEFAULT_FACTORY__")
            value = (f"__dataclass_dflt_{f.name}__() if {f.name} is "
                     f"__dataclass_HAS_DEFAULT_FACTORY__ else {f.name}")
        else:
            if f.default is not _MISSING:
                scope[f"__dataclass_dflt_{f.name}__"] = f.default
                args.append(f"{f.name}:__dataclass_type_{f.name}__"
                              f"=__dataclass_dflt_{f.name}__")
            else:
                args.append(f"{f.name}:__dataclass_type_{f.name}__")
            value = f.name
        scope[f"__dataclass_type_{f.name}__"] = f.type
        lines.append("  " + setter.format(f.name, value))
    shown = [f.name for f in every if f.repr]
    compared = [f"self.{f.name}," for f in every if f.compare]
    other = [f"other.{f.name}," for f in every if f.compare]
    hashed = [f"self.{f.name}," for f in every
              if (f.compare if f.hash is None else f.hash)]
    field_names = "(" + ",".join(repr(n) for n in names) + ",)" if names else "()"
    source = [
        f"def __init__(self,{','.join(args)}):",
        *(lines or ["  pass"]),
        "def __repr__(self):",
        "  return self.__class__.__qualname__ + f\"("
        + ", ".join(f"{n}={{self.{n}!r}}" for n in shown) + ")\"",
        "def __eq__(self,other):",
        "  if other.__class__ is self.__class__:",
        f"    return ({''.join(compared)})==({''.join(other)})",
        "  return NotImplemented",
    ]
    if frozen:
        source += [
            "def __hash__(self):",
            f"  return hash(({''.join(hashed)}))",
            "def __setattr__(self,name,value):",
            f"  if type(self) is _cls or name in {field_names}:",
            "    raise FrozenInstanceError(f\"cannot assign to field {name!r}\")",
            "  super(_cls, self).__setattr__(name, value)",
            "def __delattr__(self,name):",
            f"  if type(self) is _cls or name in {field_names}:",
            "    raise FrozenInstanceError(f\"cannot delete field {name!r}\")",
            "  super(_cls, self).__delattr__(name)",
        ]
    exec("\n".join(source), scope)
    init = scope["__init__"]
    init.__annotations__ = {**{f.name: f.type for f in every}, "return": None}
    methods = ["__init__", "__repr__", "__eq__"]
    if frozen:
        methods += ["__hash__", "__setattr__", "__delattr__"]
    if frozen and slots:
        made.__getstate__ = dataclasses._dataclass_getstate  # type: ignore[attr-defined]
        made.__setstate__ = dataclasses._dataclass_setstate  # type: ignore[attr-defined]
    if not frozen:
        made.__hash__ = None  # type: ignore[assignment]
    for name in methods:
        if name in ("__repr__", "__eq__") and name in body:
            continue
        fn = scope[name]
        fn.__qualname__ = f"{made.__qualname__}.{name}"
        if name == "__repr__":
            fn = _recursive_repr(fn)
        setattr(made, name, fn)
    if not made.__doc__:
        made.__doc__ = made.__name__ + _signature_text(positional, keyword)
    abc = sys.modules.get("abc")
    if abc is not None and isinstance(made, abc.ABCMeta):
        abc.update_abstractmethods(made)
    return made


def _signature_text(positional: list[Any], keyword: list[Any]) -> str:
    """``str(inspect.signature(cls))`` without ``-> None``, as ``dataclasses`` writes it."""
    parts: list[str] = []

    def one(f: Any) -> str:
        text = f"{f.name}: {f.type!r}"
        if f.default_factory is not _MISSING:
            return text + " = <factory>"
        if f.default is not _MISSING:
            return text + f" = {f.default!r}"
        return text

    parts = [one(f) for f in positional]
    if keyword:
        parts += ["*", *[one(f) for f in keyword]]
    return "(" + ", ".join(parts) + ")"
