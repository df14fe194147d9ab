"""Rules whose findings come from reading the files, and from the waiver check.

The readers and :mod:`b03lint.waivers` produce these findings; the classes here give each
one its stable code, its name, its documentation and its examples.
"""

from __future__ import annotations

from collections.abc import Iterable

from b03lint.findings import Finding
from b03lint.operations import Unresolved
from b03lint.rules.base import Example, FileContext, Rule
from b03lint.rules.destructive import _ADR, _mig


class InternalReaderError(Rule):
    """
    What it does:
        Reports a file the Python reader failed on because of a bug in b03lint itself.
        The file is treated as unreadable (exit code 2); please report it with the file.

    Why it matters:
        A reader bug must never turn into a silent PASS: the file was not checked.

    Example:
        Any input that makes the reader raise unexpectedly.

    How to fix:
        Report the bug with the file; meanwhile the rest of the chain is still linted.
    """

    code = "I000"
    name = "internal-reader-error"
    category = "input"
    no_invalid_example = "it reports a bug in b03lint's reader, which no input should cause"
    valid = (Example(_mig("    pass")),)


class PythonSyntaxError(Rule):
    """
    What it does:
        Reports a migration file that is not valid Python. The file cannot be checked, so
        the run ends with exit code 2 (the other files are still linted).

    Why it matters:
        Alembic would fail to load the whole chain; a linter that skipped the file would
        report "clean" for a file it never read.

    Example:
        ``def upgrade(:`` (a missing parenthesis)

    How to fix:
        Fix the syntax error at the reported line and column.
    """

    code = "I001"
    name = "python-syntax-error"
    category = "input"
    invalid = (Example(_mig("    op.drop_table(\"t\""), line=10),)
    valid = (Example(_mig("    pass")),)


class UndecodableFile(Rule):
    """
    What it does:
        Reports a migration file whose bytes are not valid in its declared encoding
        (UTF-8 unless a PEP 263 coding cookie says otherwise). Exit code 2.

    Why it matters:
        Python itself would refuse to import the file, and the linter cannot read it.

    Example:
        A Latin-1 ``é`` (byte 0xE9) in a UTF-8 file.

    How to fix:
        Save the file as UTF-8, or declare its encoding with ``# -*- coding: ... -*-``.
    """

    code = "I002"
    name = "undecodable-file"
    category = "input"
    invalid = (Example(_mig("    pass  # caf\udce9"), line=10,
                       title="a lone 0xE9 byte (written with surrogateescape)"),)
    valid = (Example(_mig("    pass  # café")),)


class SqlSyntaxError(Rule):
    """
    What it does:
        Reports SQL inside ``op.execute(...)`` that PostgreSQL's own parser rejects, at
        the line of the error.

    Why it matters:
        The migration would fail on deploy, and the statements in it cannot be checked.

    Example:
        ``op.execute("CREATE TABEL t (id int)")``

    How to fix:
        Correct the statement; the message quotes PostgreSQL's error.
    """

    code = "I003"
    name = "sql-syntax-error"
    category = "input"
    invalid = (Example(_mig('    op.execute("CREATE TABEL t (id int)")'), line=10),)
    valid = (Example(_mig('    op.execute("CREATE TABLE t (id int)")')),)


class UnresolvedOperation(Rule):
    """
    What it does:
        Reports a construct in ``upgrade()``/``downgrade()`` whose effect cannot be known
        without running the code: SQL built at run time, a call to a helper, a loop over a
        computed list, a ``DO`` block with dynamic SQL, a condition.

    Why it matters:
        b03lint never guesses: what it cannot read is named, so a PASS means "checked",
        not "skipped". Schema objects such an operation may touch are treated as unknown.

    Example:
        ``op.execute(build_sql(table))``

    How to fix:
        Write the operation literally (a string literal or module constant for SQL, plain
        ``op.*`` calls), or accept the info finding.
    """

    code = "I004"
    name = "unresolved-operation"
    category = "input"
    default_severity = "info"
    phases = frozenset({"upgrade", "downgrade", "module"})
    operation_kinds = frozenset({Unresolved.kind})
    invalid = (Example(_mig("    op.execute(build_sql())"), line=10),)
    valid = (Example(_mig('    op.execute("SELECT 1")')),)

    def check_operation(self, op: Unresolved, ctx: FileContext) -> Iterable[Finding]:  # type: ignore[override]
        why = (" (a data statement: no schema fact depends on it)" if op.data else "")
        yield self.finding(op.loc, f"cannot resolve statically: {op.reason}{why}",
                           object=op.table, data={"snippet": op.snippet} if op.snippet else None)


class MissingRevision(Rule):
    """
    What it does:
        Reports a file in the migrations folder that has no ``revision = "..."``.

    Why it matters:
        Alembic cannot place it in the chain; its operations would never run.

    Example:
        A migration file whose ``revision`` line was deleted.

    How to fix:
        Give it a unique revision id and a ``down_revision``.
    """

    code = "I005"
    name = "missing-revision"
    category = "input"
    invalid = (Example('"""x"""\nfrom alembic import op\n\n\ndef upgrade():\n    pass\n', line=1),)
    valid = (Example(_mig("    pass")),)


