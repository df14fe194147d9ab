"""Read an Alembic revision file statically with ``ast``, never import or execute.

:func:`read_migration` turns one revision file into a :class:`~b03lint.operations.MigrationFile`:
the revision metadata (``revision``, ``down_revision``, ``branch_labels``, ``depends_on``),
the docstring's first line, every ``#`` comment by line, and the :class:`Operation` objects
that ``upgrade()`` and ``downgrade()`` perform.

How the body is read:

* every ``op.<name>(...)`` call (whatever name ``alembic.op`` is imported under) and every
  ``batch_op.<name>(...)`` inside ``with op.batch_alter_table(...) as batch_op:`` maps to the
  operation vocabulary;
* SQL handed to ``op.execute``, ``op.get_bind().execute``, ``conn.execute`` or
  ``conn.exec_driver_sql`` is resolved statically (literals, module constants, local
  variables holding literals, ``+`` and implicit concatenation, ``textwrap.dedent``,
  f-strings whose placeholders are themselves static) and handed to the SQL reader with a
  ``position`` callback that maps each character of the SQL back to the line and column of
  the ``.py`` file where it is written, so findings and waivers sit at the statement's own
  line;
* ``for x in <literal sequence>:`` loops are unrolled with the loop variable substituted;
* whatever could change the schema but cannot be known statically (a variable built at run
  time, a helper function, a loop over run-time data, a condition, a ``try``) becomes an
  :class:`Unresolved` operation at its location. Nothing is silently dropped.

Numbers in :class:`Location` are 1-based lines and 0-based *character* columns (``ast``
reports UTF-8 byte offsets; they are converted so that columns agree with the SQL reader's
and with what editors show).

What the reader models the way Alembic and SQLAlchemy really behave (checked against
Alembic's offline SQL output):

* ``op.create_table`` creates the enum types of its ``sa.Enum`` columns (a
  :class:`CreateEnumType` before the table, unless ``create_type=False``); ``op.add_column``
  and ``op.alter_column`` do *not* (PostgreSQL then fails with "type does not exist" unless
  the type was created first, e.g. with ``sa.Enum(...).create(op.get_bind())``, which is
  read as a :class:`CreateEnumType`).
* The table's autoincrement column (one integer primary-key column without default,
  identity or foreign key) is a SERIAL: NOT NULL with the ``nextval(...)`` default
  PostgreSQL stores, the same text the SQL reader gives ``serial``.
* ``CreateTable`` has the SQL reader's shape: primary-key columns are ``primary_key`` and
  NOT NULL, and every constraint, column-level ones included, is in ``constraints``.
  ``index=True`` gives ``ix_<table>_<column>`` (unique when ``unique=True`` too).
* A string given to ``op.execute`` is wrapped in ``sa.text()`` by Alembic: its ``:name``
  bind parameters are replaced by a parameter PostgreSQL's grammar accepts (same length,
  so positions hold); ``exec_driver_sql`` gets the driver's ``%(name)s`` / ``%s`` replaced.
* ``bind.dialect.name`` is ``"postgresql"``, so ``if bind.dialect.name == "postgresql":``
  is decided statically. A condition, ``try``, ``while`` or unknown loop gets an
  :class:`Unresolved` marker in front of the operations read inside it (naming their
  table when they all concern one); a block with no operation gets no marker.


The layers, each a module of this package (a file's text flows down; each layer uses
only the ones below it)::

    read_migration(path, bytes)                       __init__.py   the entry point
      source.py      decode, parse, lines, byte -> character columns, literal positions
      comments.py    every ``#`` comment by line (waivers, suppressions)
      module.py      module level: imports, constants, revision metadata, which
                     upgrade()/downgrade() Alembic calls, calls at import time
      interpreter.py statements of upgrade()/downgrade(): assignments, if/for/with/try,
                     loops unrolled, calls dispatched, Unresolved markers (unroll budget)
      alembic_ops.py the op / batch_op surface: one table, operation name -> builder
      constructs.py  SQLAlchemy: Column, types, Enum, constraints, Index, server defaults
      embedded_sql.py SQL given to execute(), CHECK text, index text -> the SQL reader
                     (imported lazily: pglast only for files with SQL; SQL budget)
      inline.py      helpers of the file (and of project modules) inlined, bounded
      calls.py       what an executed call does: dispatch to the layers below
      extensions.py  alembic_utils entities, alembic-postgresql-enum's sync_enum_values
      project.py     names imported from the project's own modules, read statically
      emit.py        where a call's operations go; Unreadable; unresolved()
      evaluator.py   the static value of an expression, never an effect (size, depth
                     and item limits); strings.py (f-strings, format, templates) and
                     runtime.py (connection, dialect, URL) are its two halves
      values.py      what a static value can be (Seq, Dict, ModuleName, Node, ...), Env
      text.py        static strings that remember where each character is written

A new ``op.*`` operation is a builder and one row in ``alembic_ops.OPERATIONS``; a new
SQLAlchemy construct goes to ``constructs.py``; a better evaluator to ``evaluator.py``.
"""

