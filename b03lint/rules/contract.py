"""The schema contract: the chain, replayed statically, must build the canonical schema
(guide sections 2.2, 3 and 4.3). Each rule reports one family of deviations, at the line
of the operation that introduced the deviating state, with its drift-register id."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, ClassVar

from b03lint.findings import Finding
from b03lint.operations import Location, MigrationFile, Severity
from b03lint.rules.base import Example, Rule

if TYPE_CHECKING:
    from b03lint.contract import Classified, ContractState
    from b03lint.project import Project
    from b03lint.schema.model import Invariant, Origin, Schema

CANON = "db/schema/canonical_schema.sql"
_CONFIG = {"canonical_sql": CANON}

_CANONICAL_SQL = """\
CREATE TABLE dead_events (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    remediation_status varchar(20) NOT NULL DEFAULT 'pending',
    retry_count integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE dead_events
    ADD CONSTRAINT ck_dead_events_remediation_status_valid
    CHECK (remediation_status IN ('pending', 'in_progress', 'resolved', 'abandoned'));
CREATE INDEX idx_dead_events_recent ON dead_events (tenant_id, created_at DESC)
    INCLUDE (retry_count);
ALTER TABLE dead_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE dead_events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation_policy ON dead_events
    USING (tenant_id = current_setting('app.current_tenant_id')::uuid);
"""

_GOOD_BODY = '''\
    op.create_table(
        "dead_events",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("tenant_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("remediation_status", sa.String(20), nullable=False,
                  server_default="pending"),
        sa.Column("retry_count", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.text("now()")),
    )
    op.create_check_constraint(
        "ck_dead_events_remediation_status_valid", "dead_events",
        "remediation_status IN ('pending', 'in_progress', 'resolved', 'abandoned')",
    )
    op.create_index("idx_dead_events_recent", "dead_events",
                    ["tenant_id", sa.text("created_at DESC")],
                    postgresql_include=["retry_count"])
    op.execute("ALTER TABLE dead_events ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE dead_events FORCE ROW LEVEL SECURITY")
    op.execute("""CREATE POLICY tenant_isolation_policy ON dead_events
        USING (tenant_id = current_setting('app.current_tenant_id')::uuid)""")
'''

_HEAD = '''"""contract example"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "a1"
down_revision = None


def upgrade():
'''
# the body starts at line 11 of the example file
_BODY_LINE = 11


def _mig(body: str) -> str:
    return _HEAD + body + "\n\ndef downgrade():\n    pass\n"


def _example(old: str = "", new: str = "", *, canonical: str = _CANONICAL_SQL,
             line: int | None = None, title: str = "") -> Example:
    """The good migration with ``old`` replaced by ``new``."""
    body = _GOOD_BODY.replace(old, new) if old else _GOOD_BODY
    assert not old or old in _GOOD_BODY, old
    return Example(_mig(body), line=line, files={CANON: canonical}, config=_CONFIG,
                   title=title)


def _line_of(text: str) -> int:
    return _BODY_LINE + _GOOD_BODY[: _GOOD_BODY.index(text)].count("\n")


class ContractRule(Rule):
    """Shared behaviour; subclasses hold the documentation and the deviation kinds."""

    category: ClassVar[str] = "contract"
    deviation_kinds: ClassVar[frozenset[str]] = frozenset()

    def check_project(self, project: Project) -> Iterable[Finding]:
        from b03lint.contract import analyze

        state = analyze(project)
        for item in state.classified:
            if item.deviation.kind in self.deviation_kinds:
                yield self.to_finding(item, project)

    def to_finding(self, item: Classified, project: Project) -> Finding:
        dev = item.deviation
        canonical_where = ""
        if dev.expected is not None:
            canonical_where = f" (canonical: {dev.expected.loc.path}:{dev.expected.loc.line})"
        loc = (dev.actual.loc if dev.actual is not None else
               dev.expected.loc if dev.expected is not None else
               Location(project.config.migrations_label(), 1, 0))
        message = dev.message + canonical_where
        if item.note:
            message += f" [{item.note}]"
        data: dict[str, object] = {"deviation": dev.kind, **dev.details}
        if dev.actual is not None and dev.actual.revision:
            data["revision"] = dev.actual.revision
        if item.entry is not None:
            data["drift_id"] = item.entry.id
            data["drift_status"] = item.entry.status
        if dev.expected is not None:
            data["canonical"] = f"{dev.expected.loc.path}:{dev.expected.loc.line}"
        finding = Finding.at(loc, code=self.code, rule=self.name,
                             severity=item.severity or self.severity, message=message,
                             object=dev.object, fix=self.fix_for(item, project), data=data)
        return finding

    fix_hint: ClassVar[str] = "correct the migration"

    def fix_for(self, item: Classified, project: Project) -> str:
        """The fix line, true of this run: registering is offered only for an unregistered
        deviation, ``reconcile --emit-migration`` only where that command would run (one
        head or a checked revision, every file readable, no tool error)."""
        entry = item.entry
        if entry is not None and entry.status == "open":
            return f"{self.fix_hint}, or close {entry.id} once its decision is made"
        if entry is not None and item.severity is None and "not yet applied" in item.note:
            return (f"{entry.resolving_revision} resolves {entry.id}; it is not in the checked "
                    "chain yet")
        if entry is not None:
            return f"{self.fix_hint}: {entry.id} says it is resolved, but it is still present"
        graph = project.graph
        can_reconcile = ((project.rev is not None or len(graph.heads) == 1)
                         and not project.errors and all(mf.readable for mf in project.files))
        hint = self.fix_hint
        if can_reconcile:
            hint += " (or write a reconciliation migration: b03lint reconcile --emit-migration)"
        return f"{hint}, or register the drift (b03lint drift new)"



class EnumMismatch(ContractRule):
    """
    What it does:
        Compares the value set of every CHECK constraint of the form ``col IN (...)`` (and
        every enum type) that the chain builds with the canonical schema, naming the missing
        and the extra values.

    Why it matters:
        This is the guide's SCHEMA-DRIFT-002: the chain accepted ``'ignored'`` where the
        canonical schema allows ``'abandoned'``, so valid rows were rejected and invalid ones
        accepted, silently.

    Example:
        Canonical: ``CHECK (remediation_status IN ('pending', 'in_progress', 'resolved',
        'abandoned'))``; migration: ``... 'resolved', 'ignored')``.

    How to fix:
        Replace the constraint in a new migration with the canonical value set (after
        updating rows that hold the retired value), or register the drift.
    """

    code = "C001"
    name = "enum-mismatch"
    deviation_kinds = frozenset({"enum-values"})
    invalid = (_example("'resolved', 'abandoned')\",", "'resolved', 'ignored')\",",
                        line=_line_of("op.create_check_constraint(")),)
    valid = (_example(),)


class IndexShape(ContractRule):
    """
    What it does:
        Compares each index the chain builds with the canonical index of the same name:
        columns and their order, ASC/DESC and NULLS order, INCLUDE columns, uniqueness,
        partial WHERE and access method. An index that exists under another name is
        reported too.

    Why it matters:
        This is the guide's SCHEMA-DRIFT-001: the composite index with its INCLUDE payload
        is what makes the channel-performance query index-only; a near miss is slow in
        production and looks fine in review.

    Example:
        Canonical ``(tenant_id, created_at DESC) INCLUDE (retry_count)``; migration
        ``(tenant_id, created_at)`` without INCLUDE.

    How to fix:
        Drop and recreate the index with the canonical shape in a new migration (the
        destructive drop needs its waiver), or register the drift.
    """

    code = "C002"
    name = "index-shape"
    deviation_kinds = frozenset({"index-shape", "index-name"})
    invalid = (
        _example('postgresql_include=["retry_count"])', ")",
                 line=_line_of("op.create_index("), title="INCLUDE missing"),
        _example('sa.text("created_at DESC")', '"created_at"',
                 line=_line_of("op.create_index("), title="ASC instead of DESC"),
    )
    valid = (_example(),)


class MissingObject(ContractRule):
    """
    What it does:
        Reports a table, column, index, constraint or enum type of the canonical schema that
        the chain never builds (or drops again).

    Why it matters:
        Code written against the canonical schema fails on a database built from the
        migrations; a missing constraint silently admits bad rows.

    Example:
        Canonical declares ``idx_dead_events_recent``; no migration creates it.

    How to fix:
        Add the object in a new migration, or register the drift.
    """

    code = "C003"
    name = "missing-object"
    deviation_kinds = frozenset({"missing-table", "missing-column", "missing-index",
                                 "missing-constraint", "missing-enum"})
    invalid = (_example('''    op.create_index("idx_dead_events_recent", "dead_events",
                    ["tenant_id", sa.text("created_at DESC")],
                    postgresql_include=["retry_count"])
''', "", line=_line_of('    op.create_table(')),)
    valid = (_example(),)


class ExtraObject(ContractRule):
    """
    What it does:
        Reports a table, column, index, constraint or policy that the chain builds but the
        canonical schema does not declare.

    Why it matters:
        The canonical schema is the contract (guide 2.2): an object only the migrations know
        is undocumented behaviour, like the ``channel_code`` foreign key of SCHEMA-DRIFT-003.

    Example:
        A migration adds ``dead_events.debug_blob``; canonical has no such column.

    How to fix:
        Add it to the canonical schema (through its owner), remove it in a new migration,
        or register the drift with its ADR.
    """

    code = "C004"
    name = "extra-object"
    deviation_kinds = frozenset({"extra-table", "extra-column", "extra-index",
                                 "extra-constraint", "extra-policy"})
    invalid = (_example('    op.execute("ALTER TABLE dead_events FORCE ROW LEVEL SECURITY")\n',
                        '    op.execute("ALTER TABLE dead_events FORCE ROW LEVEL SECURITY")\n'
                        '    op.add_column("dead_events", sa.Column("debug_blob", sa.Text()))\n',
                        line=_line_of('    op.execute("""CREATE POLICY')),)
    valid = (_example(),)


class ColumnRenamed(ContractRule):
    """
    What it does:
        Reports a canonical column that is absent where exactly one column of the same type
        that canonical does not know appeared on the same table: a rename.

    Why it matters:
        It is the guide's SCHEMA-DRIFT-003 (``channel`` vs ``channel_code``): every query
        written against the canonical name fails.

    Example:
        Canonical ``retry_count integer``; the migration creates ``retries integer``.

    How to fix:
        Rename it back in a new migration, or record the decision in an ADR and register
        the drift until the canonical schema is updated.
    """

    code = "C005"
    name = "column-renamed"
    deviation_kinds = frozenset({"column-renamed"})
    invalid = (_example('sa.Column("retry_count", sa.Integer()',
                        'sa.Column("retries", sa.Integer()', line=_line_of("    op.create_table(")),)
    valid = (_example(),)


class ColumnDefinition(ContractRule):
    """
    What it does:
        Compares each column's type (with length/precision), nullability and server default
        with the canonical schema.

    Why it matters:
        The guide's invariants are column facts (``session_id`` NOT NULL, ``api_key_hash``
        NOT NULL); a nullable column where canonical says NOT NULL lets bad rows in.

    Example:
        Canonical ``remediation_status varchar(20) NOT NULL``; migration ``sa.String(50)``.

    How to fix:
        Alter the column in a new migration to the canonical definition.
    """

    code = "C006"
    name = "column-definition"
    deviation_kinds = frozenset({"column-type", "column-nullability", "column-default"})
    invalid = (_example('sa.Column("remediation_status", sa.String(20)',
                        'sa.Column("remediation_status", sa.String(50)',
                        line=_line_of("    op.create_table(")),
               _example('sa.Column("tenant_id", postgresql.UUID(as_uuid=True), nullable=False)',
                        'sa.Column("tenant_id", postgresql.UUID(as_uuid=True))',
                        line=_line_of("    op.create_table("), title="nullable"))
    valid = (_example(),)


class ConstraintMismatch(ContractRule):
    """
    What it does:
        Compares constraints of the same name (kind, columns, CHECK expression, foreign-key
        target and ON DELETE), and finds canonical constraints that exist under another
        name.

    Why it matters:
        Constraint names are part of the contract: the guide's verification expects
        ``violates check constraint "ck_dead_events_remediation_status_valid"``.

    Example:
        Canonical ``CHECK (retry_count >= 0)``; migration ``CHECK (retry_count > 0)``.

    How to fix:
        Replace the constraint in a new migration with the canonical definition and name.
    """

    code = "C007"
    name = "constraint-mismatch"
    deviation_kinds = frozenset({"constraint-differs", "constraint-name"})
    invalid = (_example('"ck_dead_events_remediation_status_valid", "dead_events"',
                        '"ck_remediation", "dead_events"',
                        line=_line_of("op.create_check_constraint("), title="renamed"),)
    valid = (_example(),)


class RlsDisabled(ContractRule):
    """
    What it does:
        Reports a table where the chain leaves row level security disabled, or not
        forced, while the canonical schema enables, or forces, it.

    Why it matters:
        The guide's security invariant (4.3): without RLS one tenant reads another's rows;
        without FORCE the table owner (often the application role) bypasses the policies.

    Example:
        The canonical schema has ``ALTER TABLE dead_events ENABLE ROW LEVEL SECURITY``; a
        migration creates ``dead_events`` and never enables it.

    How to fix:
        ``ALTER TABLE ... ENABLE ROW LEVEL SECURITY`` (and ``... FORCE ROW LEVEL
        SECURITY`` where the canonical schema forces it) in a new migration, with the
        tenant-isolation policy.
    """

    code = "C008"
    name = "rls-disabled"
    deviation_kinds = frozenset({"rls-disabled", "rls-not-forced"})
    invalid = (_example('    op.execute("ALTER TABLE dead_events ENABLE ROW LEVEL SECURITY")\n'
                        '    op.execute("ALTER TABLE dead_events FORCE ROW LEVEL SECURITY")\n',
                        "", line=_line_of("    op.create_table(")),
               _example('    op.execute("ALTER TABLE dead_events FORCE ROW LEVEL SECURITY")\n',
                        "", line=_line_of('    op.execute("ALTER TABLE dead_events ENABLE'),
                        title="canonical forces it, the chain only enables it"))
    valid = (_example(),
             _example('    op.execute("ALTER TABLE dead_events FORCE ROW LEVEL SECURITY")\n',
                      "", canonical=_CANONICAL_SQL.replace(
                          "ALTER TABLE dead_events FORCE ROW LEVEL SECURITY;\n", ""),
                      title="canonical and chain both only enable it"))


class TenantRlsRecommended(ContractRule):
    """
    What it does:
        Recommends row level security on a tenant-scoped table (one with the tenant
        column, ``tenant_id`` by default, or declared tenant-scoped in the canonical YAML)
        where neither the canonical schema nor the chain enables it, or where RLS is
        enabled but neither forces it. It is a security recommendation, not a contract
        deviation: it never cites a canonical line, since none says it.

    Why it matters:
        Without RLS any role that can read the table reads every tenant's rows; without
        FORCE the table's owner, often the role the application connects as, bypasses
        every policy.

    Example:
        Canonical and chain both ``ENABLE ROW LEVEL SECURITY`` on ``dead_events`` (which
        has ``tenant_id``) and neither forces it.

    How to fix:
        Decide it in the canonical schema: add ``FORCE ROW LEVEL SECURITY`` (and
        ``ENABLE``) there and in a migration, or ignore this rule for the tables whose
        owner must bypass the policies (``per_file_ignores`` or a suppression with its
        reason).
    """

    code = "R001"
    name = "tenant-rls-recommended"
    category = "security"
    default_severity = "warning"
    deviation_kinds = frozenset({"rls-recommended"})
    fix_hint = ("enable and force row level security in the canonical schema and in a "
                "migration, or record why this table's owner must bypass its policies")

    def fix_for(self, item: Classified, project: Project) -> str:
        return self.fix_hint
    _ENABLE_ONLY = _CANONICAL_SQL.replace("ALTER TABLE dead_events FORCE ROW LEVEL SECURITY;\n",
                                          "")
    invalid = (_example('    op.execute("ALTER TABLE dead_events FORCE ROW LEVEL SECURITY")\n',
                        "", canonical=_ENABLE_ONLY,
                        line=_line_of('    op.execute("ALTER TABLE dead_events ENABLE'),
                        title="enabled, not forced, in canonical and chain"),
               _example('    op.execute("ALTER TABLE dead_events ENABLE ROW LEVEL SECURITY")\n'
                        '    op.execute("ALTER TABLE dead_events FORCE ROW LEVEL SECURITY")\n',
                        "", canonical=_ENABLE_ONLY.replace(
                            "ALTER TABLE dead_events ENABLE ROW LEVEL SECURITY;\n", ""),
                        line=_line_of("    op.create_table("),
                        title="disabled in canonical and chain"))
    valid = (_example(), _example(
        '    op.execute("ALTER TABLE dead_events FORCE ROW LEVEL SECURITY")\n', "",
        title="the chain only enables, canonical forces: C008's finding, not this"))


class PolicyMismatch(ContractRule):
    """
    What it does:
        Reports a canonical policy the chain does not create, a policy whose command, roles,
        USING or WITH CHECK differ, and a tenant-scoped table with no policy at all.

    Why it matters:
        With RLS enabled and no matching policy, the table is either empty to the
        application or, with a wrong USING clause, open across tenants.

    Example:
        Canonical ``tenant_isolation_policy``; the migration never creates it.

    How to fix:
        Create (or replace) the policy in a new migration exactly as canonical declares it.
    """

    code = "C009"
    name = "policy-mismatch"
    deviation_kinds = frozenset({"missing-policy", "policy-differs"})
    invalid = (_example("current_setting('app.current_tenant_id')::uuid)\"\"\")",
                        "current_setting('app.tenant')::uuid)\"\"\")",
                        line=_line_of('    op.execute("""CREATE POLICY')),)
    valid = (_example(),)


class UnknownObject(ContractRule):
    """
    What it does:
        Reports a canonical table that could not be compared because an unresolved
        operation (SQL built at run time, a helper call) may have changed it.

    Why it matters:
        b03lint never guesses. The table is named so that a PASS is never mistaken for
        "checked" when it was not; ``b03lint rebuild`` checks it against a real database.

    Example:
        ``op.execute(build_sql("dead_events"))`` where ``dead_events`` is canonical.

    How to fix:
        Write the operation literally, or run the live rebuild to prove the result.
    """

    code = "C014"
    name = "unknown-object"
    default_severity = "info"
    deviation_kinds = frozenset({"unknown-object"})
    fix_hint = "write the operation literally, or prove the result with b03lint rebuild"

    def fix_for(self, item: Classified, project: Project) -> str:
        return self.fix_hint
    invalid = (_example('    op.execute("ALTER TABLE dead_events FORCE ROW LEVEL SECURITY")\n',
                        '    op.execute("ALTER TABLE dead_events FORCE ROW LEVEL SECURITY")\n'
                        '    op.execute(helper_sql)\n',
                        line=None),)
    valid = (_example(),)


class StaleDriftEntry(Rule):
    """
    What it does:
        Reports a drift-register entry that no longer describes a real deviation: an open
        entry nothing matches at head, or a resolved entry that matched nothing just before
        its resolving revision (or names a revision not in the chain).

    Why it matters:
        The register is evidence (guide 3.2); an entry that describes nothing misleads the
        next engineer who follows section 2.4's walk.

    Example:
        ``SCHEMA-DRIFT-009`` is open for ``dead_events.retry_count``, which matches
        canonical.

    How to fix:
        Mark the entry resolved with the revision that fixed it, or remove it.
    """

    code = "C012"
    name = "stale-drift-entry"
    category = "contract"
    default_severity = "warning"
    invalid = (Example(_mig(_GOOD_BODY), line=None, files={
        CANON: _CANONICAL_SQL,
        "db/schema/drift_register.yaml": "version: 1\nentries:\n  - id: SCHEMA-DRIFT-009\n"
                                         "    object: dead_events.retry_count\n"
                                         "    status: open\n"},
        config={**_CONFIG, "drift_register": "db/schema/drift_register.yaml"}),)
    valid = (_example(),)

    def check_project(self, project: Project) -> Iterable[Finding]:
        from b03lint.contract import analyze

        for entry, why in analyze(project).stale:
            yield self.finding(Location(entry.path, entry.line, 0), f"{entry.id} {why}",
                               object=entry.object, data={"drift_id": entry.id})


class ReplayConflict(Rule):
    """
    What it does:
        Reports an operation that cannot apply to the schema the chain has built up to that
        point: dropping a column that is not there, creating an index that exists, altering
        a table that was never created, or dropping what other objects depend on without
        ``CASCADE`` (a column a foreign key of another table, a policy or a generated column
        uses; a table other tables reference; the index a constraint owns), as PostgreSQL
        refuses it.

    Why it matters:
        ``alembic upgrade`` would fail on that line against a database built by the chain;
        the static replay finds it without one.

        Only what the chain itself could have known is reported missing: a table, index or
        sequence no revision creates comes from the schema the chain starts from. A chain
        whose first revision creates nothing while later ones use such tables (its schema
        came from ``metadata.create_all()`` or a dump) is said so once, as an ``info`` at
        that revision, naming the ``base_schema`` setting: a SQL file (a ``pg_dump``, the
        canonical SQL) the replay then starts from, or ``"external"``.

    Example:
        ``op.drop_column("dead_events", "retries")`` when the chain created ``dead_events``
        without ``retries``.

    How to fix:
        Correct the names, or the order of the revisions; for a chain that starts from an
        existing schema, set ``base_schema``.
    """

    code = "C013"
    name = "replay-conflict"
    category = "contract"
    invalid = (Example(_mig('    op.create_table("dead_events", sa.Column("id", sa.Integer()))\n'
                            '    op.drop_column("dead_events", "retries")'), line=12),
               Example(_mig('    op.create_table("t", sa.Column("id", sa.Integer()))\n'
                            '    op.drop_table("t")\n'
                            '    op.add_column("t", sa.Column("x", sa.Text()))'), line=13,
                       title="a table the chain dropped"))
    valid = (Example(_mig('    op.create_table("t", sa.Column("id", sa.Integer()))\n'
                          '    op.drop_column("t", "id")')),
             Example(_mig('    op.drop_column("users", "legacy")'),
                     title="a table from the schema the chain starts from"))

    def check_project(self, project: Project) -> Iterable[Finding]:
        from b03lint.contract import project_replay

        replay = project.memo.get("replay:conflicts")
        if replay is None:
            target = None
            if project.rev is not None:
                try:
                    target = project.graph.resolve(project.rev)
                except KeyError:
                    return
            replay = project_replay(project, target)
            project.memo["replay:conflicts"] = replay
        for c in replay.conflicts:
            loc = c.loc
            yield self.finding(loc, c.message, object=c.object,
                               data={"revision": c.revision} if c.revision else None)
        if project.config.get("base_schema") or not replay.external_tables:
            return
        root = _root_creating_nothing(project)
        if root is None:
            return
        tables = sorted(replay.external_tables)
        shown = ", ".join(tables[:3]) + (f" and {len(tables) - 3} more" if len(tables) > 3
                                         else "")
        yield self.finding(
            root.revision_loc or Location(root.path, 1, 0),
            f"the chain starts from a schema it did not build: its first revision creates no "
            f"table, and {len(tables)} table(s) it uses are never created by it ({shown}); "
            "nothing about them is reported missing. Say so with base_schema = \"external\" "
            "in [tool.b03lint], or base_schema = \"schema.sql\" (a pg_dump of the starting "
            "point) to check against it", object=None,
            data={"external_tables": tables}).with_severity("info")


def _root_creating_nothing(project: Project) -> MigrationFile | None:
    """The chain's first revision when it creates no table (its schema came from
    elsewhere); None when every root creates one."""
    from b03lint.operations import CreateTable

    graph = project.graph
    for rev in graph.order:
        mf = graph.nodes[rev]
        if graph.parents.get(rev) or not mf.readable:
            continue
        if not any(isinstance(op, CreateTable) for op in mf.upgrade_ops):
            return mf
    return None


class CanonicalDisagreement(Rule):
    """
    What it does:
        With both canonical files configured, reports every difference between the
        canonical SQL and its YAML mirror, naming both places.

    Why it matters:
        The guide names both as authoritative (2.1); tools reading the YAML and people
        reading the SQL must see the same schema.

    Example:
        The SQL allows ``'abandoned'``, the YAML still lists ``'ignored'``.

    How to fix:
        Regenerate the YAML from the SQL (``b03lint canonical export``), or fix the SQL.
    """

    code = "C011"
    name = "canonical-disagreement"
    category = "contract"
    invalid = (Example(_mig(_GOOD_BODY), line=None, files={
        CANON: _CANONICAL_SQL, "db/schema/canonical_schema.yaml":
            "version: 1\ntables:\n  dead_events:\n    columns:\n      id: {type: uuid}\n"},
        config={**_CONFIG, "canonical_yaml": "db/schema/canonical_schema.yaml"}),)
    valid = (_example(),)

    def check_project(self, project: Project) -> Iterable[Finding]:
        from b03lint.contract import analyze
        from b03lint.schema.diff import diff

        canonical = analyze(project).canonical
        if canonical.sql is None or canonical.yaml is None:
            return
        tenant = str(project.config.get("tenant_column"))
        for dev in diff(canonical.yaml, canonical.sql, tenant_column=tenant):
            if dev.kind.startswith("rls-") and dev.actual is None:
                continue
            yaml_where = (f"{dev.actual.loc.path}:{dev.actual.loc.line}" if dev.actual
                          else canonical.yaml_path)
            sql_where = (f"{dev.expected.loc.path}:{dev.expected.loc.line}" if dev.expected
                         else canonical.sql_path)
            loc = (dev.actual.loc if dev.actual else dev.expected.loc if dev.expected
                   else Location(canonical.yaml_path or "", 1, 0))
            yield self.finding(loc, f"canonical YAML and SQL disagree: {dev.message} "
                                    f"(YAML: {yaml_where}; SQL: {sql_where})",
                               object=dev.object, data={"deviation": dev.kind})


_INV_YAML = """\
version: 1
tables:
  audit_log:
    columns:
      id: {type: uuid, nullable: false}
      actor: {type: text, nullable: false}
    primary_key: {name: audit_log_pkey, columns: [id]}
invariants:
  - id: INV-100
    description: "Security: the audit log is protected by row level security"
    kind: rls_enabled
    object: audit_log
"""


def _inv_example(rls: bool, line: int | None) -> Example:
    body = ('    op.create_table(\n        "audit_log",\n'
            '        sa.Column("id", postgresql.UUID(), primary_key=True),\n'
            '        sa.Column("actor", sa.Text(), nullable=False),\n    )\n')
    if rls:
        body += '    op.execute("ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY")\n'
    return Example(_mig(body), line=line, files={"db/schema/canonical_schema.yaml": _INV_YAML},
                   config={"canonical_yaml": "db/schema/canonical_schema.yaml"})


class InvariantViolated(Rule):
    """
    What it does:
        Proves each structural invariant declared in the canonical YAML's ``invariants:``
        section (the guide's section 4.3 checklist: ``api_key_hash`` NOT NULL UNIQUE,
        ``idempotency_key`` unique index, ``session_id`` NOT NULL, the remediation-status
        values, RLS on tenant-scoped tables, ...) on the schema the chain builds, and
        reports every one that does not hold.

    Why it matters:
        The guide verifies these by hand with psql after a rebuild; b03lint proves them at
        commit time, at the line of the operation that shaped the object.

    Example:
        Invariant ``rls_enabled audit_log`` (the canonical schema itself declares no RLS
        for the table); a migration creates ``audit_log`` and never enables RLS. An
        invariant that a more precise contract finding already explains (the same object)
        is not reported twice.

    How to fix:
        Correct the migration so the invariant holds, or (with the schema steward and an
        ADR) change the canonical schema and its invariant.
    """

    code = "C010"
    name = "invariant-violated"
    category = "contract"
    invalid = (_inv_example(False, _BODY_LINE),)
    valid = (_inv_example(True, None),)

    def check_project(self, project: Project) -> Iterable[Finding]:
        from b03lint.contract import analyze
        from b03lint.schema.canonical_yaml import check_invariants

        state = analyze(project)
        canonical = state.canonical.schema
        if canonical is None or state.replay is None or not canonical.invariants:
            return
        schema = state.replay.schema
        tenant = str(project.config.get("tenant_column"))
        for inv, problem in check_invariants(schema, canonical.invariants,
                                             tenant_column=tenant):
            if _explained(inv, state):
                continue  # a contract finding already names this object, more precisely
            origin = _object_origin(schema, inv.object) or inv.origin
            loc = origin.loc if origin else Location(state.canonical.yaml_path or "", 1, 0)
            where = f" (declared: {inv.origin.loc.path}:{inv.origin.loc.line})" \
                if inv.origin else ""
            entry = state.register.match({inv.object}) if state.register else None
            note = f" [registered as {entry.id} ({entry.status})]" if entry else ""
            severity: Severity | None = ("warning" if entry is not None
                                         and entry.status == "open" else None)
            yield Finding.at(
                loc, code=self.code, rule=self.name, severity=severity or self.severity,
                message=f"{inv.id} {inv.description}: {problem}{where}{note}",
                object=inv.object,
                data={"invariant": inv.id, **({"drift_id": entry.id} if entry else {})})


#: deviation kinds that break an invariant of each kind
_INVARIANT_FAMILY = {
    "rls_enabled": {"rls-disabled", "rls-not-forced"},
    "not_null": {"column-nullability", "missing-column", "column-renamed"},
    "column_exists": {"missing-column", "column-renamed"},
    "check_values": {"enum-values", "missing-constraint", "constraint-differs"},
    "unique_index": {"index-shape", "index-name", "missing-index"},
    "index_includes": {"index-shape", "index-name", "missing-index"},
    "constraint_exists": {"missing-constraint", "constraint-name"},
}


def _explained(inv: Invariant, state: ContractState) -> bool:
    """Whether a deviation the diff reports already accounts for this invariant failing:
    the same object, or (for an invariant over every tenant-scoped table) a deviation of
    the family the invariant checks."""
    from b03lint.schema.canonical_yaml import ALL_TENANT_SCOPED

    family = _INVARIANT_FAMILY.get(inv.kind, set())
    for item in state.classified:
        dev = item.deviation
        if inv.object in dev.names():
            return True
        if inv.object == ALL_TENANT_SCOPED and dev.kind in family:
            return True
    return False


def _object_origin(schema: Schema, name: str) -> Origin | None:
    """Where the replay last shaped ``name`` (a table, ``table.column``, an index or a
    constraint)."""
    if name in schema.indexes:
        return schema.indexes[name].origin
    table_name, _, part = name.partition(".")
    table = schema.tables.get(table_name)
    if table is None:
        return None
    if not part:
        return table.origin
    for con in table.constraints.values():  # a value-set invariant: the CHECK shaped it
        if con.enum_column == part:
            return con.origin
    if part in table.columns:
        return table.columns[part].origin
    if part in table.constraints:
        return table.constraints[part].origin
    return table.origin


RULES: tuple[type[Rule], ...] = (
    EnumMismatch, IndexShape, MissingObject, ExtraObject, ColumnRenamed, ColumnDefinition,
    ConstraintMismatch, RlsDisabled, TenantRlsRecommended, PolicyMismatch, InvariantViolated, CanonicalDisagreement,
    StaleDriftEntry,
    ReplayConflict, UnknownObject,
)