class NotARevision(Rule):
    """
    What it does:
        Reports a Python file in a version folder that has none of ``revision``,
        ``down_revision``, ``upgrade()`` and ``downgrade()``: a helper module or a
        leftover, not a revision. It is not read as part of the chain (an info; a file
        that has some of them but no ``revision`` is I005, blocking).

    Why it matters:
        Alembic loads every ``.py`` file of its version folders and stops with "Could not
        determine revision id" on one without ``revision`` (unless its name is a
        hexadecimal id), so such a file breaks ``alembic upgrade``.

    Example:
        ``alembic/versions/helpers.py`` holding shared functions.

    How to fix:
        Move the module out of the version folder (next to ``env.py``, or into the
        application) and import it from there.
    """

    code = "I006"
    name = "not-a-revision"
    category = "input"
    default_severity = "info"
    invalid = (Example('"""Shared helpers."""\n\n\ndef quote(name):\n    return name\n',
                       line=1),)
    valid = (Example(_mig("    pass")),)


class OperationCannotRun(Rule):
    """
    What it does:
        Reports an Alembic call that cannot run as written: ``op.drop_constraint(None,
        ...)`` (what autogenerate writes for a constraint that had no name in the model).
        Blocking in ``upgrade()``; a warning in ``downgrade()``, which is run less often
        but fails all the same when it is.

    Why it matters:
        Alembic needs the constraint's name to emit ``ALTER TABLE ... DROP CONSTRAINT``:
        with ``None`` it stops with "Can't emit DROP CONSTRAINT for constraint ...; it has
        no name", and the upgrade (or the downgrade) cannot be applied.

    Example:
        ``op.drop_constraint(None, "orders", type_="foreignkey")``

    How to fix:
        Write the name PostgreSQL gave the constraint (``\\d orders`` in psql; by
        default ``<table>_<column>_fkey``, ``<table>_<columns>_key``, ``<table>_pkey``,
        ``<table>_<column>_check``), or name constraints in the model with a naming
        convention so autogenerate writes them.
    """

    code = "I007"
    name = "operation-cannot-run"
    category = "input"
    phases = frozenset({"upgrade", "downgrade", "module"})
    invalid = (Example(_mig('    op.drop_constraint(None, "orders", type_="foreignkey")'),
                       line=10),)
    valid = (Example(_mig('    op.drop_constraint("orders_user_id_fkey", "orders", '
                          'type_="foreignkey")')),)


class WaiverWithoutAdr(Rule):
    """
    What it does:
        Reports a ``# CI:DESTRUCTIVE_OK`` waiver that cites no ADR. It waives nothing.

    Why it matters:
        The guide (section 5.2) requires every destructive waiver to reference the ADR
        that authorised it; a bare waiver is an unexplained exception.

    Example:
        ``op.drop_column("tenants", "name")  # CI:DESTRUCTIVE_OK``

    How to fix:
        Write ``# CI:DESTRUCTIVE_OK - See ADR-<id>`` with the deciding ADR.
    """

    code = "D020"
    name = "waiver-without-adr"
    category = "destructive"
    invalid = (Example(_mig('    op.drop_column("tenants", "name")  # CI:DESTRUCTIVE_OK'),
                       line=10),)
    valid = (Example(_mig('    op.drop_column("tenants", "name")  # CI:DESTRUCTIVE_OK - See '
                          'ADR-007'), files=_ADR),)


class WaiverUnknownAdr(Rule):
    """
    What it does:
        Reports a ``# CI:DESTRUCTIVE_OK - See ADR-<id>`` waiver whose ADR has no file in
        the configured ``adr_dir``. It waives nothing.

    Why it matters:
        A waiver must point at a decision someone can read; a typo or an unwritten ADR
        would otherwise let destructive DDL through.

    Example:
        ``# CI:DESTRUCTIVE_OK - See ADR-999`` with no ``ADR-999-*.md``.

    How to fix:
        Write the ADR first, or cite the right one.
    """

    code = "D021"
    name = "waiver-unknown-adr"
    category = "destructive"
    invalid = (Example(_mig('    op.drop_column("tenants", "name")  # CI:DESTRUCTIVE_OK - See '
                            'ADR-999'), line=10, files=_ADR),)
    valid = (Example(_mig('    op.drop_column("tenants", "name")  # CI:DESTRUCTIVE_OK - See '
                          'ADR-007'), files=_ADR),)


class UnusedWaiver(Rule):
    """
    What it does:
        Reports a valid waiver with no destructive operation on its line or the next.

    Why it matters:
        A stray waiver hides nothing today, but silently waives whatever destructive line
        is moved next to it tomorrow.

    Example:
        ``# CI:DESTRUCTIVE_OK - See ADR-007`` above an ``op.add_column(...)``.

    How to fix:
        Move it onto (or just above) the destructive operation, or delete it.
    """

    code = "D022"
    name = "unused-waiver"
    category = "destructive"
    default_severity = "warning"
    invalid = (Example(_mig('    # CI:DESTRUCTIVE_OK - See ADR-007\n'
                            '    op.add_column("t", sa.Column("a", sa.Text()))'),
                       line=10, files=_ADR),)
    valid = (Example(_mig('    # CI:DESTRUCTIVE_OK - See ADR-007\n'
                          '    op.drop_column("t", "a")'), files=_ADR),)


RULES: tuple[type[Rule], ...] = (
    InternalReaderError, PythonSyntaxError, UndecodableFile, SqlSyntaxError, UnresolvedOperation,
    MissingRevision, NotARevision, OperationCannotRun,
    WaiverWithoutAdr, WaiverUnknownAdr, UnusedWaiver,
)
