"""Calls of functions defined in the migration itself, followed statically: inlined.

``def _drop(t, c): op.drop_column(t, c)`` called as ``_drop("posts", "body")`` in
``upgrade()`` is read as the ``op.drop_column("posts", "body")`` it performs: the
arguments are bound to the parameters (defaults, ``*args``, ``**kwargs`` and keyword-only
ones included), the body is read by the interpreter in a scope whose parent is the one the
function was defined in (a nested helper sees its enclosing function's names), and the
value it returns is what the call evaluates to. Every operation read inside is located at
the call, with the line in the helper as a related location (``Operation.related``), so a
finding sits where ``upgrade()`` calls the helper and says which helper line does it.

Bounded, never a hang: a helper that calls itself (directly or through others), helpers
nested deeper than :data:`INLINE_DEPTH_LIMIT`, a helper larger than
:data:`INLINE_SIZE_LIMIT` statements, and calls beyond the file's :data:`INLINE_BUDGET`
are not inlined; each is an Unresolved marker at the call that says why. So are decorated
functions, ``async def`` and generators (their bodies do not simply run when called).
"""

from __future__ import annotations

import ast
from contextlib import AbstractContextManager
from dataclasses import field, replace
from typing import TYPE_CHECKING, Protocol

from b03lint.operations import Operation, Phase, Related
from b03lint.readers.python.emit import unresolved
from b03lint.readers.python.evaluator import Evaluator
from b03lint.readers.python.source import Source, clip
from b03lint.readers.python.text import FixedText, Text
from b03lint.readers.python.values import MISSING, UNKNOWN, Dict, Env, Func, Seq

if TYPE_CHECKING:
    from dataclasses import dataclass as record
else:  # the same classes, made without dataclasses' start-up cost (b03lint.records)
    from b03lint.records import record

#: helpers calling helpers: at most this many inlined at once
INLINE_DEPTH_LIMIT = 8
#: statements a helper may have (counted through its whole body) to be inlined
INLINE_SIZE_LIMIT = 400
#: statements inlined per file at most (each call counts its helper's size)
INLINE_BUDGET = 20_000


class Runner(Protocol):
    """What the inliner asks the interpreter to do: read a body, or an expression."""

    def run_body(self, body: list[ast.stmt], env: Env, phase: Phase,
                 out: list[Operation]) -> int: ...

    def run_expression(self, expr: ast.expr, env: Env, phase: Phase,
                       out: list[Operation]) -> object: ...

    def reading(self, src: Source | None) -> AbstractContextManager[None]: ...


@record(slots=True)
class _Frame:
    node: ast.AST
    #: the interpreter's count of may-not-run blocks when the call started
    maybe: int
    returns: list[tuple[object, bool]] = field(default_factory=list)

    def value(self) -> object:
        """What the call returned: known when exactly one ``return`` ran for certain."""
        if not self.returns:
            return None
        if len(self.returns) == 1 and not self.returns[0][1]:
            return self.returns[0][0]
        return UNKNOWN


