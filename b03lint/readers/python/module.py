"""The module level of a revision file: imports and constants bound in the module's
scope, the revision metadata (``revision``, ``down_revision``, ``branch_labels``,
``depends_on``), the docstring's first line, which ``upgrade`` / ``downgrade`` Alembic
would call, and calls at module level (they run when the file is imported: reported,
never replayed)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from contextlib import contextmanager

from b03lint.operations import Diagnostic, Location, MigrationFile, Operation, Phase, Unresolved
from b03lint.readers.python.evaluator import Evaluator
from b03lint.readers.python.interpreter import Interpreter
from b03lint.readers.python.source import Source
from b03lint.readers.python.text import Text
from b03lint.readers.python.values import Env, Func, Seq, bind, bind_import


class ModuleReader:
    """Reads one module's top level into its :class:`MigrationFile`."""

    def __init__(self, mf: MigrationFile, ev: Evaluator, interp: Interpreter,
                 src: Source) -> None:
        self.mf = mf
        self.path = src.path
        self.ev = ev
        self.interp = interp
        self.src = src
        self.module_env = interp.module_env

    def read(self, tree: ast.Module) -> None:
        mf = self.mf
        env = self.module_env
        mf.message = first_line(ast.get_docstring(tree, clean=False))
        functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
        meta: dict[str, tuple[ast.expr, ast.stmt]] = {}
        #: the statement that last binds `upgrade` / `downgrade` (Python keeps the last)
        bound: dict[str, ast.stmt] = {}
        module_ops: list[Operation] = []
        for stmt in tree.body:
            for name in binds(stmt, ("upgrade", "downgrade")):
                bound[name] = stmt
            if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                bind_import(stmt, env)
            elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                env.vars[stmt.name] = Func(stmt.name, node=stmt, env=env)
                if stmt.name in ("upgrade", "downgrade"):
                    functions[stmt.name] = stmt
            elif isinstance(stmt, ast.ClassDef):
                env.vars[stmt.name] = Func(stmt.name, is_class=True, node=stmt, env=env)
            elif isinstance(stmt, (ast.Assign, ast.AnnAssign)):
                with self._at_module_level(stmt, module_ops):
                    for name, value in self._assignment_pairs(stmt):
                        if name in ("revision", "down_revision", "branch_labels",
                                    "depends_on"):
                            meta[name] = (value, stmt)
                        env.vars[name] = self.ev.value(value, env)
                    if isinstance(stmt, ast.Assign):
                        self._bind_unpacking(stmt, env)
            elif isinstance(stmt, ast.Expr) and not isinstance(stmt.value, ast.Constant):
                with self._at_module_level(stmt, module_ops) as scratch:
                    self.interp.expression(stmt.value, self.module_env, "module", scratch)
        self._read_metadata(meta, module_ops,
                            has_functions=bool({"upgrade", "downgrade"} & set(bound)))
        for name in ("upgrade", "downgrade"):
            func = functions.get(name)
            last = bound.get(name)
            if last is not None and last is not func:
                # `upgrade = _impl`, a def inside `if`/`try`, an import: what Alembic would
                # call is not a function this reader can see
                functions.pop(name, None)
                module_ops.append(Unresolved(
                    loc=self.src.loc(last), phase="module", via=name,
                    reason=f"`{name}` is not defined by a plain top-level `def`: the "
                           "operations it performs are not read",
                    snippet=self.src.snippet(last)))
        mf.upgrade_ops.extend(module_ops)
        for name, out in (("upgrade", mf.upgrade_ops), ("downgrade", mf.downgrade_ops)):
            func = functions.get(name)
            if func is None:
                continue
            if name == "upgrade":
                mf.has_upgrade = True
            else:
                mf.has_downgrade = True
            phase: Phase = "upgrade" if name == "upgrade" else "downgrade"
            self.interp.read_function(func, phase, out)

    @contextmanager
    def _at_module_level(self, stmt: ast.stmt,
                         module_ops: list[Operation]) -> Iterator[list[Operation]]:
        """A statement at module level runs when Alembic imports the file, outside
        ``upgrade()``: whatever its calls would do to the schema is reported, never
        replayed."""
        scratch: list[Operation] = []
        try:
            with self.interp.performing("module", scratch):
                yield scratch
        except RecursionError:
            scratch.append(Unresolved(loc=self.src.loc(stmt), phase="module",
                                      reason="statement too deeply nested to read"))
        for op in scratch:
            if isinstance(op, Unresolved):
                module_ops.append(op)
            else:
                module_ops.append(Unresolved(
                    loc=op.loc, phase="module", via=op.via, table=op.table_name,
                    reason=f"{op.describe()} at module level runs when the file is imported, "
                           "outside upgrade(): it is not part of the replayed chain",
                    snippet=self.src.snippet(stmt)))

    def _assignment_pairs(self, stmt: ast.Assign | ast.AnnAssign) -> list[tuple[str, ast.expr]]:
        if isinstance(stmt, ast.AnnAssign):
            if isinstance(stmt.target, ast.Name) and stmt.value is not None:
                return [(stmt.target.id, stmt.value)]
            return []
        pairs: list[tuple[str, ast.expr]] = []
        for target in stmt.targets:
            if isinstance(target, ast.Name):
                pairs.append((target.id, stmt.value))
            elif (
                isinstance(target, (ast.Tuple, ast.List))
                and isinstance(stmt.value, (ast.Tuple, ast.List))
                and len(target.elts) == len(stmt.value.elts)
            ):
                for t, v in zip(target.elts, stmt.value.elts, strict=True):
                    if isinstance(t, ast.Name):
                        pairs.append((t.id, v))
        return pairs

    def _bind_unpacking(self, stmt: ast.Assign, env: Env) -> None:
        """``a, b = SOME_PAIR`` where the value is not a literal tuple of the same shape."""
        for target in stmt.targets:
            if isinstance(target, (ast.Tuple, ast.List)) and not (
                isinstance(stmt.value, (ast.Tuple, ast.List))
                and len(stmt.value.elts) == len(target.elts)
            ):
                bind(target, self.ev.value(stmt.value, env), env)


    def _read_metadata(
        self, meta: dict[str, tuple[ast.expr, ast.stmt]], module_ops: list[Operation],
        has_functions: bool = True,
    ) -> None:
        mf = self.mf
        if not meta and not has_functions:
            # a helper module or a leftover in a version folder, not a revision
            mf.diagnostics.append(
                Diagnostic(
                    code="I006",
                    message="file in a version folder has no `revision`, `down_revision`, "
                    "`upgrade()` or `downgrade()`: it is not read as a revision (Alembic "
                    "loads every `.py` file there and stops on one without `revision`)",
                    loc=Location(self.path, 1),
                    severity="info",
                )
            )
        elif "revision" not in meta:
            mf.diagnostics.append(
                Diagnostic(
                    code="I005",
                    message="migration has no `revision` identifier",
                    loc=Location(self.path, 1),
                    severity="blocking",
                )
            )
        for name in ("revision", "down_revision", "branch_labels", "depends_on"):
            if name not in meta:
                continue
            value_node, stmt = meta[name]
            value = self.ev.value(value_node, self.module_env)
            loc = self.src.loc(stmt)
            if name == "revision":
                mf.revision_loc = loc
                if isinstance(value, Text):
                    mf.revision = value.text
                    continue
                if value is None:
                    mf.diagnostics.append(
                        Diagnostic(
                            code="I005",
                            message="migration has no `revision` identifier (it is None)",
                            loc=loc,
                        )
                    )
                    continue
                # known only at run time: the file cannot be placed in the chain, so the
                # chain-wide checks would silently run without it
                mf.diagnostics.append(
                    Diagnostic(
                        code="I005",
                        message="migration has no literal `revision` identifier: the file "
                        "cannot be placed in the chain, which is checked without it",
                        loc=loc,
                    )
                )
            else:
                ids = self._id_tuple(value)
                if name == "down_revision":
                    mf.down_revision_loc = loc
                    mf.down_revisions = ids
                elif ids is not None:
                    if name == "branch_labels":
                        mf.branch_labels = ids
                    else:
                        mf.depends_on = ids
                if ids is not None:
                    continue
            module_ops.append(
                Unresolved(
                    loc=loc,
                    phase="module",
                    via=name,
                    reason=f"`{name}` is not a literal: its value is only known at run time",
                    snippet=self.src.snippet(stmt),
                )
            )

    @staticmethod
    def _id_tuple(value: object) -> tuple[str, ...] | None:
        if value is None:
            return ()
        if isinstance(value, Text):
            return (value.text,)
        if isinstance(value, Seq):
            ids: list[str] = []
            for item in value.items:
                if not isinstance(item, Text):
                    return None
                ids.append(item.text)
            return tuple(ids)
        return None


