"""Rules whose findings come from a real database (``b03lint rebuild``): the static
replay disagreeing with PostgreSQL, a CHECK that behaves unlike its canonical value set, a
migration that fails against the server, a downgrade that does not undo its upgrade.

They have no static hook: ``b03lint check`` never reports them. Their examples are run
against a real PostgreSQL server through ``b03lint rebuild`` (``b03lint.live.examples``,
called by ``b03lint.testing.check_example`` for rules with ``live = True``).
"""

from __future__ import annotations

from typing import ClassVar

from b03lint.rules.base import Example, Rule

_CANON_PATH = "db/schema/canonical_schema.sql"
_CONFIG = {"canonical_sql": _CANON_PATH}

_CANONICAL = """\
CREATE TABLE dead_events (
    id uuid PRIMARY KEY,
    remediation_status varchar(20) NOT NULL DEFAULT 'pending',
    CONSTRAINT ck_dead_events_remediation_status_valid
        CHECK (remediation_status IN ('pending', 'resolved', 'abandoned'))
);
"""

_HEAD = '''"""live example"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "{rev}"
down_revision = {down}


def upgrade():
'''

_CREATE = '''\
    op.create_table(
        "dead_events",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("remediation_status", sa.String(20), nullable=False,
                  server_default="pending"),
        sa.CheckConstraint(
            "remediation_status IN ('pending', 'resolved', {last})",
            name="ck_dead_events_remediation_status_valid",
        ),
    )
'''

_DROP = '''

def downgrade():
    op.drop_table("dead_events")
'''


def _migration(body: str, downgrade: str = _DROP, *, rev: str = "a1",
               down: str | None = None) -> str:
    return (_HEAD.format(rev=rev, down=repr(down)) + body + downgrade).rstrip() + "\n"


_GOOD = _migration(_CREATE.format(last="'abandoned'"))
_BASE_FILE = "alembic/versions/base.py"


def _example(source: str, line: int | None = None, *, files: dict[str, str] | None = None,
             title: str = "") -> Example:
    return Example(source, line=line, files={_CANON_PATH: _CANONICAL, **(files or {})},
                   config=_CONFIG, title=title)


def _line(source: str, text: str) -> int:
    return source[: source.index(text)].count("\n") + 1


class LiveRule(Rule):
    """Shared: reported by ``b03lint rebuild`` only."""

    #: findings come from a real database: the examples run through ``b03lint rebuild``
    #: (b03lint.live.examples) with these of its flags
    live: ClassVar[bool] = True
    rebuild_flags: ClassVar[tuple[str, ...]] = ()


_M001_SOURCE = _migration(_CREATE.format(last="'abandoned'") + '''\
    op.execute("""
        CREATE FUNCTION make_status_index() RETURNS void LANGUAGE plpgsql AS $$
        BEGIN
            EXECUTE 'CREATE INDEX idx_dead_events_status ON dead_events (remediation_status)';
        END $$
    """)
    op.execute("SELECT make_status_index()")
''', '''

def downgrade():
    op.drop_table("dead_events")
    op.execute("DROP FUNCTION make_status_index()")
''')


class ReplayModelMismatch(LiveRule):
    """
    What it does:
        After ``b03lint rebuild`` upgrades a scratch database, compares what PostgreSQL
        built with b03lint's static replay of the chain at the same revision, object by
        object (tables, columns, constraints, indexes, RLS, policies). Any difference is
        reported, with both sides.

    Why it matters:
        ``b03lint check`` trusts the replay; a replay that disagrees with the real server
        means the static verdicts about that object are wrong. The difference is never
        hidden: it is a bug in b03lint's readers or model, or SQL that only the server
        understands (a function that creates an index when called).

    Example:
        A migration creates a function whose body creates ``idx_dead_events_status`` and
        calls it with ``SELECT make_status_index()``: the server has the index, the replay
        does not know it.

    How to fix:
        Write the DDL literally in the migration (so that the replay, and reviewers, see
        it), or report the reader bug with the two facts the finding names.
    """

    code = "M001"
    name = "replay-model-mismatch"
    category = "contract"
    invalid = (_example(_M001_SOURCE),)
    valid = (_example(_GOOD),)


