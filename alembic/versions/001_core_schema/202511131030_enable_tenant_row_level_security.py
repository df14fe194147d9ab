"""Enable and force tenant row level security on the core tables.

Revision ID: 202511131030
Revises: 202511131000
Create Date: 2025-11-13 10:30:00

Every table with a tenant_id column isolates tenants in the database (canonical
schema, "Tenancy" convention): ENABLE makes the policy apply to ordinary roles,
FORCE makes it apply to the table owner too, and tenant_isolation_policy admits
only rows whose tenant_id equals app.current_tenant_id, which the application sets
per transaction (SET LOCAL app.current_tenant_id = '<uuid>'). Without the setting
the policy admits no row (missing_ok, and NULLIF for the empty string a reset
leaves): the table owner can run this chain on an empty database, and a session
that forgot its tenant sees nothing and can write nothing (ADR-005).

The statements are written out table by table, not generated in a loop, so that
reviewers and b03lint read exactly what runs.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "202511131030"
down_revision: str | Sequence[str] | None = "202511131000"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE attribution_events ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE attribution_events FORCE ROW LEVEL SECURITY")
    op.execute("""
        CREATE POLICY tenant_isolation_policy ON attribution_events
            USING (tenant_id = NULLIF(current_setting('app.current_tenant_id', true), '')::uuid)
            WITH CHECK (tenant_id = NULLIF(current_setting('app.current_tenant_id', true), '')::uuid)
    """)

    op.execute("ALTER TABLE attribution_allocations ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE attribution_allocations FORCE ROW LEVEL SECURITY")
    op.execute("""
        CREATE POLICY tenant_isolation_policy ON attribution_allocations
            USING (tenant_id = NULLIF(current_setting('app.current_tenant_id', true), '')::uuid)
            WITH CHECK (tenant_id = NULLIF(current_setting('app.current_tenant_id', true), '')::uuid)
    """)

    op.execute("ALTER TABLE revenue_ledger ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE revenue_ledger FORCE ROW LEVEL SECURITY")
    op.execute("""
        CREATE POLICY tenant_isolation_policy ON revenue_ledger
            USING (tenant_id = NULLIF(current_setting('app.current_tenant_id', true), '')::uuid)
            WITH CHECK (tenant_id = NULLIF(current_setting('app.current_tenant_id', true), '')::uuid)
    """)


def downgrade() -> None:
    # Removing the isolation this revision added is its inverse (ADR-002).
    op.execute("""
        -- CI:DESTRUCTIVE_OK - See ADR-002
        DROP POLICY tenant_isolation_policy ON revenue_ledger
    """)
    op.execute("ALTER TABLE revenue_ledger NO FORCE ROW LEVEL SECURITY")  # CI:DESTRUCTIVE_OK - See ADR-002
    op.execute("ALTER TABLE revenue_ledger DISABLE ROW LEVEL SECURITY")  # CI:DESTRUCTIVE_OK - See ADR-002

    op.execute("""
        -- CI:DESTRUCTIVE_OK - See ADR-002
        DROP POLICY tenant_isolation_policy ON attribution_allocations
    """)
    op.execute("ALTER TABLE attribution_allocations NO FORCE ROW LEVEL SECURITY")  # CI:DESTRUCTIVE_OK - See ADR-002
    op.execute("ALTER TABLE attribution_allocations DISABLE ROW LEVEL SECURITY")  # CI:DESTRUCTIVE_OK - See ADR-002

    op.execute("""
        -- CI:DESTRUCTIVE_OK - See ADR-002
        DROP POLICY tenant_isolation_policy ON attribution_events
    """)
    op.execute("ALTER TABLE attribution_events NO FORCE ROW LEVEL SECURITY")  # CI:DESTRUCTIVE_OK - See ADR-002
    op.execute("ALTER TABLE attribution_events DISABLE ROW LEVEL SECURITY")  # CI:DESTRUCTIVE_OK - See ADR-002
