"""``@record`` makes exactly the class ``@dataclass`` makes: every record class of b03lint is
described here (its fields, signature, docstring, slots, match args, params) and exercised
(repr, equality, hash, ``replace``, pickling, assignment), once as ``record`` makes it and
once, in a fresh interpreter with ``B03LINT_PLAIN_DATACLASSES=1``, as ``dataclasses`` does;
the two descriptions must be equal."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

DESCRIBE = r'''
import dataclasses, importlib, inspect, json, pickle, sys
from pathlib import Path

import b03lint.records as records

root = Path(sys.argv[1])
modules = sorted(
    ".".join(p.relative_to(root).with_suffix("").parts)
    for p in (root / "b03lint").rglob("*.py")
    if "from b03lint.records import record" in p.read_text())
out = {"plain": records.PLAIN, "modules": modules, "classes": {}}


def sample(f, i):
    # a distinct hashable value per field (the annotation does not matter at run time)
    return ("v", f.name, i)


def outcome(call):
    try:
        return ["ok", repr(call())]
    except Exception as exc:  # the kind and text of the error are part of the behaviour
        return [type(exc).__name__, str(exc)]


for name in modules:
    module = importlib.import_module(name)
    for attr, cls in sorted(vars(module).items()):
        if not (isinstance(cls, type) and cls.__module__ == name
                and "__dataclass_fields__" in cls.__dict__):
            continue
        fields = cls.__dict__["__dataclass_fields__"]
        d = {
            "doc": cls.__doc__,
            "signature": str(inspect.signature(cls)),
            "init_annotations": repr(cls.__init__.__annotations__),
            "slots": repr(cls.__dict__.get("__slots__")),
            "match_args": repr(getattr(cls, "__match_args__", None)),
            "params": repr(cls.__dataclass_params__),
            "mro": [c.__qualname__ for c in cls.__mro__],
            "hash_is_none": cls.__hash__ is None,
            "own": sorted(k for k in cls.__dict__ if k not in ("__init__", "__repr__",
                          "__eq__", "__hash__", "__setattr__", "__delattr__",
                          "__getstate__", "__setstate__", "__doc__", "__module__",
                          "__annotations__", "__dataclass_fields__", "__dataclass_params__",
                          "__match_args__", "__slots__", "__qualname__")),
            "class_attrs": {k: repr(cls.__dict__[k]) for k in sorted(cls.__dict__)
                            if k in fields},
            "fields": [[f.name, repr(f.type), repr(f.default), repr(f.default_factory),
                        f.init, f.repr, f.hash, f.compare, repr(f.kw_only),
                        repr(f._field_type)] for f in fields.values()],
            "methods": sorted(m for m in ("__init__", "__repr__", "__eq__", "__hash__",
                                          "__setattr__", "__delattr__", "__getstate__",
                                          "__setstate__") if m in cls.__dict__),
        }
        if not inspect.isabstract(cls):
            kw = {f.name: sample(f, i) for i, f in enumerate(dataclasses.fields(cls))
                  if f.default is dataclasses.MISSING
                  and f.default_factory is dataclasses.MISSING}
            obj = cls(**kw)
            twin = cls(**kw)
            first = dataclasses.fields(cls)[0].name if dataclasses.fields(cls) else None
            d["instance"] = {
                "repr": repr(obj),
                "eq": obj == twin, "ne": obj != twin, "eq_other": obj == object(),
                "hash": outcome(lambda: hash(obj) == hash(twin)),
                # what dataclasses hashes (hash(None) is not stable across processes)
                "hash_value": outcome(lambda: hash(obj) == hash(tuple(
                    getattr(obj, f.name) for f in dataclasses.fields(cls)
                    if (f.compare if f.hash is None else f.hash)))),
                "replace": outcome(lambda: dataclasses.replace(obj)),
                "asdict": outcome(lambda: dataclasses.asdict(obj)),
                "pickle": outcome(lambda: pickle.loads(pickle.dumps(obj)) == obj),
                "getstate": outcome(lambda: obj.__getstate__()),
                "set_field": outcome(lambda: setattr(obj, first, 1)) if first else None,
                "del_field": outcome(lambda: delattr(twin, first)) if first else None,
                "positional": outcome(lambda: cls(*kw.values())),
                "missing": outcome(lambda: cls()) if kw else None,
                "unknown": outcome(lambda: cls(**kw, no_such_field=1)),
            }
        out["classes"][f"{name}.{attr}"] = d
json.dump(out, sys.stdout, indent=1, sort_keys=True)
'''


def _describe(plain: bool, cache: Path) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if k != "B03LINT_PLAIN_DATACLASSES"}
    env["XDG_CACHE_HOME"] = str(cache)  # not the user's code cache
    env["PYTHONHASHSEED"] = "0"  # hash values compared across the two processes
    if plain:
        env["B03LINT_PLAIN_DATACLASSES"] = "1"
    done = subprocess.run([sys.executable, "-c", DESCRIBE, str(REPO)], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    # object addresses differ between processes
    data: dict[str, object] = json.loads(re.sub(r" at 0x[0-9a-f]+", "", done.stdout))
    return data


def test_record_classes_are_the_dataclasses_they_replace(tmp_path: Path) -> None:
    fast, plain = _describe(False, tmp_path), _describe(True, tmp_path)
    assert fast.pop("plain") is False and plain.pop("plain") is True
    classes = fast["classes"]
    assert isinstance(classes, dict)
    assert "b03lint.operations" in fast["modules"]  # type: ignore[operator]
    assert len(classes) > 100
    assert fast["modules"] == plain["modules"]
    theirs = plain["classes"]
    assert isinstance(theirs, dict)
    assert sorted(classes) == sorted(theirs)
    for name in classes:
        assert classes[name] == theirs[name], name


def test_record_falls_back_for_what_it_does_not_make() -> None:
    """Shapes ``record`` leaves to ``dataclasses``: still dataclasses, still correct."""
    import dataclasses

    from b03lint.records import record

    @record(frozen=True, slots=True)
    class WithPost:
        x: int

        def __post_init__(self) -> None:
            pass

    @record(frozen=True, slots=True, order=True)
    class Ordered:
        x: int

    assert dataclasses.is_dataclass(WithPost) and WithPost(1) == WithPost(1)
    assert Ordered(1) < Ordered(2)
