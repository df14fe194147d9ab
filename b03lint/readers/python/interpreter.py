"""The statements of ``upgrade()`` / ``downgrade()``, read in order: the interpreter.

Assignments bind names in a scope (:class:`Env`); ``if`` on a condition known statically
(``bind.dialect.name == "postgresql"``) reads only the branch that runs; ``for`` over a
static sequence is unrolled (within the file's unroll budget, which lives here);
``with op.batch_alter_table(...) as batch_op`` binds the batch; every call executed is
dispatched: ``op.*`` and ``batch_op.*`` to the Alembic surface, ``execute`` to the SQL
reader, ``sa.Enum(...).create(bind)`` to the SQLAlchemy constructs. What could change the
schema but cannot be known statically (a run-time condition, ``try``, ``while``, a loop
over run-time data, a call of something unknown) becomes an :class:`Unresolved` marker in
front of the operations read inside it; nothing is silently dropped.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

from b03lint.operations import Location, Operation, Phase, Unresolved
from b03lint.readers.python.alembic_ops import OP_HARMLESS, AlembicOps
from b03lint.readers.python.constructs import Constructs
from b03lint.readers.python.emit import unresolved
from b03lint.readers.python.evaluator import Evaluator
from b03lint.readers.python.source import Source, clip
from b03lint.readers.python.text import FixedText, Text
from b03lint.readers.python.values import (
    UNKNOWN,
    Batch,
    Conn,
    Dict,
    Env,
    Func,
    ModuleName,
    Node,
    Obj,
    Seq,
    Stmt,
    Table,
    TextClause,
    bind_import,
    in_modules,
    is_plain,
    last_part,
    text_of,
    truth,
)

#: loop iterations unrolled per file at most; beyond, loops are reported as Unresolved
UNROLL_LIMIT = 2000

#: builtins that can run arbitrary code: calling them is never harmless
_UNSAFE_BUILTINS = frozenset(
    {"exec", "eval", "compile", "__import__", "globals", "locals", "vars", "setattr",
     "delattr", "breakpoint", "input", "getattr"}
)
#: modules whose functions never touch the database
_HARMLESS_MODULES = frozenset(
    {"logging", "warnings", "textwrap", "json", "datetime", "uuid", "time", "re", "math",
     "decimal", "enum", "typing", "string", "itertools", "functools", "collections",
     "hashlib", "random", "secrets", "base64", "sqlalchemy", "alembic.context", "os.path",
     "os.environ", "os.getenv", "pathlib", "dataclasses", "typing_extensions", "pprint",
     "sys.stderr", "sys.stdout"}
)

#: methods that run SQL on whatever object they are called
_EXECUTE_METHODS = frozenset({"execute", "exec_driver_sql", "executemany"})


class Flow:
    """Signals of a statement list: how control leaves it."""

    NORMAL = 0
    BREAK = 1
    CONTINUE = 2
    RETURN = 3


class Interpreter:
    """The function bodies of one file, read statement by statement."""

    def __init__(self, ev: Evaluator, ops: AlembicOps, sa: Constructs, src: Source,
                 module_env: Env) -> None:
        self.ev = ev
        self.ops = ops
        self.sa = sa
        self.src = src
        self.module_env = module_env
        #: loop iterations left to unroll in this file (nested loops multiply)
        self._unroll_budget = UNROLL_LIMIT

    def read_function(
        self, func: ast.FunctionDef | ast.AsyncFunctionDef, phase: Phase, out: list[Operation]
    ) -> None:
        env = Env(self.module_env)
        for a in [*func.args.posonlyargs, *func.args.args, *func.args.kwonlyargs]:
            env.vars[a.arg] = UNKNOWN
        if func.args.vararg:
            env.vars[func.args.vararg.arg] = UNKNOWN
        if func.args.kwarg:
            env.vars[func.args.kwarg.arg] = UNKNOWN
        self._block(func.body, env, phase, out)

    def _block(self, body: list[ast.stmt], env: Env, phase: Phase, out: list[Operation]) -> int:
        for stmt in body:
            try:
                flow = self._statement(stmt, env, phase, out)
            except RecursionError:
                unresolved(self.src, out, phase, stmt, "statement too deeply nested to read")
                flow = Flow.NORMAL
            if flow != Flow.NORMAL:
                return flow
        return Flow.NORMAL

    def _branch(
        self, body: list[ast.stmt], env: Env, phase: Phase, out: list[Operation]
    ) -> None:
        """Read a block that may or may not run: in its own scope; whatever it assigns
        is unknown afterwards."""
        child = Env(env)
        self._block(body, child, phase, out)
        for name in child.vars:
            env.vars[name] = UNKNOWN

    def _statement(self, stmt: ast.stmt, env: Env, phase: Phase, out: list[Operation]) -> int:
        src = self.src
        if isinstance(stmt, ast.Expr):
            if isinstance(stmt.value, ast.Constant):
                return Flow.NORMAL  # docstring or a bare literal
            self.expression(stmt.value, env, phase, out)
            return Flow.NORMAL
        if isinstance(stmt, ast.Assign):
            self.expression(stmt.value, env, phase, out)
            value = self.ev.value(stmt.value, env)
            for target in stmt.targets:
                self.bind_target(target, value, env)
            return Flow.NORMAL
        if isinstance(stmt, ast.AnnAssign):
            if stmt.value is not None:
                self.expression(stmt.value, env, phase, out)
                self.bind_target(stmt.target, self.ev.value(stmt.value, env), env)
            return Flow.NORMAL
        if isinstance(stmt, ast.AugAssign):
            self.expression(stmt.value, env, phase, out)
            if isinstance(stmt.target, ast.Name):
                combined = ast.BinOp(left=ast.Name(stmt.target.id, ast.Load()), op=stmt.op,
                                     right=stmt.value)
                ast.copy_location(combined, stmt)
                env.vars[stmt.target.id] = self.ev.value(combined, env)
            return Flow.NORMAL
        if isinstance(stmt, (ast.Pass, ast.Global, ast.Nonlocal, ast.Delete)):
            return Flow.NORMAL
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            bind_import(stmt, env)
            return Flow.NORMAL
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            env.vars[stmt.name] = Func(stmt.name)
            return Flow.NORMAL
        if isinstance(stmt, ast.ClassDef):
            env.vars[stmt.name] = Func(stmt.name, is_class=True)
            return Flow.NORMAL
        if isinstance(stmt, ast.Return):
            if stmt.value is not None:
                self.expression(stmt.value, env, phase, out)
            return Flow.RETURN
        if isinstance(stmt, ast.Raise):
            return Flow.RETURN
        if isinstance(stmt, ast.Break):
            return Flow.BREAK
        if isinstance(stmt, ast.Continue):
            return Flow.CONTINUE
        if isinstance(stmt, ast.Assert):
            self.expression(stmt.test, env, phase, out)
            return Flow.NORMAL
        if isinstance(stmt, ast.If):
            test = self.ev.value(stmt.test, env)
            if is_plain(test):  # a condition known statically: only one branch runs
                return self._block(stmt.body if truth(test) else stmt.orelse, env, phase, out)
            self.expression(stmt.test, env, phase, out)
            marker = Unresolved(
                loc=src.span(stmt, stmt.test),
                phase=phase,
                reason="operations below depend on a run-time condition; "
                "both branches are read",
                snippet=clip(f"if {src.segment(stmt.test)}:"),
            )
            with self._guard(out, marker):
                self._branch(stmt.body, env, phase, out)
                self._branch(stmt.orelse, env, phase, out)
            return Flow.NORMAL
        if isinstance(stmt, (ast.For, ast.AsyncFor)):
            return self._for(stmt, env, phase, out)
        if isinstance(stmt, ast.While):
            self.expression(stmt.test, env, phase, out)
            marker = Unresolved(
                loc=src.span(stmt, stmt.test),
                phase=phase,
                reason="`while` loop: operations inside run an unknown number of times",
                snippet=clip(f"while {src.segment(stmt.test)}:"),
            )
            with self._guard(out, marker):
                self._branch(stmt.body, env, phase, out)
                self._branch(stmt.orelse, env, phase, out)
            return Flow.NORMAL
        if isinstance(stmt, (ast.With, ast.AsyncWith)):
            for item in stmt.items:
                self._with_item(item, env, phase, out)
            return self._block(stmt.body, env, phase, out)
        if isinstance(stmt, ast.Try) or type(stmt).__name__ == "TryStar":
            return self._try(stmt, env, phase, out)
        if isinstance(stmt, ast.Match):
            self.expression(stmt.subject, env, phase, out)
            marker = Unresolved(
                loc=src.span(stmt, stmt.subject),
                phase=phase,
                reason="operations below depend on a run-time `match`; every case is read",
                snippet=clip(f"match {src.segment(stmt.subject)}:"),
            )
            with self._guard(out, marker):
                for case in stmt.cases:
                    self._branch(case.body, env, phase, out)
            return Flow.NORMAL
        unresolved(self.src, out, phase, stmt, f"statement `{type(stmt).__name__}` is not understood")
        return Flow.NORMAL

    @contextmanager
    def _guard(self, out: list[Operation], marker: Unresolved) -> Iterator[None]:
        """Put ``marker`` (a condition, a loop) in front of the operations read inside the
        block. When the block has no operation, nothing depends on it: no marker. When all
        of them concern one table, the marker names it (so the replay only doubts that
        table)."""
        at = len(out)
        yield
        inner = out[at:]
        if not inner:
            return
        tables = {op.table_name for op in inner}
        if len(tables) == 1:
            only = tables.pop()
            if only is not None:
                marker = replace(marker, table=only)
        out.insert(at, marker)

    def _try(self, stmt: ast.stmt, env: Env, phase: Phase, out: list[Operation]) -> int:
        body: list[ast.stmt] = getattr(stmt, "body", [])
        handlers: list[ast.ExceptHandler] = getattr(stmt, "handlers", [])
        orelse: list[ast.stmt] = getattr(stmt, "orelse", [])
        final: list[ast.stmt] = getattr(stmt, "finalbody", [])
        if handlers:
            first = self.src.loc(stmt)
            marker = Unresolved(
                loc=Location(self.src.path, first.line, first.column, first.line,
                             first.column + len("try")),
                phase=phase,
                reason="operations inside `try` may not all run (an exception is "
                "caught); the body and every handler are read",
                snippet="try:",
            )
            with self._guard(out, marker):
                self._branch(body, env, phase, out)
                for handler in handlers:
                    self._branch(handler.body, env, phase, out)
                self._branch(orelse, env, phase, out)
        else:  # try/finally: everything runs
            flow = self._block(body, env, phase, out)
            if flow != Flow.NORMAL:
                self._block(final, env, phase, out)
                return flow
        return self._block(final, env, phase, out)

    def _for(
        self, stmt: ast.For | ast.AsyncFor, env: Env, phase: Phase, out: list[Operation]
    ) -> int:
        src = self.src
        iterable = self.ev.value(stmt.iter, env)
        if isinstance(iterable, Dict):
            iterable = Seq(tuple(k for k, _ in iterable.items))
        if isinstance(iterable, Text):
            iterable = Seq(tuple(FixedText(c, iterable.at) for c in iterable.text))
        if isinstance(iterable, Seq) and len(iterable.items) <= self._unroll_budget:
            self._unroll_budget -= len(iterable.items)
            broke = False
            assigned: set[str] = set()
            for item in iterable.items:
                child = Env(env)
                self.bind_target(stmt.target, item, child)
                flow = self._block(stmt.body, child, phase, out)
                assigned.update(child.vars)
                if flow == Flow.RETURN:
                    return flow
                if flow == Flow.BREAK:
                    broke = True
                    break
            for name in assigned:
                env.vars[name] = UNKNOWN
            if not broke:
                return self._block(stmt.orelse, env, phase, out)
            return Flow.NORMAL
        self.expression(stmt.iter, env, phase, out)
        marker = Unresolved(
            loc=src.span(stmt, stmt.iter),
            phase=phase,
            reason="loop over values not known statically: operations inside run "
            "once per value, which cannot be read",
            snippet=clip(f"for {src.segment(stmt.target)} in {src.segment(stmt.iter)}:"),
        )
        with self._guard(out, marker):
            child = Env(env)
            self.bind_target(stmt.target, UNKNOWN, child)
            self._block(stmt.body, child, phase, out)
            for name in child.vars:
                env.vars[name] = UNKNOWN
            self._branch(stmt.orelse, env, phase, out)
        return Flow.NORMAL

    def bind_target(self, target: ast.expr, value: object, env: Env) -> None:
        if isinstance(target, ast.Name):
            env.vars[target.id] = value
        elif isinstance(target, (ast.Tuple, ast.List)):
            items: tuple[object, ...] | None = None
            if isinstance(value, Seq) and len(value.items) == len(target.elts):
                items = value.items
            for k, elt in enumerate(target.elts):
                if isinstance(elt, ast.Starred):
                    self.bind_target(elt.value, UNKNOWN, env)
                else:
                    self.bind_target(elt, items[k] if items is not None else UNKNOWN, env)
        elif isinstance(target, ast.Starred):
            self.bind_target(target.value, UNKNOWN, env)
        # attribute / subscript targets bind nothing we track

    def _with_item(
        self, item: ast.withitem, env: Env, phase: Phase, out: list[Operation]
    ) -> None:
        expr = item.context_expr
        value: object = UNKNOWN
        if isinstance(expr, ast.Call):
            owner = self.ev.value(expr.func, env)
            if isinstance(owner, ModuleName) and owner.qual == "alembic.op.batch_alter_table":
                bound = self.ops.bind(expr, env, ("table_name", "schema"), False)
                table = text_of(bound.get("table_name"))
                schema = text_of(bound.get("schema"))
                if table is None:
                    unresolved(
                        self.src, out, phase, expr,
                        "batch_alter_table on a table whose name is not known statically",
                    )
                value = Batch(table, schema)
            else:
                self.expression(expr, env, phase, out)
                value = self.ev.value(expr, env)
        else:
            self.expression(expr, env, phase, out)
            value = self.ev.value(expr, env)
        if item.optional_vars is not None:
            self.bind_target(item.optional_vars, value, env)

    # ------------------------------------------------------------------ expressions

    def expression(self, expr: ast.expr, env: Env, phase: Phase, out: list[Operation]) -> None:
        """Perform the calls of an expression that is evaluated for its effects."""
        for call in outer_calls(expr):
            self._action(call, env, phase, out)

    def _action(self, call: ast.Call, env: Env, phase: Phase, out: list[Operation]) -> bool:
        """Read one call that is executed; returns False when it was reported unresolved."""
        func = call.func
        # a method called on the result of another call: perform the inner call first
        if isinstance(func, ast.Attribute):
            for inner in outer_calls(func.value):
                if not self._action(inner, env, phase, out):
                    return False
        target = self.ev.value(func, env)
        qual = target.qual if isinstance(target, ModuleName) else None
        if qual is not None and qual.startswith("alembic.op."):
            name = qual[len("alembic.op.") :]
            if "." not in name:
                self.ops.call(name, call, env, phase, out, None)
                return True
        if isinstance(func, ast.Attribute) and qual is None:
            owner = self.ev.value(func.value, env)
            return self._method_action(owner, func.attr, call, env, phase, out)
        if qual == "alembic.context.execute":  # EnvironmentContext.execute: as op.execute
            self.ops.call("execute", call, env, phase, out, None)
            return True
        if isinstance(target, Func):
            what = "class" if target.is_class else "helper function"
            unresolved(
                self.src, out, phase, call,
                f"call to {what} `{target.name}()`: the operations it performs are not read",
            )
            return False
        if qual is not None and self._harmless_qual(qual):
            self._arguments(call, env, phase, out)
            return True
        name = qual or self.src.segment(func)
        unresolved(
            self.src, out, phase, call,
            f"call to `{clip(name, 60)}()`, which is not known statically: "
            "it may change the schema",
        )
        return False

    def _arguments(self, call: ast.Call, env: Env, phase: Phase, out: list[Operation]) -> None:
        for a in call.args:
            self.expression(a.value if isinstance(a, ast.Starred) else a, env, phase, out)
        for kw in call.keywords:
            self.expression(kw.value, env, phase, out)
        for arg in [*call.args, *(kw.value for kw in call.keywords)]:
            handed = self._operation_reference(arg, env)
            if handed is not None:
                unresolved(
                    self.src, out, phase, arg,
                    f"`{handed}` is handed to `{clip(self.src.segment(call.func), 40)}()` "
                    "as a value: when and with what it is called is not known statically",
                    via=handed,
                )

    def _operation_reference(self, expr: ast.expr, env: Env) -> str | None:
        """The ``op.<name>`` that ``expr`` passes along without calling it (``op.drop_table``
        itself, or a lambda calling it), or None. Calls inside ``expr`` are left to their
        own reading: they are performed, and their arguments checked, on their own."""
        stack: list[ast.AST] = [expr]
        while stack:
            node = stack.pop()
            if isinstance(node, ast.Call):
                continue
            if isinstance(node, ast.Lambda):
                for inner in ast.walk(node.body):
                    if isinstance(inner, ast.Call):
                        name = self._operation_name(inner.func, env)
                        if name is not None:
                            return name
                continue
            if isinstance(node, (ast.Name, ast.Attribute)):
                name = self._operation_name(node, env)
                if name is not None:
                    return name
                continue
            stack.extend(ast.iter_child_nodes(node))
        return None

    def _operation_name(self, node: ast.expr, env: Env) -> str | None:
        value = self.ev.value(node, env)
        if isinstance(value, ModuleName) and value.qual.startswith("alembic.op."):
            name = value.qual[len("alembic.op."):]
            if "." not in name and name not in OP_HARMLESS:
                return f"op.{name}"
        return None

    def _harmless_qual(self, qual: str) -> bool:
        if qual.startswith("builtins."):
            return last_part(qual) not in _UNSAFE_BUILTINS
        if qual.startswith("alembic.op."):
            return qual[len("alembic.op.") :].split(".")[0] in OP_HARMLESS
        if qual.startswith("sqlalchemy."):
            return last_part(qual) not in ("create_all", "drop_all", "execute")
        return in_modules(qual, _HARMLESS_MODULES)

    def _method_action(
        self,
        owner: object,
        method: str,
        call: ast.Call,
        env: Env,
        phase: Phase,
        out: list[Operation],
    ) -> bool:
        if isinstance(owner, Batch):
            self.ops.call(method, call, env, phase, out, owner)
            return True
        if isinstance(owner, Conn):
            if method in ("execute", "exec_driver_sql"):
                via = clip(self.src.segment(call.func), 60)
                self.ops.connection_execute(call, env, phase, out, via)
            else:
                self._arguments(call, env, phase, out)
            return True
        if method in _EXECUTE_METHODS and isinstance(owner, (Obj, Node, Stmt, TextClause)):
            # a Session, a raw DBAPI cursor, the migration context: SQL runs all the same
            self.ops.connection_execute(call, env, phase, out, clip(self.src.segment(call.func), 60))
            return True
        if isinstance(owner, Node) and method in ("create", "drop"):
            return self.sa.construct_ddl(owner, method, call, env, phase, out)
        if isinstance(owner, Node) and method in ("create_all", "drop_all"):
            unresolved(
                self.src, out, phase, call,
                f"MetaData.{method}() emits DDL for tables not visible in this file",
            )
            return False
        if isinstance(owner, Table) and method in ("create", "drop"):
            unresolved(
                self.src, out, phase, call,
                f"Table.{method}() on a SQLAlchemy Table object is not read",
                table=owner.name,
            )
            return False
        if isinstance(owner, (Text, TextClause, Stmt, Obj, Node, Table, Seq, Dict)):
            self._arguments(call, env, phase, out)
            return True
        unresolved(
            self.src, out, phase, call,
            f"call to `{clip(self.src.segment(call.func), 60)}()` on a value not known "
            "statically: it may change the schema",
        )
        return False


def outer_calls(expr: ast.expr) -> Iterator[ast.Call]:
    """The calls in ``expr`` that are not arguments of another call (in source order)."""
    if isinstance(expr, ast.Call):
        yield expr
        return
    if isinstance(expr, (ast.Lambda, ast.Constant)):
        return
    for child in ast.iter_child_nodes(expr):
        if isinstance(child, ast.expr):
            yield from outer_calls(child)
        elif isinstance(child, ast.comprehension):
            yield from outer_calls(child.iter)
            for cond in child.ifs:
                yield from outer_calls(cond)
        elif isinstance(child, ast.keyword):
            yield from outer_calls(child.value)
