"""Python rules from outside b03lint: the modules named by ``rule_modules`` and the rule
packs installed under the entry-point group ``b03lint.rules``.

Both are imported only when a registry is built for a run (``check``, ``rules``,
``rule``), never when ``b03lint`` itself is imported. What a module or an entry point
gives is turned into rule classes the same way:

- a module: its ``RULES`` sequence when it has one, else every :class:`Rule` subclass
  defined in it that has a ``code``;
- a :class:`Rule` subclass;
- a list or tuple of :class:`Rule` subclasses (``"pack.rules:RULES"``);
- a function without arguments returning one of those.

Anything else, or an import that fails, is a :class:`RegistryError` naming the module or
the entry point and its distribution.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from b03lint.rules.base import RegistryError, Rule

#: the entry-point group rule packs register under
ENTRY_POINT_GROUP = "b03lint.rules"


def rules_from_object(obj: Any, origin: str, *, _depth: int = 0) -> list[type[Rule]]:
    """The rule classes ``obj`` stands for (see the module docstring)."""
    if isinstance(obj, ModuleType):
        declared = getattr(obj, "RULES", None)
        if declared is not None:
            return rules_from_object(declared, f"{origin} (RULES)", _depth=_depth)
        found = [value for value in vars(obj).values()
                 if inspect.isclass(value) and issubclass(value, Rule) and value is not Rule
                 and value.__module__ == obj.__name__ and value.code]
        if not found:
            raise RegistryError(f"{origin}: module {obj.__name__} defines no rule (no RULES and "
                                "no Rule subclass with a code)")
        return sorted(found, key=lambda r: r.code)
    if inspect.isclass(obj):
        if issubclass(obj, Rule):
            return [obj]
        raise RegistryError(f"{origin}: {obj.__module__}.{obj.__qualname__} is not a subclass "
                            "of b03lint.rules.base.Rule")
    if isinstance(obj, list | tuple):
        out: list[type[Rule]] = []
        for item in obj:
            if not (inspect.isclass(item) and issubclass(item, Rule)):
                raise RegistryError(f"{origin}: {item!r} is not a subclass of "
                                    "b03lint.rules.base.Rule")
            out.append(item)
        return out
    if callable(obj) and _depth == 0:
        try:
            made = obj()
        except Exception as exc:
            raise RegistryError(f"{origin}: calling {getattr(obj, '__name__', obj)!r} failed: "
                                f"{type(exc).__name__}: {exc}") from None
        return rules_from_object(made, origin, _depth=1)
    raise RegistryError(f"{origin}: expected a module, a Rule subclass or a list of them, "
                        f"got {type(obj).__name__}")


def _import_failure(what: str, exc: BaseException) -> RegistryError:
    import traceback  # only for a failing rule module

    last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" ({last[0].filename}:{last[0].lineno})" if last else ""
    return RegistryError(f"cannot import {what}: {type(exc).__name__}: {exc}{where}")


def _import_path(path: Path, shown: str) -> ModuleType:
    """Import a rule module given as a ``.py`` file path."""
    if not path.is_file():
        raise RegistryError(f"rule module file {shown} not found")
    name = "b03lint_rules_" + "_".join(path.with_suffix("").parts[-3:]).replace("-", "_")
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise RegistryError(f"cannot import rule module file {shown}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(name, None)
        raise _import_failure(f"rule module file {shown}", exc) from None
    return module


def load_rule_modules(names: list[str], root: Path) -> list[tuple[type[Rule], str]]:
    """Import each ``rule_modules`` entry: a dotted module path (found on ``sys.path``,
    with the project root tried first) or a ``.py`` file path relative to the root."""
    out: list[tuple[type[Rule], str]] = []
    for name in names:
        origin = f"rule module {name}"
        if name.endswith(".py") or "/" in name or "\\" in name:
            path = Path(name) if Path(name).is_absolute() else root / name
            module = _import_path(path, name)
        else:
            added = str(root) not in sys.path
            if added:
                sys.path.insert(0, str(root))
            try:
                module = importlib.import_module(name)
            except Exception as exc:
                raise _import_failure(f"rule module {name!r} (from rule_modules)", exc) from None
            finally:
                if added:
                    sys.path.remove(str(root))
        out.extend((rule, origin) for rule in rules_from_object(module, origin))
    return out


def _group_may_exist(group: str) -> bool:
    """Whether any installed distribution may declare ``group``: a plain read of the
    ``entry_points.txt`` files on ``sys.path`` (about 1 ms), so that a run without rule
    packs never pays for ``importlib.metadata`` (about 12 ms). Path entries that are not
    folders (zip archives) are not scanned: then the answer is "maybe"."""
    import os

    needle = f"[{group}]"
    for entry in sys.path:
        folder = entry or "."
        if not os.path.isdir(folder):
            if os.path.exists(folder):
                return True  # a zip archive or similar: let importlib.metadata look
            continue
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            if name.endswith((".dist-info", ".egg-info")):
                try:
                    with open(os.path.join(folder, name, "entry_points.txt"),
                              encoding="utf-8", errors="replace") as fh:
                        if needle in fh.read():
                            return True
                except OSError:
                    continue
    return False


def load_entry_point_rules(group: str = ENTRY_POINT_GROUP) -> list[tuple[type[Rule], str]]:
    """Load every installed entry point of ``group``, in a stable order."""
    if not _group_may_exist(group):
        return []
    from importlib.metadata import entry_points

    out: list[tuple[type[Rule], str]] = []
    found = sorted(entry_points(group=group), key=lambda ep: (ep.name, ep.value))
    for ep in found:
        dist = getattr(ep, "dist", None)
        dist_name = f" of {dist.name} {dist.version}" if dist is not None else ""
        origin = f"entry point {ep.name} = {ep.value}{dist_name} (group {group})"
        try:
            obj = ep.load()
        except Exception as exc:
            raise _import_failure(origin, exc) from None
        out.extend((rule, origin) for rule in rules_from_object(obj, origin))
    return out
