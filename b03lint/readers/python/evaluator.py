"""The static value of an expression, never an effect: the evaluator.

:meth:`Evaluator.value` gives what an expression statically is (see ``values.py``):
literals, names bound in scope, attribute access on imported modules, tuples, lists, sets
and dicts, ``+`` / ``*`` / ``-`` / ``%``, comparisons and boolean logic, subscripts,
f-strings, ``str.format`` and the other string methods, ``textwrap.dedent``,
``sa.text(...)``, ``op.f(...)``, and the builtins ``str``, ``range``, ``list``, ``tuple``,
``sorted``, ``reversed``, ``enumerate``, ``zip``. Anything else is :data:`UNKNOWN`.

The limits below bound what one file can make the evaluator build or walk; they live here
because this is the layer they protect.
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import replace
from typing import Protocol

from b03lint.readers.python.extensions import ENTITY_PARAMS, EXTENSION_MODULES
from b03lint.readers.python.runtime import RuntimeObjects, url_contains
from b03lint.readers.python.source import Pos, Source
from b03lint.readers.python.strings import HUGE_PERCENT, StringValues, parts_of
from b03lint.readers.python.text import ConcatText, FixedText, LiteralText, Text, dedent
from b03lint.readers.python.values import (
    MISSING,
    UNKNOWN,
    Conn,
    DbUrl,
    Dict,
    Entity,
    Env,
    Func,
    ModuleName,
    Node,
    Obj,
    PartialSeq,
    Seq,
    Stmt,
    Table,
    Template,
    TextClause,
    bind,
    detached,
    distinct,
    is_int,
    is_number,
    is_plain,
    iter_items,
    last_part,
    python_value,
    text_of,
    truth,
)
from b03lint.readers.templates import (
    fill_percent,
)

#: expressions nested deeper than this are not evaluated
EVAL_DEPTH_LIMIT = 60
#: a string *computed* by the reader (``+``, ``*``, ``%``, ``.format``, f-strings, ``join``,
#: ``replace``, padding) may be at most this long, or twice the file's size when that is
#: more; literals written in the file are not limited. Beyond, the value is not known
#: statically: ``X = X + X`` twenty times in a 300-byte file would otherwise build 10 MB,
#: and thirty times 10 GB.
COMPUTED_TEXT_LIMIT = 1_000_000
#: a computed integer may have at most this many bits (``X = X * X`` squares it)
COMPUTED_INT_BITS = 4096
#: a computed list, tuple or dict may hold at most this many items (``L = L + L``)
COMPUTED_ITEMS_LIMIT = 100_000
#: a ``range()`` is evaluated up to this many items
RANGE_LIMIT = 2000

#: names that conventionally mean these modules when a file uses them without importing
CONVENTIONAL = {
    "op": "alembic.op",
    "sa": "sqlalchemy",
    "postgresql": "sqlalchemy.dialects.postgresql",
}

_BUILTINS = frozenset(dir(builtins))

_SA_TEXT = frozenset({"sqlalchemy.text", "sqlalchemy.sql.text", "sqlalchemy.sql.expression.text"})
_SA_TABLE = frozenset(
    {"sqlalchemy.table", "sqlalchemy.sql.table", "sqlalchemy.sql.expression.table",
     "sqlalchemy.Table", "sqlalchemy.schema.Table", "sqlalchemy.sql.schema.Table"}
)
_SA_CONV = frozenset(
    {"alembic.op.f", "sqlalchemy.sql.naming.conv", "sqlalchemy.sql.elements.conv",
     "sqlalchemy.conv", "sqlalchemy.quoted_name", "sqlalchemy.sql.quoted_name",
     "sqlalchemy.sql.elements.quoted_name"}
)


class Hooks(Protocol):
    """What the evaluator asks the interpreter for: the value of a call of a function of
    the file (inlined: its operations are performed, once per statement) and of a
    comprehension whose items make calls (performed the same way)."""

    def call_helper(self, func: Func, call: ast.Call, env: Env) -> object: ...

    def comprehension(self, node: Comprehension, env: Env) -> object: ...


class Lookup(Protocol):
    """Names of the project's own modules (``b03lint/readers/python/project.py``)."""

    def lookup(self, qual: str) -> object | None: ...


Comprehension = ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp
COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)


