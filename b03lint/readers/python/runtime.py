"""What the evaluator knows of the run-time objects a migration reaches: the connection
(``op.get_bind()``), the migration context, the engine, the dialect and the database URL.
b03lint reads migrations for PostgreSQL, so ``bind.dialect.name``, ``bind.engine.name``
and ``context.get_context().dialect.name`` are ``"postgresql"``, and the URL starts with
``postgresql``: a branch on the dialect is decided, and SQL under a branch for another
dialect is never read as PostgreSQL."""

from __future__ import annotations

import ast

from b03lint.readers.python.source import Source
from b03lint.readers.python.text import FixedText, Text
from b03lint.readers.python.values import MISSING, UNKNOWN, Conn, DbUrl, Env, Obj, Seq


class RuntimeObjects:
    """The run-time half of the :class:`~b03lint.readers.python.evaluator.Evaluator`."""

    src: Source

    def _eval(self, expr: ast.expr, env: Env, depth: int) -> object:
        raise NotImplementedError

    def _runtime_attribute(self, base: Conn | Obj, expr: ast.Attribute) -> object:
        """Attributes of the connection, the migration context, the engine and the
        dialect. b03lint reads migrations for PostgreSQL: ``bind.dialect.name``,
        ``bind.engine.name`` are ``"postgresql"`` and the URL starts so."""
        attr = expr.attr
        kind = "conn" if isinstance(base, Conn) else base.kind
        if attr == "dialect":
            return Obj("dialect")
        if attr == "name" and kind in ("dialect", "engine"):
            return FixedText("postgresql", self.src.start(expr))
        if attr == "engine" and kind in ("conn", "context"):
            return Obj("engine")
        if attr in ("bind", "connection") and kind in ("conn", "context"):
            return Conn()
        if attr == "config" and kind == "context":
            return Obj("config")
        if attr == "url" and kind in ("engine", "conn"):
            return DbUrl()
        return Obj("attribute")

    def _url_method(self, url: DbUrl, method: str, call: ast.Call, env: Env,
                    depth: int) -> object:
        """``url.startswith("postgresql")`` and the like, decided where the scheme decides."""
        if method == "startswith" and len(call.args) == 1 and not call.keywords:
            prefix = self._eval(call.args[0], env, depth)
            prefixes = prefix.items if isinstance(prefix, Seq) else (prefix,)
            found: list[bool] = []
            for p in prefixes:
                if not isinstance(p, Text):
                    return UNKNOWN
                if "postgresql".startswith(p.text):
                    found.append(True)
                elif p.text.startswith("postgresql"):
                    return UNKNOWN  # a driver: not known
                else:
                    found.append(False)
            return any(found)
        if method in ("render_as_string", "__str__", "lower", "strip"):
            return url
        if method == "get_backend_name":
            return FixedText("postgresql", self.src.start(call))
        if method == "get_dialect":
            return Obj("dialect")
        return UNKNOWN

    def _main_option(self, call: ast.Call, env: Env, depth: int) -> object:
        """``config.get_main_option("sqlalchemy.url")`` is the database URL; any other
        option is not known."""
        name = self._eval(call.args[0], env, depth) if call.args else MISSING
        if isinstance(name, Text) and name.text == "sqlalchemy.url":
            return DbUrl()
        return UNKNOWN


def url_contains(text: str) -> bool | None:
    """Whether the database URL contains ``text``, where the dialect decides it."""
    if text in ("postgresql", "postgres", "psql", "pg"):
        return True
    if text in ("mysql", "mariadb", "sqlite", "mssql", "oracle", "snowflake"):
        return False
    return None