from __future__ import annotations

import hashlib

from b03lint.operations import Diagnostic, Location, MigrationFile
from b03lint.readers.memo import SqlMemo
from b03lint.readers.python.alembic_ops import AlembicOps
from b03lint.readers.python.comments import collect_comments
from b03lint.readers.python.constructs import Constructs
from b03lint.readers.python.embedded_sql import EmbeddedSql
from b03lint.readers.python.evaluator import Evaluator
from b03lint.readers.python.interpreter import Interpreter
from b03lint.readers.python.module import ModuleReader
from b03lint.readers.python.project import FileModules
from b03lint.readers.python.source import Source, decode, parse
from b03lint.readers.python.values import Env

__all__ = ["read_migration"]


def read_migration(path: str, data: bytes, modules: FileModules | None = None,
                   memo: SqlMemo | None = None) -> MigrationFile:
    """Read one Alembic revision file statically.

    ``path`` is the display path used in every :class:`Location`; ``data`` the file's raw
    bytes; ``modules`` the project's modules it may import names from (read statically,
    see ``project.py``; none when not given); ``memo`` readings of SQL texts to take
    instead of reading them again (see :mod:`b03lint.readers.memo`; what the file reads
    as is the same with or without it). Never raises: unreadable input becomes a fatal
    :class:`Diagnostic`.
    """
    mf = MigrationFile(path=path, digest=hashlib.sha256(data).hexdigest())
    try:
        _read(path, data, mf, modules, memo)
    except (RecursionError, MemoryError) as exc:
        mf.diagnostics.append(
            Diagnostic(
                code="I001",
                message=f"cannot read {path}: the file is too deeply nested or too large "
                f"({type(exc).__name__})",
                loc=Location(path, 1),
                fatal=True,
            )
        )
    except Exception as exc:  # a bug of ours must not become a traceback for the user
        mf.diagnostics.append(
            Diagnostic(
                code="I000",
                message=f"internal error while reading {path}: {type(exc).__name__}: {exc}",
                loc=Location(path, 1),
                fatal=True,
            )
        )
    return mf


def _read(path: str, data: bytes, mf: MigrationFile, modules: FileModules | None,
          memo: SqlMemo | None) -> None:
    text = decode(path, data, mf.diagnostics)
    if text is None:
        return
    src = Source(text, path)
    tree = parse(path, text, mf.diagnostics)
    if tree is None:
        return
    collect_comments(text, mf.comments)
    ev = Evaluator(src, len(data))
    ev.project = modules
    sql = EmbeddedSql(path, data, mf, memo)
    sa = Constructs(ev, sql, src)
    ops = AlembicOps(ev, sa, sql, src, mf.diagnostics)
    module_env = Env()
    interp = Interpreter(ev, ops, sa, src, module_env)
    try:
        ModuleReader(mf, ev, interp, src).read(tree)
    finally:
        if modules is not None:
            mf.sources = tuple(modules.sources())
        mf.sql_keys = sql.keys()
        _release(module_env, ev, sql, sa, ops, interp)


def _release(env: Env, *readers: object) -> None:
    """Break the reference cycles of one file's reading (a scope holds its functions, each
    function its scope; the readers hold one another), so that the syntax tree and every
    value go as soon as the reading is done. Left to the cyclic garbage collector, they
    were a third of all objects a cold run allocates, and collecting them cost about a
    tenth of its time."""
    env.vars.clear()
    for reader in readers:
        vars(reader).clear()