class Inliner:
    """The helper calls of one file."""

    def __init__(self, src: Source, ev: Evaluator, runner: Runner) -> None:
        self.src = src
        self.ev = ev
        self.runner = runner
        self._frames: list[_Frame] = []
        self._budget = INLINE_BUDGET
        self._sizes: dict[ast.AST, int] = {}

    def returned(self, value: object, maybe: int) -> None:
        """A ``return`` ran inside the helper being inlined (``maybe``: inside how many
        blocks that may not run)."""
        if self._frames:
            frame = self._frames[-1]
            frame.returns.append((value, maybe > frame.maybe))

    def call(self, func: Func, call: ast.Call, env: Env, phase: Phase,
             out: list[Operation], maybe: int) -> tuple[object, bool]:
        """Inline ``call`` of ``func`` (evaluated in ``env``): its operations go to ``out``
        located at the call. Returns the call's value and whether it was inlined."""
        node = func.node
        problem = self._refusal(func)
        if problem is not None or node is None or isinstance(node, ast.ClassDef):
            unresolved(self.src, out, phase, call,
                       f"call to helper function `{func.name}()`: {problem}: the operations "
                       "it performs are not read")
            return UNKNOWN, False
        scope = Env(func.env)
        self._bind_parameters(node.args, call, env, scope, func.env or env)
        self._budget -= self._size(node)
        frame = _Frame(node, maybe)
        self._frames.append(frame)
        inner: list[Operation] = []
        where = self.src.loc(call)
        try:
            with self.runner.reading(func.src):  # a helper of a project module: its lines
                if isinstance(node, ast.Lambda):
                    frame.returns.append(
                        (self.runner.run_expression(node.body, scope, phase, inner), False))
                else:
                    self.runner.run_body(node.body, scope, phase, inner)
        except RecursionError:
            inner.clear()
            unresolved(self.src, inner, phase, call,
                       f"call to helper function `{func.name}()`: too deeply nested to read")
        finally:
            self._frames.pop()
        name = "lambda" if func.name == "<lambda>" else f"helper `{func.name}()`"
        for op in inner:
            if op.loc == where:
                out.append(op)
                continue
            out.append(replace(op, loc=where,
                               related=(Related(op.loc, f"in {name}"), *op.related)))
        return frame.value(), True

    def _refusal(self, func: Func) -> str | None:
        node = func.node
        if func.is_class:
            return "it is a class"
        if node is None or isinstance(node, ast.ClassDef):
            return "its definition is not known statically"
        if isinstance(node, ast.AsyncFunctionDef):
            return "it is an `async def` (calling it only makes a coroutine)"
        if not isinstance(node, ast.Lambda):
            if node.decorator_list:
                decorator = clip(self.src.segment(node.decorator_list[0]), 40)
                return f"it is decorated (`@{decorator}`), and what that does is not known"
            if any(isinstance(n, (ast.Yield, ast.YieldFrom)) for n in _own_nodes(node)):
                return "it is a generator (its body runs only as far as it is iterated)"
        if any(frame.node is node for frame in self._frames):
            return ("it calls itself, directly or through another helper, so following it "
                    "could not end")
        if len(self._frames) >= INLINE_DEPTH_LIMIT:
            return f"helpers call each other more than {INLINE_DEPTH_LIMIT} deep here"
        size = self._size(node)
        if size > INLINE_SIZE_LIMIT:
            return (f"it is too large to inline ({size} statements, more than "
                    f"{INLINE_SIZE_LIMIT})")
        if size > self._budget:
            return (f"this file's helper calls have already been followed through "
                    f"{INLINE_BUDGET:,} statements")
        return None

    def _size(self, node: ast.AST) -> int:
        size = self._sizes.get(node)
        if size is None:
            size = self._sizes[node] = max(
                1, sum(isinstance(n, ast.stmt) for n in ast.walk(node)) - 1)
        return size

    def _bind_parameters(self, params: ast.arguments, call: ast.Call, env: Env,
                         scope: Env, defined_in: Env) -> None:
        """Bind the call's arguments (evaluated in ``env``) to the parameters in
        ``scope``, the way Python does; what cannot be bound statically is UNKNOWN."""
        positional: list[object] = []
        exact = True
        for a in call.args:
            if isinstance(a, ast.Starred):
                value = self.ev.value(a.value, env)
                if isinstance(value, Seq):
                    positional.extend(value.items)
                else:
                    exact = False
            else:
                positional.append(self.ev.value(a, env))
        keywords: dict[str, object] = {}
        for kw in call.keywords:
            value = self.ev.value(kw.value, env)
            if kw.arg is not None:
                keywords[kw.arg] = value
            elif isinstance(value, Dict) and all(isinstance(k, Text) for k, _ in value.items):
                keywords.update((k.text, v) for k, v in value.items if isinstance(k, Text))
            else:
                exact = False
        ordered = [*params.posonlyargs, *params.args]
        defaults: dict[str, ast.expr] = dict(zip(
            (p.arg for p in ordered[len(ordered) - len(params.defaults):]), params.defaults,
            strict=True))
        for p, default in zip(params.kwonlyargs, params.kw_defaults, strict=True):
            if default is not None:
                defaults[p.arg] = default
        for k, p in enumerate(ordered):
            if k < len(positional):
                scope.vars[p.arg] = positional[k]
            else:
                scope.vars[p.arg] = keywords.pop(p.arg, MISSING)
        for p in params.kwonlyargs:
            scope.vars[p.arg] = keywords.pop(p.arg, MISSING)
        for name, value in list(scope.vars.items()):
            if value is MISSING:
                default = defaults.get(name)
                scope.vars[name] = (self.ev.value(default, defined_in)
                                    if default is not None and exact else UNKNOWN)
        if params.vararg:
            extra = positional[len(ordered):]
            scope.vars[params.vararg.arg] = Seq(tuple(extra)) if exact else UNKNOWN
        if params.kwarg:
            scope.vars[params.kwarg.arg] = (
                Dict(tuple((_key(k, call), v) for k, v in keywords.items())) if exact
                else UNKNOWN)


def _key(name: str, call: ast.Call) -> object:
    return FixedText(name, (getattr(call, "lineno", 1), getattr(call, "col_offset", 0)))


def _own_nodes(node: ast.AST) -> list[ast.AST]:
    """The nodes of a function's body, not those of functions defined inside it."""
    found: list[ast.AST] = []
    stack = list(ast.iter_child_nodes(node))
    while stack:
        child = stack.pop()
        found.append(child)
        if not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda,
                                  ast.ClassDef)):
            stack.extend(ast.iter_child_nodes(child))
    return found
