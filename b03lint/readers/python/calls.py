"""What a call that is executed does: ``op.*`` and ``batch_op.*`` go to the Alembic
surface, ``execute`` on a connection (or a session, a cursor) to the SQL reader,
``sa.Enum(...).create(bind)`` to the SQLAlchemy constructs, a function of the file is
inlined, a list's ``append`` changes the list, a harmless call (logging, ``sa.*``
constructors, builtins) has only its arguments read; anything else might change the
schema and is an Unresolved marker. An ``op.<name>`` handed along as a value (a callback)
is reported too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from b03lint.operations import Operation, Phase
from b03lint.readers.python.alembic_ops import OP_HARMLESS, AlembicOps
from b03lint.readers.python.constructs import Constructs
from b03lint.readers.python.emit import unresolved
from b03lint.readers.python.evaluator import COMPREHENSIONS, Evaluator
from b03lint.readers.python.source import Source, clip
from b03lint.readers.python.text import Text
from b03lint.readers.python.values import (
    MISSING,
    UNKNOWN,
    Batch,
    Conn,
    Dict,
    Env,
    Func,
    ModuleName,
    Node,
    Obj,
    PartialSeq,
    Seq,
    Stmt,
    Table,
    TextClause,
    in_modules,
    last_part,
    mutated,
    python_value,
)

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


#: methods that change the list, set or dict they are called on
_MUTATORS = frozenset({"append", "extend", "insert", "remove", "pop", "clear", "sort",
                       "reverse", "add", "update", "discard", "popitem", "setdefault"})


class CallDispatch:
    """The call half of the :class:`~b03lint.readers.python.interpreter.Interpreter`."""

    ev: Evaluator
    ops: AlembicOps
    sa: Constructs
    src: Source

    def call_helper_inlined(self, func: Func, call: ast.Call, env: Env) -> bool:
        raise NotImplementedError

    def expression(self, expr: ast.expr, env: Env, phase: Phase, out: list[Operation]) -> None:
        """Perform what evaluating ``expr`` does: its calls, and the calls its
        comprehensions make (once per item, through the evaluator's hooks)."""
        for effect in outer_effects(expr):
            if isinstance(effect, ast.Call):
                self._action(effect, env, phase, out)
            else:
                self.ev.value(effect, env)

    def _action(self, call: ast.Call, env: Env, phase: Phase, out: list[Operation]) -> bool:
        """Read one call that is executed; returns False when it was reported unresolved."""
        func = call.func
        # a method called on the result of another call: perform the inner call first
        if isinstance(func, ast.Attribute):
            for inner in outer_effects(func.value):
                if isinstance(inner, ast.Call):
                    if not self._action(inner, env, phase, out):
                        return False
                else:
                    self.ev.value(inner, env)
        target = self.ev.value(func, env)
        qual = target.qual if isinstance(target, ModuleName) else None
        if qual is not None and qual.startswith("alembic.op."):
            name = qual[len("alembic.op.") :]
            if "." not in name:
                self.ops.call(name, call, env, phase, out, None)
                return True
        if isinstance(func, ast.Attribute) and qual is None and not isinstance(target, Func):
            owner = self.ev.value(func.value, env)
            return self._method_action(owner, func.attr, call, env, phase, out)
        if qual == "alembic.context.execute":  # EnvironmentContext.execute: as op.execute
            self.ops.call("execute", call, env, phase, out, None)
            return True
        if isinstance(target, Func):
            if target.is_class:
                unresolved(
                    self.src, out, phase, call,
                    f"call to class `{target.name}()`: the operations it performs are not read",
                )
                return False
            return self.call_helper_inlined(target, call, env)
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
        if isinstance(owner, (Seq, PartialSeq, Dict)) and method in _MUTATORS:
            self._arguments(call, env, phase, out)
            self._mutate(call, owner, method, env)
            return True
        if isinstance(owner, (Text, TextClause, Stmt, Obj, Node, Table, Seq, PartialSeq, Dict)):
            self._arguments(call, env, phase, out)
            return True
        unresolved(
            self.src, out, phase, call,
            f"call to `{clip(self.src.segment(call.func), 60)}()` on a value not known "
            "statically: it may change the schema",
        )
        return False




    def _mutate(self, call: ast.Call, owner: object, method: str, env: Env) -> None:
        """``names.append(x)`` and the like: the name holds the changed list from now on
        (a list that is not a plain name, or a change not known statically, leaves the
        name unknown)."""
        receiver = call.func.value if isinstance(call.func, ast.Attribute) else None
        if not isinstance(receiver, ast.Name):
            return
        if call.keywords or any(isinstance(a, ast.Starred) for a in call.args):
            env.vars[receiver.id] = UNKNOWN
            return
        args = [self.ev.value(a, env) for a in call.args]
        env.vars[receiver.id] = mutated(owner, method, args)

    def assign_item(self, target: ast.Subscript, value: object, env: Env) -> None:
        """``d["k"] = v`` / ``items[0] = v`` on a name holding a dict or list."""
        if not isinstance(target.value, ast.Name):
            return
        name = target.value.id
        owner = env.get(name)
        if isinstance(owner, (Seq, PartialSeq, Dict)):
            env.vars[name] = _replaced_item(owner, self.ev.value(target.slice, env), value)


def _replaced_item(owner: object, index: object, value: object) -> object:
    """``owner[index] = value`` for a dict or list known statically, else UNKNOWN."""
    if isinstance(owner, Dict):
        key = python_value(index)
        if key is MISSING or any(python_value(k) is MISSING for k, _ in owner.items):
            return UNKNOWN
        kept = tuple((k, v) for k, v in owner.items if python_value(k) != key)
        return Dict((*kept, (index, value)))
    if (isinstance(owner, Seq) and isinstance(index, int) and not isinstance(index, bool)
            and -len(owner.items) <= index < len(owner.items)):
        items = list(owner.items)
        items[index] = value
        return Seq(tuple(items))
    return UNKNOWN


def outer_effects(expr: ast.expr) -> Iterator[ast.expr]:
    """The calls in ``expr`` that are not arguments of another call, and the
    comprehensions that make calls, in source order (what evaluating ``expr`` does)."""
    if isinstance(expr, ast.Call):
        yield expr
        return
    if isinstance(expr, (ast.Lambda, ast.Constant)):
        return
    if isinstance(expr, COMPREHENSIONS):
        if any(isinstance(n, ast.Call) for n in ast.walk(expr)):
            yield expr
        return
    for child in ast.iter_child_nodes(expr):
        if isinstance(child, ast.expr):
            yield from outer_effects(child)
        elif isinstance(child, ast.keyword):
            yield from outer_effects(child.value)