def first_line(doc: str | None) -> str | None:
    """The first line of text of a docstring, as ``inspect.cleandoc`` would give it (tabs
    expanded, the line stripped), without cleaning the whole docstring (``cleandoc`` was
    2 % of reading a migration, for one line)."""
    if not doc:
        return None
    text = doc.expandtabs().strip()
    return text.splitlines()[0].strip() or None if text else None


def binds(stmt: ast.stmt, names: tuple[str, ...]) -> list[str]:
    """Which of ``names`` a module-level statement binds in the module's namespace: a
    ``def`` or class (also inside an ``if``/``try``/``with``/loop), an assignment target,
    an import alias. Function and class bodies are their own scopes and are not entered.

    The statements every revision has (its imports, ``def``s, docstring and ``revision =
    "..."`` lines) are answered without walking them: the walk was 10 % of reading a
    migration."""
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [stmt.name] if stmt.name in names else []
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        bound = {a.asname or a.name.split(".")[0] for a in stmt.names}
        return [name for name in names if name in bound]
    if isinstance(stmt, (ast.Assign, ast.Expr)) and isinstance(stmt.value, ast.Constant):
        targets = stmt.targets if isinstance(stmt, ast.Assign) else []
        if all(isinstance(t, ast.Name) for t in targets):
            ids = {t.id for t in targets if isinstance(t, ast.Name)}
            return [name for name in names if name in ids]
    return walked_binds(stmt, names)


def walked_binds(stmt: ast.stmt, names: tuple[str, ...]) -> list[str]:
    """:func:`binds` for any statement: a walk of everything in it that is not a scope of
    its own."""
    found: list[str] = []
    stack: list[ast.AST] = [stmt]
    while stack:
        node = stack.pop()
        name: str | None = None
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            name = node.name
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            name = node.id
        elif isinstance(node, ast.alias):
            name = node.asname or node.name.split(".")[0]
        if name in names and name not in found:
            found.append(name)
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
                                 ast.Lambda)):
            stack.extend(ast.iter_child_nodes(node))
    return found