class ProbeFailed(LiveRule):
    """
    What it does:
        With ``b03lint rebuild --probes``, inserts a row for every value of every canonical
        CHECK value set (``col IN (...)``) and for values outside it (values the chain once
        allowed and one made-up value), each in a savepoint rolled back at once, filling the
        other columns and the parent rows of foreign keys with generated values. An allowed
        value that is rejected, or a forbidden value that is accepted, is reported.

    Why it matters:
        This is the guide's section 3.4 verification, done for every constraint: the
        catalog text can look right while the constraint behaves otherwise, and only an
        INSERT proves which values PostgreSQL really accepts.

    Example:
        Canonical allows ``'abandoned'``; the migration's CHECK allows ``'ignored'``
        instead: inserting ``'abandoned'`` fails.

    How to fix:
        Replace the constraint in a new migration with the canonical value set.
    """

    code = "M002"
    name = "probe-failed"
    category = "contract"
    rebuild_flags = ("probes",)
    invalid = (_example(_migration(_CREATE.format(last="'ignored'")),
                        line=_line(_GOOD, "op.create_table(")),)
    valid = (_example(_GOOD),)


_M003_SOURCE = _migration(_CREATE.format(last="'abandoned'"), '''

def downgrade():
    op.drop_index("idx_dead_events_status", table_name="dead_events")
    op.drop_table("dead_events")
''')


class MigrationFailed(LiveRule):
    """
    What it does:
        Reports a revision whose ``upgrade()`` or ``downgrade()`` raises against a real
        PostgreSQL server during ``b03lint rebuild`` (and its ``--roundtrip``), at the line
        of the migration that failed, with the server's message. The migrations run in a
        child process b03lint supervises: a revision that ends it (``sys.exit``,
        ``os._exit``, a crash) or hangs past ``--migration-timeout`` is reported here too,
        at that revision, and the run then ends with an error (verdict ERROR).

    Why it matters:
        A downgrade that fails is no rollback plan (guide section 6.3: "downgrade completes
        without manual intervention"); an upgrade that fails on a clean database means the
        chain cannot rebuild the baseline at all.

    Example:
        ``downgrade()`` drops ``idx_dead_events_status``, which no upgrade created.

    How to fix:
        Make the failing step match the schema it runs against, and run the round trip
        again.
    """

    code = "M003"
    name = "migration-failed"
    category = "safety"
    rebuild_flags = ("roundtrip",)
    invalid = (_example(_M003_SOURCE, line=_line(_M003_SOURCE, "op.drop_index(")),)
    valid = (_example(_GOOD),)


_M004_BASE = _migration(_CREATE.format(last="'abandoned'"), rev="a0")
_M004_SOURCE = _migration('''\
    op.create_index("idx_dead_events_status", "dead_events", ["remediation_status"])
''', '''

def downgrade():
    pass
''', rev="a1", down="a0")


class RoundtripResidue(LiveRule):
    """
    What it does:
        With ``b03lint rebuild --roundtrip``, downgrades the last revisions one at a time
        and upgrades them again, comparing the schema after each step with the schema the
        upgrade path built at that revision. A difference after a downgrade (something
        left behind or removed too much) or after the upgrade that follows is reported,
        naming the revision.

    Why it matters:
        Guide section 6: the rollback path must be reliable and leave no residue; an index
        a downgrade forgets makes the next upgrade fail, or silently keeps a shape that no
        longer matches the canonical schema.

    Example:
        The upgrade creates ``idx_dead_events_status``; the downgrade is ``pass``.

    How to fix:
        Make ``downgrade()`` undo exactly what ``upgrade()`` does.
    """

    code = "M004"
    name = "roundtrip-residue"
    category = "safety"
    rebuild_flags = ("roundtrip",)
    invalid = (_example(_M004_SOURCE, line=_line(_M004_SOURCE, "def downgrade"),
                        files={_BASE_FILE: _M004_BASE}),)
    valid = (_example(_GOOD),)


