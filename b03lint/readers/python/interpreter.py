"""The statements of ``upgrade()`` / ``downgrade()``, read in order: the interpreter.

Assignments bind names in a scope (:class:`Env`); ``if`` on a condition known statically
(``bind.dialect.name == "postgresql"``, a helper that returns it) reads only the branch
that runs; ``for`` over a static sequence is unrolled (within the file's unroll budget,
which lives here), and so is a comprehension whose items make calls; ``with
op.batch_alter_table(...) as batch_op`` binds the batch and ``with
op.get_context().autocommit_block():`` marks what runs inside as outside the transaction.
Calls are dispatched by ``calls.py``; functions of the file are inlined by ``inline.py``.

What could change the schema but cannot be known statically (a run-time condition,
``try``, ``while``, a loop over run-time data, a call of something unknown) becomes an
:class:`Unresolved` marker in front of the operations read inside it; nothing is silently
dropped. What is certain survives a condition: a list that a branch may extend keeps its
known items (a :class:`PartialSeq`), and a loop over it reads those.

Each statement is performed once per time it runs: the calls that evaluating it makes
(helpers, comprehensions) are remembered for that statement, so reading its value after
performing it never performs anything twice.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import field, replace
from typing import TYPE_CHECKING

from b03lint.operations import Location, Operation, Phase, Unresolved
from b03lint.readers.markers import guard
from b03lint.readers.python.alembic_ops import AlembicOps
from b03lint.readers.python.calls import CallDispatch
from b03lint.readers.python.constructs import Constructs
from b03lint.readers.python.emit import unresolved
from b03lint.readers.python.evaluator import Comprehension, Evaluator
from b03lint.readers.python.inline import Inliner
from b03lint.readers.python.source import Source, clip
from b03lint.readers.python.values import (
    UNKNOWN,
    Batch,
    Dict,
    Env,
    Func,
    ModuleName,
    Obj,
    PartialSeq,
    Seq,
    bind,
    bind_import,
    distinct,
    is_plain,
    iter_items,
    merged,
    text_of,
    truth,
)

if TYPE_CHECKING:
    from dataclasses import dataclass as record
else:  # the same classes, made without dataclasses' start-up cost (b03lint.records)
    from b03lint.records import record

#: loop iterations (and items of comprehensions that make calls) unrolled per file at
#: most; beyond, loops are reported as Unresolved
UNROLL_LIMIT = 2000


class Flow:
    """Signals of a statement list: how control leaves it."""

    NORMAL = 0
    BREAK = 1
    CONTINUE = 2
    RETURN = 3


@record(slots=True)
class _Context:
    """One statement being performed: where the operations of the calls its evaluation
    makes go, and the value of each such call (by node and scope) once made."""

    phase: Phase
    out: list[Operation]
    memo: dict[tuple[ast.AST, Env], tuple[object, bool]] = field(default_factory=dict)


class Interpreter(CallDispatch):
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
        self._contexts: list[_Context] = []
        #: how many blocks that may not run (a condition's branch, a try) enclose us
        self._maybe = 0
        self.inliner = Inliner(src, ev, self)
        ev.hooks = self

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

    @contextmanager
    def performing(self, phase: Phase, out: list[Operation]) -> Iterator[None]:
        """Evaluate expressions outside a function body (at module level) the way a
        statement of one does: the calls they make put their operations in ``out``."""
        self._contexts.append(_Context(phase, out))
        try:
            yield
        finally:
            self._contexts.pop()

    # ------------------------------------------------------------------ evaluator hooks

    def _remembered(self, node: ast.AST, env: Env) -> tuple[_Context | None, object]:
        context = self._contexts[-1] if self._contexts else None
        if context is None:
            return None, UNKNOWN
        return context, context.memo.get((node, env))

    def call_helper(self, func: Func, call: ast.Call, env: Env) -> object:
        return self._call_helper(func, call, env)[0]

    def call_helper_inlined(self, func: Func, call: ast.Call, env: Env) -> bool:
        return self._call_helper(func, call, env)[1]

    def _call_helper(self, func: Func, call: ast.Call, env: Env) -> tuple[object, bool]:
        context, known = self._remembered(call, env)
        if context is None:
            return UNKNOWN, False
        if isinstance(known, tuple):
            return known[0], bool(known[1])
        context.memo[(call, env)] = (UNKNOWN, False)  # a call within itself: not again
        made = self.inliner.call(func, call, env, context.phase, context.out, self._maybe)
        context.memo[(call, env)] = made
        return made

    def comprehension(self, node: Comprehension, env: Env) -> object:
        context, known = self._remembered(node, env)
        if context is None:
            return UNKNOWN
        if isinstance(known, tuple):
            return known[0]
        context.memo[(node, env)] = (UNKNOWN, False)
        value = self._comprehend(node, env, context.phase, context.out)
        context.memo[(node, env)] = (value, True)
        return value

    @contextmanager
    def reading(self, src: Source | None) -> Iterator[None]:
        """Read a body written in another file (a helper of a project module): its
        locations, snippets and SQL positions are that file's meanwhile."""
        if src is None or src is self.src:
            yield
            return
        layers = (self, self.ev, self.ops, self.sa, self.inliner)
        before = self.src
        path = self.ops.sql.path
        for layer in layers:
            layer.src = src
        self.ops.sql.path = src.path
        try:
            yield
        finally:
            for layer in layers:
                layer.src = before
            self.ops.sql.path = path

    def run_body(self, body: list[ast.stmt], env: Env, phase: Phase,
                 out: list[Operation]) -> int:
        return self._block(body, env, phase, out)

    def run_expression(self, expr: ast.expr, env: Env, phase: Phase,
                       out: list[Operation]) -> object:
        self._contexts.append(_Context(phase, out))
        try:
            self.expression(expr, env, phase, out)
            return self.ev.value(expr, env)
        finally:
            self._contexts.pop()

    # ------------------------------------------------------------------ statements

    def _block(self, body: list[ast.stmt], env: Env, phase: Phase, out: list[Operation]) -> int:
        for stmt in body:
            self._contexts.append(_Context(phase, out))
            try:
                flow = self._statement(stmt, env, phase, out)
            except RecursionError:
                unresolved(self.src, out, phase, stmt, "statement too deeply nested to read")
                flow = Flow.NORMAL
            finally:
                self._contexts.pop()
            if flow != Flow.NORMAL:
                return flow
        return Flow.NORMAL

    def _branch(
        self, body: list[ast.stmt], env: Env, phase: Phase, out: list[Operation]
    ) -> None:
        """Read a block that may or may not run, in its own scope: afterwards, what it
        assigned is unknown, except what is certain either way (the known items of a
        list it may have extended)."""
        child = Env(env)
        self._maybe += 1
        try:
            self._block(body, child, phase, out)
        finally:
            self._maybe -= 1
        for name, value in child.vars.items():
            env.vars[name] = merged(env.get(name), value)

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
                if isinstance(target, ast.Subscript):
                    self.assign_item(target, value, env)
                else:
                    bind(target, value, env)
            return Flow.NORMAL
        if isinstance(stmt, ast.AnnAssign):
            if stmt.value is not None:
                self.expression(stmt.value, env, phase, out)
                bind(stmt.target, self.ev.value(stmt.value, env), env)
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
            env.vars[stmt.name] = Func(stmt.name, node=stmt, env=env)
            return Flow.NORMAL
        if isinstance(stmt, ast.ClassDef):
            env.vars[stmt.name] = Func(stmt.name, is_class=True, node=stmt, env=env)
            return Flow.NORMAL
        if isinstance(stmt, ast.Return):
            returned: object = None
            if stmt.value is not None:
                self.expression(stmt.value, env, phase, out)
                returned = self.ev.value(stmt.value, env)
            self.inliner.returned(returned, self._maybe)
            return Flow.RETURN
        if isinstance(stmt, ast.Raise):
            self.inliner.returned(UNKNOWN, self._maybe)
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
            autocommit = False
            for item in stmt.items:
                autocommit = self._with_item(item, env, phase, out) or autocommit
            at = len(out)
            flow = self._block(stmt.body, env, phase, out)
            if autocommit:  # op.get_context().autocommit_block(): outside the transaction
                out[at:] = [replace(op, autocommit=True) for op in out[at:]]
            return flow
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
        block, doubting what :func:`b03lint.readers.markers.guard` says: only the tables
        they touch, or nothing when none of them changes the schema."""
        at = len(out)
        yield
        guarded = guard(marker, out[at:])
        if guarded is not None:
            out.insert(at, guarded)

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
        found = iter_items(self.ev.value(stmt.iter, env))
        if found is not None and len(found[0]) <= self._unroll_budget:
            items, partial = found
            self._unroll_budget -= len(items)
            for item in items:  # in the loop's own scope, as Python does
                bind(stmt.target, item, env)
                flow = self._block(stmt.body, env, phase, out)
                if flow == Flow.RETURN:
                    return flow
                if flow == Flow.BREAK:
                    return Flow.NORMAL
            if partial:
                self._loop_once(
                    stmt, env, phase, out,
                    f"loop over a list that a run-time condition may extend: the operations "
                    f"for the {len(items)} value(s) it certainly holds are read, those for "
                    "values it may gain are not")
            return self._block(stmt.orelse, env, phase, out)
        self.expression(stmt.iter, env, phase, out)
        self._loop_once(stmt, env, phase, out,
                        "loop over values not known statically: operations inside run "
                        "once per value, which cannot be read")
        return Flow.NORMAL

    def _loop_once(self, stmt: ast.For | ast.AsyncFor, env: Env, phase: Phase,
                   out: list[Operation], reason: str) -> None:
        """Read a loop body for values not known statically, behind a marker."""
        src = self.src
        marker = Unresolved(
            loc=src.span(stmt, stmt.iter), phase=phase, reason=reason,
            snippet=clip(f"for {src.segment(stmt.target)} in {src.segment(stmt.iter)}:"),
        )
        with self._guard(out, marker):
            child = Env(env)
            bind(stmt.target, UNKNOWN, child)
            self._maybe += 1
            try:
                self._block(stmt.body, child, phase, out)
            finally:
                self._maybe -= 1
            for name, value in child.vars.items():
                env.vars[name] = merged(env.get(name), value)
            self._branch(stmt.orelse, env, phase, out)

    def _comprehend(self, node: Comprehension, env: Env, phase: Phase,
                    out: list[Operation]) -> object:
        """A comprehension whose items make calls, performed item by item."""
        bound = self.ev.bindings(node, env)
        if bound is None or len(bound[0]) > self._unroll_budget:
            marker = Unresolved(
                loc=self.src.loc(node), phase=phase, snippet=self.src.snippet(node),
                reason="comprehension over values not known statically: the calls it makes "
                "run once per value, which cannot be read")
            with self._guard(out, marker):
                child = Env(env)
                for generator in node.generators:
                    bind(generator.target, UNKNOWN, child)
                self._maybe += 1
                try:
                    for part in _elements(node):
                        self.expression(part, child, phase, out)
                finally:
                    self._maybe -= 1
            return UNKNOWN
        scopes, partial = bound
        self._unroll_budget -= len(scopes)
        values = []
        for scope in scopes:
            for part in _elements(node):
                self.expression(part, scope, phase, out)
            values.append(tuple(self.ev.value(part, scope) for part in _elements(node)))
        if isinstance(node, ast.DictComp):
            return UNKNOWN if partial else Dict(tuple((k, v) for k, v in values))
        items = [v[0] for v in values]
        if isinstance(node, ast.SetComp):
            items = distinct(items)
        return PartialSeq(tuple(items)) if partial else Seq(tuple(items))

    def _with_item(
        self, item: ast.withitem, env: Env, phase: Phase, out: list[Operation]
    ) -> bool:
        """Enter one ``with`` item; True for ``op.get_context().autocommit_block()``."""
        expr = item.context_expr
        value: object = UNKNOWN
        if (isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute)
                and expr.func.attr == "autocommit_block"):
            context = self.ev.value(expr.func.value, env)
            if isinstance(context, Obj) and context.kind == "context":
                self.expression(expr.func.value, env, phase, out)
                return True
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
            bind(item.optional_vars, value, env)
        return False


def _elements(node: Comprehension) -> tuple[ast.expr, ...]:
    return (node.key, node.value) if isinstance(node, ast.DictComp) else (node.elt,)

