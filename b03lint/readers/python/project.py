"""Names a migration imports from the project's own modules, read statically.

``from myapp.db.types import TZDateTime`` names a module of the repository: its source is
found below the project's folders (the migration's own folder and each one above it up to
the project root, and ``<root>/src``) and read like a migration's module level (never
imported or run): constants get their static values, functions are inlined like the
migration's own (their operations sit at the call in the migration, the line in the
module related), classes are known by their definition, so a ``TypeDecorator`` subclass
gives the type of its ``impl``. A name the module does not define statically, a module that
cannot be found or read, stays what it was: an imported name not known statically.

Every module read is recorded (path and sha256) in ``MigrationFile.sources``: the cache
reads a migration again when one of them changed. Bounded: modules of at most
:data:`MODULE_SIZE_LIMIT` bytes, :data:`MODULES_LIMIT` per run, imports of imports followed
:data:`IMPORT_DEPTH_LIMIT` deep.
"""

from __future__ import annotations

import ast
import hashlib
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from b03lint.readers.python.source import Source
from b03lint.readers.python.values import Env, Func, ModuleName, bind_import

#: larger modules are not read
MODULE_SIZE_LIMIT = 1_000_000
#: modules read per run at most
MODULES_LIMIT = 200
#: a project module's own imports of project modules are followed this deep
IMPORT_DEPTH_LIMIT = 3

#: top-level packages that are libraries, never looked for in the project
_LIBRARIES = frozenset({
    "alembic", "sqlalchemy", "builtins", "logging", "os", "sys", "re", "json", "datetime",
    "uuid", "enum", "typing", "textwrap", "inspect", "collections", "functools",
    "itertools", "decimal", "pathlib", "dataclasses", "typing_extensions", "alembic_utils",
    "alembic_postgresql_enum", "psycopg", "psycopg2", "time", "math", "string", "hashlib",
})


@dataclass(slots=True)
class Module:
    """One project module, read: its source and the names it binds at its top level."""

    path: Path
    digest: str
    src: Source
    env: Env
    #: the project modules it imports names from (read too)
    uses: list[Module] = field(default_factory=list)


class ProjectModules:
    """The project's modules a run reads, found below ``roots`` and read once each."""

    def __init__(self, roots: Sequence[Path]) -> None:
        self.roots = tuple(dict.fromkeys(r for r in roots if r.is_dir()))
        self._read: dict[str, Module | None] = {}
        #: the search roots of each folder of migrations (resolving paths costs a system
        #: call per path component; a chain has few folders and many files)
        self._roots: dict[tuple[Path, Path | None], tuple[Path, ...]] = {}

    def find(self, dotted: str, extra: Sequence[Path] = ()) -> Path | None:
        parts = dotted.split(".")
        if not all(p.isidentifier() for p in parts) or parts[0] in _LIBRARIES:
            return None
        for root in (*extra, *self.roots):
            base = root.joinpath(*parts)
            for candidate in (base.with_suffix(".py"), base / "__init__.py"):
                if candidate.is_file():
                    return candidate
        return None

    def module(self, dotted: str, extra: Sequence[Path] = (), depth: int = 0) -> Module | None:
        """The module ``dotted`` read statically, or None when it is not the project's (or
        cannot be read within the limits)."""
        if dotted in self._read:
            return self._read[dotted]
        self._read[dotted] = None  # a module importing itself: not again
        path = self.find(dotted, extra)
        if path is None or len(self._read) > MODULES_LIMIT or depth > IMPORT_DEPTH_LIMIT:
            return None
        try:
            data = path.read_bytes()
            if len(data) > MODULE_SIZE_LIMIT:
                return None
            text = data.decode("utf-8-sig")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tree = ast.parse(text, filename=str(path))
        except (OSError, UnicodeDecodeError, SyntaxError, ValueError, RecursionError,
                MemoryError):
            return None
        found = Module(path, hashlib.sha256(data).hexdigest(), Source(text, str(path)), Env())
        self._read[dotted] = found
        self._bind(found, tree, extra, depth)
        return found

    def _bind(self, module: Module, tree: ast.Module, extra: Sequence[Path],
              depth: int) -> None:
        """Bind what the module's top level defines; values are evaluated later, lazily,
        by whoever reads them (see :meth:`value_of`)."""
        from b03lint.readers.python.evaluator import Evaluator

        env = module.env
        ev = Evaluator(module.src, len(module.src.text))
        for stmt in tree.body:
            if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                bind_import(stmt, env)
            elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                env.vars[stmt.name] = Func(stmt.name, node=stmt, env=env, src=module.src)
            elif isinstance(stmt, ast.ClassDef):
                env.vars[stmt.name] = Func(stmt.name, is_class=True, node=stmt, env=env,
                                           src=module.src)
            elif isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(
                    stmt.targets[0], ast.Name):
                env.vars[stmt.targets[0].id] = ev.value(stmt.value, env)
            elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) \
                    and stmt.value is not None:
                env.vars[stmt.target.id] = ev.value(stmt.value, env)
        for name, value in list(env.vars.items()):  # names imported from other project modules
            if isinstance(value, ModuleName):
                owner, resolved = self._lookup(value.qual, extra, depth + 1)
                if owner is not None and resolved is not None:
                    env.vars[name] = resolved
                    module.uses.append(owner)

    def _lookup(self, qual: str, extra: Sequence[Path] = (),
                depth: int = 0) -> tuple[Module | None, object | None]:
        """The module defining ``package.module.name`` and the name's value there."""
        module_name, _, name = qual.rpartition(".")
        if not module_name or module_name.split(".", 1)[0] in _LIBRARIES:
            return None, None
        found = self.module(module_name, extra, depth)
        if found is None or name not in found.env.vars:
            return None, None
        return found, found.env.vars[name]

    def for_file(self, origin: Path | None, root: Path | None) -> FileModules:
        """The lookups of one migration file (its own folders searched first)."""
        if not origin:
            return FileModules(self, ())
        if origin.is_symlink():  # its folder is the link target's
            return FileModules(self, tuple(roots_for(origin, root)))
        key = (origin.parent, root)
        roots = self._roots.get(key)
        if roots is None:
            roots = self._roots[key] = tuple(roots_for(origin, root))
        return FileModules(self, roots)


class FileModules:
    """What one migration reads from the project: lookups, and the modules they read."""

    def __init__(self, project: ProjectModules, extra: tuple[Path, ...]) -> None:
        self.project = project
        self.extra = extra
        self._used: dict[Path, Module] = {}

    def lookup(self, qual: str) -> object | None:
        module, value = self.project._lookup(qual, self.extra)
        if module is None:
            return None
        stack = [module]
        while stack:  # the modules it imports from count too
            current = stack.pop()
            if current.path not in self._used:
                self._used[current.path] = current
                stack.extend(current.uses)
        return value

    def sources(self) -> list[tuple[str, str]]:
        """(path, sha256) of every project module this file's reading used."""
        return sorted((str(m.path), m.digest) for m in self._used.values())


def roots_for(origin: Path | None, root: Path | None) -> list[Path]:
    """Where a migration at ``origin`` finds project modules: its folder and each one
    above it up to ``root`` (the project root), then ``root/src``."""
    found: list[Path] = []
    if origin is not None:
        folder = origin.resolve().parent
        stop = root.resolve() if root is not None else None
        while True:
            found.append(folder)
            if stop is None or folder == stop or folder.parent == folder \
                    or stop not in folder.parents:
                break
            folder = folder.parent
    if root is not None:
        found += [root, root / "src"]
    return found