_TRACE_BASE = _migration(_CREATE.format(last="'abandoned'"), rev="a0")
_M005_SOURCE = _migration('''\
    op.execute("""
        CREATE FUNCTION close_dead_events() RETURNS void LANGUAGE plpgsql AS $$
        BEGIN
            LOCK TABLE dead_events IN ACCESS EXCLUSIVE MODE;
        END $$
    """)
    op.execute("SELECT close_dead_events()")
''', '''

def downgrade():
    op.execute("DROP FUNCTION close_dead_events()")
''', rev="a1", down="a0")
_M005_VALID = _migration('''\
    op.create_index("idx_dead_events_status", "dead_events", ["remediation_status"])
    op.add_column("dead_events", sa.Column("note", sa.Text()))
''', '''

def downgrade():
    op.drop_column("dead_events", "note")
    op.drop_index("idx_dead_events_status", table_name="dead_events")
''', rev="a1", down="a0")


class LockModelMismatch(LiveRule):
    """
    What it does:
        With ``b03lint rebuild --trace``, measures every statement Alembic sends on the
        scratch database (the table locks the migration's backend holds in ``pg_locks``,
        the relations whose ``relfilenode`` changed, the tables read in full, whether it
        waited for other transactions) and compares it with the lock model
        (:mod:`b03lint.pgmodel.locks`) at that statement, for the server's PostgreSQL
        major. A lock, rewrite, scan or wait the model gets wrong is reported, with both
        sides; effects the model does not predict (a catalog lookup's ACCESS SHARE) are
        listed in the trace, not reported.

    Why it matters:
        The lock rules (``L001``-``L020``), ``b03lint locks`` and ``b03lint show`` all
        trust the model; a statement the model judges wrongly is one whose lock risk
        nobody was told about. The difference is never hidden: it is a gap in the model,
        or SQL whose effect only the server sees (a function that locks a table when
        called).

    Example:
        ``SELECT close_dead_events()``, a function whose body runs ``LOCK TABLE
        dead_events IN ACCESS EXCLUSIVE MODE``: the model sees a query, the server holds
        the strongest lock.

    How to fix:
        Write the locking statement literally in the migration (so that the lock rules,
        and reviewers, see it), or report the model's gap with the two sides the finding
        names.
    """

    code = "M005"
    name = "lock-model-mismatch"
    category = "safety"
    rebuild_flags = ("trace",)
    invalid = (_example(_M005_SOURCE, line=_line(_M005_SOURCE, 'op.execute("SELECT'),
                        files={_BASE_FILE: _TRACE_BASE}),)
    valid = (_example(_M005_VALID, files={_BASE_FILE: _TRACE_BASE}),)


_M006_SOURCE = _migration('''\
    op.add_column("dead_events", sa.Column("source", sa.Text(), nullable=False))
''', '''

def downgrade():
    op.drop_column("dead_events", "source")
''', rev="a1", down="a0")


class FailsWithRows(LiveRule):
    """
    What it does:
        With ``b03lint rebuild --trace``, every table gets a few generated rows after each
        revision, before the next one runs. A revision that fails on those rows but
        upgrades once the tables are emptied again is reported.

    Why it matters:
        A scratch rebuild starts from empty tables, and production does not: ``ADD COLUMN
        ... NOT NULL`` without a default, a unique index on a column every row shares, a
        CHECK the existing rows break, all pass the rebuild and fail the deployment. It is
        a warning, because the rows are generated: a value the application never writes
        can break a constraint real rows keep.

    Example:
        ``op.add_column("dead_events", sa.Column("source", sa.Text(), nullable=False))``
        on a table an earlier revision created.

    How to fix:
        Make the revision work on the rows that exist: a ``server_default``, a backfill
        before the constraint, the constraint added ``NOT VALID`` and validated once the
        data is clean (the lock rules' fixes show the steps).
    """

    code = "M006"
    name = "fails-with-rows"
    category = "safety"
    default_severity = "warning"
    rebuild_flags = ("trace",)
    invalid = (_example(_M006_SOURCE, line=_line(_M006_SOURCE, "op.add_column("),
                        files={_BASE_FILE: _TRACE_BASE}),)
    valid = (_example(_M005_VALID, files={_BASE_FILE: _TRACE_BASE}),)


RULES: tuple[type[Rule], ...] = (ReplayModelMismatch, ProbeFailed, MigrationFailed,
                                 RoundtripResidue, LockModelMismatch, FailsWithRows)
