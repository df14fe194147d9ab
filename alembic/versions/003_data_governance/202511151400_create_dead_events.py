"""Create dead_events for failed events awaiting remediation.

Revision ID: 202511151400
Revises: 202511141000
Create Date: 2025-11-15 14:00:00

First revision of the data governance folder. dead_events is tenant-scoped, so row
level security is enabled and forced here, in the same revision as the table: a
tenant-scoped table never exists without its isolation policy.

Retry tracking and the remediation_status CHECK follow in 202511151440.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "202511151400"
down_revision: str | Sequence[str] | None = "202511141000"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dead_events",
        sa.Column("id", sa.Uuid(), primary_key=True, server_default=sa.text("gen_random_uuid()")),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.String(50), nullable=False),
        sa.Column("raw_payload", postgresql.JSONB(), nullable=False),
        sa.Column("error_type", sa.String(100), nullable=False),
        sa.Column("error_message", sa.Text(), nullable=False),
        sa.Column("remediation_status", sa.String(20), nullable=False, server_default="pending"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.text("now()")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"],
                                name="fk_dead_events_tenant_id", ondelete="CASCADE"),
    )

    op.execute("ALTER TABLE dead_events ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE dead_events FORCE ROW LEVEL SECURITY")
    op.execute("""
        CREATE POLICY tenant_isolation_policy ON dead_events
            USING (tenant_id = NULLIF(current_setting('app.current_tenant_id', true), '')::uuid)
            WITH CHECK (tenant_id = NULLIF(current_setting('app.current_tenant_id', true), '')::uuid)
    """)


def downgrade() -> None:
    # Dropping the table this revision created is its inverse (ADR-002); the policy
    # goes with the table.
    op.drop_table("dead_events")  # CI:DESTRUCTIVE_OK - See ADR-002