class Evaluator(StringValues, RuntimeObjects):
    """Static values of one file's expressions (positions from its :class:`Source`)."""

    def __init__(self, src: Source, size: int) -> None:
        self.src = src
        #: longest string a computation may produce in this file
        self._text_limit = max(COMPUTED_TEXT_LIMIT, 2 * size)
        #: set by the interpreter; without it, calls of the file's functions are unknown
        self.hooks: Hooks | None = None
        #: the project's modules, when the reader was given them
        self.project: Lookup | None = None

    def value(self, expr: ast.expr, env: Env) -> object:
        """The static value of ``expr`` in ``env``, or UNKNOWN."""
        try:
            return self._eval(expr, env, 0)
        except RecursionError:
            return UNKNOWN

    def keyword(self, call: ast.Call, name: str, env: Env) -> object:
        """The value of keyword argument ``name`` of ``call``, or MISSING."""
        for kw in call.keywords:
            if kw.arg == name:
                return self.value(kw.value, env)
        return MISSING

    def _eval(self, expr: ast.expr, env: Env, depth: int) -> object:
        """The static value of ``expr``, or UNKNOWN. Never has an effect."""
        if depth > EVAL_DEPTH_LIMIT:
            return UNKNOWN
        depth += 1
        if isinstance(expr, ast.Constant):
            value = expr.value
            if isinstance(value, str):
                return LiteralText(value, self.src.start(expr), expr, self.src)
            if value is None or isinstance(value, (bool, int, float)):
                return value
            return UNKNOWN
        if isinstance(expr, ast.Name):
            found = env.get(expr.id)
            if isinstance(found, ModuleName) and self.project is not None:
                return self._project_value(found, expr)
            if found is not MISSING:
                return found
            if expr.id in CONVENTIONAL:
                return ModuleName(CONVENTIONAL[expr.id])
            if expr.id in _BUILTINS:
                return ModuleName(f"builtins.{expr.id}")
            return UNKNOWN
        if isinstance(expr, ast.Attribute):
            base = self._eval(expr.value, env, depth)
            if isinstance(base, ModuleName):
                name = ModuleName(f"{base.qual}.{expr.attr}")
                return self._project_value(name, expr) if self.project is not None else name
            if isinstance(base, (Conn, Obj)):
                return self._runtime_attribute(base, expr)
            if isinstance(base, DbUrl):  # url.drivername: "postgresql+<driver>"
                return base if expr.attr == "drivername" else UNKNOWN
            return UNKNOWN
        if isinstance(expr, (ast.Tuple, ast.List, ast.Set)):
            items: list[object] = []
            for elt in expr.elts:
                if isinstance(elt, ast.Starred):
                    inner = self._eval(elt.value, env, depth)
                    if not isinstance(inner, Seq):
                        return UNKNOWN
                    items.extend(inner.items)
                else:
                    items.append(self._eval(elt, env, depth))
                if len(items) > COMPUTED_ITEMS_LIMIT:
                    return UNKNOWN
            return Seq(tuple(items))
        if isinstance(expr, ast.Dict):
            pairs: list[tuple[object, object]] = []
            for k, v in zip(expr.keys, expr.values, strict=True):
                if k is None:
                    inner = self._eval(v, env, depth)
                    if not isinstance(inner, Dict):
                        return UNKNOWN
                    pairs.extend(inner.items)
                else:
                    pairs.append((self._eval(k, env, depth), self._eval(v, env, depth)))
                if len(pairs) > COMPUTED_ITEMS_LIMIT:
                    return UNKNOWN
            return Dict(tuple(pairs))
        if isinstance(expr, ast.JoinedStr):
            return self._eval_fstring(expr, env, depth)
        if isinstance(expr, ast.BinOp):
            return self._eval_binop(expr, env, depth)
        if isinstance(expr, ast.Call):
            return self._eval_call(expr, env, depth)
        if isinstance(expr, ast.Subscript):
            base = self._eval(expr.value, env, depth)
            index = self._eval(expr.slice, env, depth)
            return self._subscript(base, index)
        if isinstance(expr, ast.Compare):
            return self._eval_compare(expr, env, depth)
        if isinstance(expr, ast.BoolOp):
            values = [self._eval(v, env, depth) for v in expr.values]
            if any(not is_plain(v) for v in values):
                return UNKNOWN
            truths = [truth(v) for v in values]
            return all(truths) if isinstance(expr.op, ast.And) else any(truths)
        if isinstance(expr, ast.UnaryOp):
            operand = self._eval(expr.operand, env, depth)
            if isinstance(expr.op, ast.Not) and is_plain(operand):
                return not truth(operand)
            if isinstance(expr.op, ast.USub) and isinstance(operand, (int, float)):
                return -operand
            return UNKNOWN
        if isinstance(expr, ast.IfExp):
            test = self._eval(expr.test, env, depth)
            if is_plain(test):
                return self._eval(expr.body if truth(test) else expr.orelse, env, depth)
            return UNKNOWN
        if isinstance(expr, COMPREHENSIONS):
            if self.hooks is not None and _makes_calls(expr):
                return self.hooks.comprehension(expr, env)
            return self._eval_comprehension(expr, env, depth)
        if isinstance(expr, ast.Lambda):
            return Func("<lambda>", node=expr, env=env)
        return UNKNOWN

    def _always_true(self, expr: ast.expr, env: Env, depth: int) -> bool:
        """``.where(True)``, ``.where(sa.true())``, ``.where(sa.text("1=1"))``: no row is
        left out (``WHERE true`` is no WHERE)."""
        value = self._eval(expr, env, depth)
        if value is True:
            return True
        if isinstance(value, Node) and last_part(value.qual) == "true":
            return True
        if isinstance(value, TextClause):
            return " ".join(value.text.text.lower().split()) in ("true", "1=1", "1 = 1")
        return False

    def _type_decorator(self, node: ast.ClassDef, env: Env, depth: int) -> object:
        """An instance of a ``TypeDecorator`` subclass is, to PostgreSQL, its ``impl``
        type; UNKNOWN when the class chooses the type per dialect (``load_dialect_impl``)
        or is not a TypeDecorator."""
        if not any(ast.unparse(b).endswith("TypeDecorator") for b in node.bases):
            return UNKNOWN
        impl: object = UNKNOWN
        for stmt in node.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) \
                    and stmt.name == "load_dialect_impl":
                return UNKNOWN
            if isinstance(stmt, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == "impl" for t in stmt.targets):
                impl = self._eval(stmt.value, env, depth)
        return impl

    def _project_value(self, name: ModuleName, expr: ast.expr) -> object:
        """A name imported from a project module: its static value there (strings located
        at ``expr``), or the name itself when the project does not define it statically."""
        assert self.project is not None
        value = self.project.lookup(name.qual)
        return name if value is None else detached(value, self.src.start(expr))

    def bindings(self, node: Comprehension, env: Env) -> tuple[list[Env], bool] | None:
        """The scopes a comprehension's element is evaluated in, one per item that passes
        every condition, and whether that is only part of them (an iterable only partly
        known, a condition not known); None when an iterable is not known statically or
        the comprehension would make more than COMPUTED_ITEMS_LIMIT items."""
        scopes = [env]
        partial = False
        for generator in node.generators:
            if generator.is_async:
                return None
            found: list[Env] = []
            for scope in scopes:
                items = iter_items(self.value(generator.iter, scope))
                if items is None:
                    return None
                partial = partial or items[1]
                for item in items[0]:
                    child = Env(scope)
                    bind(generator.target, item, child)
                    keep = True
                    for condition in generator.ifs:
                        test = self.value(condition, child)
                        if not is_plain(test):
                            partial, keep = True, False
                            break
                        if not truth(test):
                            keep = False
                            break
                    if keep:
                        found.append(child)
                    if len(found) > COMPUTED_ITEMS_LIMIT:
                        return None
            scopes = found
        return scopes, partial

    def _eval_comprehension(self, expr: Comprehension, env: Env, depth: int) -> object:
        bound = self.bindings(expr, env)
        if bound is None:
            return UNKNOWN
        scopes, partial = bound
        if isinstance(expr, ast.DictComp):
            if partial:
                return UNKNOWN
            return Dict(tuple((self._eval(expr.key, s, depth), self._eval(expr.value, s, depth))
                              for s in scopes))
        items = [self._eval(expr.elt, s, depth) for s in scopes]
        if isinstance(expr, ast.SetComp):
            items = distinct(items)
        return PartialSeq(tuple(items)) if partial else Seq(tuple(items))

    def _computed(self, text: str, at: Pos) -> object:
        """A computed string, or UNKNOWN when it is longer than this file allows."""
        return UNKNOWN if len(text) > self._text_limit else FixedText(text, at)

    def _number(self, value: object) -> object:
        """A computed number, or UNKNOWN when it is an integer too large to be real."""
        if isinstance(value, int) and value.bit_length() > COMPUTED_INT_BITS:
            return UNKNOWN
        return value

    def _eval_binop(self, expr: ast.BinOp, env: Env, depth: int) -> object:
        left = self._eval(expr.left, env, depth)
        right = self._eval(expr.right, env, depth)
        at = self.src.start(expr)
        if isinstance(expr.op, ast.Add):
            if isinstance(left, Text) and isinstance(right, Text):
                if len(left.text) + len(right.text) > self._text_limit:
                    return UNKNOWN
                return ConcatText([left, right], at)
            if isinstance(left, Seq) and isinstance(right, Seq):
                if len(left.items) + len(right.items) > COMPUTED_ITEMS_LIMIT:
                    return UNKNOWN
                return Seq(left.items + right.items)
            if is_number(left) and is_number(right):
                return self._number(left + right)  # type: ignore[operator]
            if isinstance(left, PartialSeq) and isinstance(right, (Seq, PartialSeq)):
                return PartialSeq(left.items + right.items)
            return self._concat_template(left, right, at)
        if isinstance(expr.op, ast.Mod) and isinstance(left, Text):
            if HUGE_PERCENT.search(left.text):
                return UNKNOWN
            args = python_value(right)
            if args is MISSING:
                return self._template(fill_percent(left.text, parts_of(right)), at)
            try:
                return self._computed(left.text % args, at)
            except (TypeError, ValueError, KeyError, OverflowError):
                return UNKNOWN
        if isinstance(expr.op, ast.Mult):
            if isinstance(left, Text) and isinstance(right, int) and 0 <= right <= 100:
                if len(left.text) * right > self._text_limit:
                    return UNKNOWN
                return FixedText(left.text * right, at)
            if is_number(left) and is_number(right):
                return self._number(left * right)  # type: ignore[operator]
        if isinstance(expr.op, ast.Sub) and is_number(left) and is_number(right):
            return self._number(left - right)  # type: ignore[operator]
        return UNKNOWN

    def _eval_compare(self, expr: ast.Compare, env: Env, depth: int) -> object:
        first = self._eval(expr.left, env, depth)
        if len(expr.ops) == 1 and isinstance(expr.ops[0], (ast.In, ast.NotIn)):
            url = self._eval(expr.comparators[0], env, depth)
            if isinstance(url, DbUrl) and isinstance(first, Text):
                found = url_contains(first.text)
                if found is None:
                    return UNKNOWN
                return found if isinstance(expr.ops[0], ast.In) else not found
        left = python_value(first)
        if left is MISSING:
            return UNKNOWN
        for op_node, comparator in zip(expr.ops, expr.comparators, strict=True):
            right = python_value(self._eval(comparator, env, depth))
            if right is MISSING:
                return UNKNOWN
            try:
                if isinstance(op_node, ast.Eq):
                    ok = left == right
                elif isinstance(op_node, ast.NotEq):
                    ok = left != right
                elif isinstance(op_node, ast.In):
                    ok = left in right  # type: ignore[operator]
                elif isinstance(op_node, ast.NotIn):
                    ok = left not in right  # type: ignore[operator]
                elif isinstance(op_node, ast.Is):
                    ok = left is right
                elif isinstance(op_node, ast.IsNot):
                    ok = left is not right
                else:
                    return UNKNOWN
            except TypeError:
                return UNKNOWN
            if not ok:
                return False
            left = right
        return True

    @staticmethod
    def _subscript(base: object, index: object) -> object:
        if isinstance(base, Seq) and isinstance(index, int) and not isinstance(index, bool):
            if -len(base.items) <= index < len(base.items):
                return base.items[index]
            return UNKNOWN
        if isinstance(base, Dict):
            key = python_value(index)
            if key is MISSING:
                return UNKNOWN
            for k, v in base.items:
                if python_value(k) == key:
                    return v
        return UNKNOWN

    def _eval_call(self, call: ast.Call, env: Env, depth: int) -> object:
        func = self._eval(call.func, env, depth)
        qual = func.qual if isinstance(func, ModuleName) else None
        if qual is not None:
            return self._eval_module_call(qual, call, env, depth)
        if isinstance(func, Func) and not func.is_class:
            return self.hooks.call_helper(func, call, env) if self.hooks is not None else UNKNOWN
        if isinstance(func, Func) and isinstance(func.node, ast.ClassDef):
            return self._type_decorator(func.node, func.env or env, depth)
        if not isinstance(call.func, ast.Attribute):
            return UNKNOWN
        method = call.func.attr
        owner = self._eval(call.func.value, env, depth)
        if isinstance(owner, Text):
            return self._eval_str_method(owner, method, call, env, depth)
        if isinstance(owner, DbUrl):
            return self._url_method(owner, method, call, env, depth)
        if isinstance(owner, Obj) and owner.kind == "config" and method == "get_main_option":
            return self._main_option(call, env, depth)
        if isinstance(owner, Obj) and owner.kind in ("engine", "conn") and method == "connect":
            return Conn()
        if isinstance(owner, TextClause):
            return owner  # .bindparams(...), .columns(...), .execution_options(...)
        if isinstance(owner, Table):
            if method in ("insert", "update", "delete", "select"):
                return Stmt(method, owner.name, owner.schema)
            return UNKNOWN
        if isinstance(owner, Stmt):
            if method in ("where", "filter", "filter_by") and (call.args or call.keywords):
                always = all(self._always_true(a, env, depth) for a in call.args) \
                    and not call.keywords
                return owner if always else replace(owner, has_where=True)
            return owner
        if isinstance(owner, Conn):
            return Obj("result") if method in ("execute", "exec_driver_sql") else Obj("conn")
        if isinstance(owner, Obj):
            return Obj(owner.kind)
        if isinstance(owner, Dict):
            if method == "items":
                return Seq(tuple(Seq((k, v)) for k, v in owner.items))
            if method == "keys":
                return Seq(tuple(k for k, _ in owner.items))
            if method == "values":
                return Seq(tuple(v for _, v in owner.items))
            if method == "get" and call.args:
                key = self._eval(call.args[0], env, depth)
                found = self._subscript(owner, key)
                wanted = python_value(key)
                if (found is UNKNOWN and wanted is not MISSING
                        and all(python_value(k) is not MISSING for k, _ in owner.items)
                        and all(python_value(k) != wanted for k, _ in owner.items)):
                    return self._eval(call.args[1], env, depth) if len(call.args) > 1 else None
                return found
        if isinstance(owner, Node):
            return Node(call, env, owner.qual)
        return UNKNOWN

    def _eval_module_call(self, qual: str, call: ast.Call, env: Env, depth: int) -> object:
        def arg(i: int, name: str | None = None) -> object:
            for kw in call.keywords:
                if kw.arg == name and name is not None:
                    return self._eval(kw.value, env, depth)
            if i < len(call.args) and not isinstance(call.args[i], ast.Starred):
                return self._eval(call.args[i], env, depth)
            return MISSING

        if qual in _SA_TEXT:
            text = arg(0, "text")
            if isinstance(text, Template):
                return TextClause(text.text, template=True)
            return TextClause(text) if isinstance(text, Text) else UNKNOWN
        if qual in _SA_CONV:
            text = arg(0, "name" if qual == "alembic.op.f" else "value")
            return text if isinstance(text, Text) else UNKNOWN
        if qual in ("textwrap.dedent", "inspect.cleandoc"):
            text = arg(0, "text")
            if not isinstance(text, Text):
                return UNKNOWN
            if qual == "textwrap.dedent":
                return dedent(text)
            import inspect as _inspect

            return FixedText(_inspect.cleandoc(text.text), text.at)
        if qual == "alembic.op.create_table":
            name = arg(0, "table_name")
            schema = arg(99, "schema")
            return Table(name.text if isinstance(name, Text) else None,
                          schema.text if isinstance(schema, Text) else None)
        if qual in ("alembic.op.get_bind", "alembic.context.get_bind"):
            return Conn()
        if qual in ("alembic.op.get_context", "alembic.context.get_context"):
            return Obj("context")
        if qual == "alembic.context.config.get_main_option":
            return self._main_option(call, env, depth)

        if qual in _SA_TABLE:
            name = arg(0, "name")
            schema = arg(99, "schema")
            return Table(
                name.text if isinstance(name, Text) else None,
                schema.text if isinstance(schema, Text) else None,
            )
        if qual in ("sqlalchemy.inspect",):
            return Obj("inspector")
        last = last_part(qual)
        if qual.startswith("sqlalchemy.") and last in ("insert", "update", "delete", "select"):
            target = arg(0, "table")
            if isinstance(target, Table):
                return Stmt(last, target.name, target.schema)
            return Stmt(last, None)
        if qual.startswith("sqlalchemy."):
            return Node(call, env, qual)
        if last in ENTITY_PARAMS and qual.split(".", 1)[0] in EXTENSION_MODULES:
            return self._entity(last, call, env, depth)
        if qual.startswith("logging."):
            return Obj("logger")
        if qual.startswith("builtins."):
            return self._eval_builtin(last, call, env, depth)
        return UNKNOWN

    def _entity(self, kind: str, call: ast.Call, env: Env, depth: int) -> object:
        """``PGPolicy(schema=..., signature=..., ...)``: its arguments by parameter name."""
        params = ENTITY_PARAMS[kind]
        if any(isinstance(a, ast.Starred) for a in call.args) or len(call.args) > len(params):
            return UNKNOWN
        fields = [(params[k], self._eval(a, env, depth)) for k, a in enumerate(call.args)]
        for kw in call.keywords:
            if kw.arg is None:
                return UNKNOWN
            fields.append((kw.arg, self._eval(kw.value, env, depth)))
        return Entity(kind, tuple(fields))

    def _eval_builtin(self, name: str, call: ast.Call, env: Env, depth: int) -> object:
        if call.keywords or any(isinstance(a, ast.Starred) for a in call.args):
            return UNKNOWN
        args = [self._eval(a, env, depth) for a in call.args]
        at = self.src.start(call)
        if name == "str" and len(args) == 1:
            if isinstance(args[0], (Text, DbUrl, Template)):
                return args[0]
            py = python_value(args[0])
            if py is MISSING:
                return UNKNOWN
            try:
                return self._computed(str(py), at)
            except ValueError:  # an integer past the interpreter's str() digit limit
                return UNKNOWN
        if name == "range" and 1 <= len(args) <= 3 and all(is_int(a) for a in args):
            ints = [a for a in args if isinstance(a, int)]
            rng = range(*ints)
            if len(rng) > RANGE_LIMIT:
                return UNKNOWN
            return Seq(tuple(rng))
        if name in ("list", "tuple", "sorted", "reversed") and len(args) == 1:
            seq = args[0]
            if isinstance(seq, Dict):
                seq = Seq(tuple(k for k, _ in seq.items))
            if not isinstance(seq, Seq):
                return UNKNOWN
            if name == "reversed":
                return Seq(tuple(reversed(seq.items)))
            if name == "sorted":
                keys = [python_value(i) for i in seq.items]
                if any(k is MISSING for k in keys):
                    return UNKNOWN
                try:
                    order = sorted(range(len(keys)), key=lambda i: keys[i])  # type: ignore[return-value,arg-type]
                except TypeError:
                    return UNKNOWN
                return Seq(tuple(seq.items[i] for i in order))
            return seq
        if name in ("set", "frozenset") and len(args) == 1:
            found = iter_items(args[0])
            if found is None or found[1]:
                return UNKNOWN
            return Seq(tuple(distinct(list(found[0]))))
        if name == "len" and len(args) == 1 and isinstance(args[0], (Seq, Dict, Text)):
            return len(args[0].text) if isinstance(args[0], Text) else len(args[0].items)
        if name in ("any", "all") and len(args) == 1:
            found = iter_items(args[0])
            if found is None or any(not is_plain(v) for v in found[0]):
                return UNKNOWN
            truths = [truth(v) for v in found[0]]
            if name == "any":
                return True if any(truths) else (UNKNOWN if found[1] else False)
            return False if not all(truths) else (UNKNOWN if found[1] else True)
        if name == "enumerate" and len(args) == 1 and isinstance(args[0], Seq):
            return Seq(tuple(Seq((i, item)) for i, item in enumerate(args[0].items)))
        if name == "zip" and args and all(isinstance(a, Seq) for a in args):
            seqs = [a.items for a in args if isinstance(a, Seq)]
            return Seq(tuple(Seq(tuple(group)) for group in zip(*seqs, strict=False)))
        return UNKNOWN

    # ------------------------------------------------------------------ helpers on values

    def names(self, value: object) -> tuple[str, ...] | None:
        """A list of column names (``["a", "b"]``, or a single ``"a"``)."""
        if isinstance(value, Text):
            return (value.text,)
        if isinstance(value, Seq):
            names: list[str] = []
            for item in value.items:
                text = self.column_name(item)
                if text is None:
                    return None
                names.append(text)
            return tuple(names)
        return None

    def column_name(self, value: object) -> str | None:
        if isinstance(value, Text):
            return value.text
        if isinstance(value, Node) and last_part(value.qual) in ("column", "literal_column"):
            args = value.call.args
            if args:
                return text_of(self.value(args[0], value.env))
        return None


def _makes_calls(node: ast.AST) -> bool:
    """Whether evaluating ``node`` calls anything (then the interpreter performs it)."""
    return any(isinstance(n, ast.Call) for n in ast.walk(node))
