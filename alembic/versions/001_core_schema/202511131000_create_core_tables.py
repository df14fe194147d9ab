"""Create the core tables and the updated_at trigger.

Revision ID: 202511131000
Revises:
Create Date: 2025-11-13 10:00:00

First revision of the B0.3 chain: tenants, attribution_events,
attribution_allocations and revenue_ledger. Row level security for the tenant-scoped tables
follows in 202511131030.

Known deviations introduced here (see db/schema/drift_register.yaml):
  * attribution_allocations stores the channel as ``channel_code`` (canonical:
    ``channel``), SCHEMA-DRIFT-003;
  * attribution_allocations gets single-column indexes on tenant_id and
    channel_code instead of the canonical composite index, SCHEMA-DRIFT-001;
  * revenue_ledger.transaction_id is nullable until 202511161130.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "202511131000"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", sa.Uuid(), primary_key=True, server_default=sa.text("gen_random_uuid()")),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("api_key_hash", sa.String(255), nullable=False),
        sa.Column("notification_email", sa.String(255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.text("now()")),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.text("now()")),
    )
    op.create_index("idx_tenants_api_key_hash", "tenants", ["api_key_hash"], unique=True)

    op.create_table(
        "attribution_events",
        sa.Column("id", sa.Uuid(), primary_key=True, server_default=sa.text("gen_random_uuid()")),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=False),
        sa.Column("event_type", sa.String(50), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revenue_cents", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("currency", sa.CHAR(3), nullable=False, server_default="USD"),
        sa.Column("utm_source", sa.String(255), nullable=True),
        sa.Column("utm_medium", sa.String(255), nullable=True),
        sa.Column("utm_campaign", sa.String(255), nullable=True),
        sa.Column("raw_payload", postgresql.JSONB(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.text("now()")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"],
                                name="fk_attribution_events_tenant_id", ondelete="CASCADE"),
        sa.CheckConstraint("revenue_cents >= 0",
                           name="ck_attribution_events_revenue_cents_non_negative"),
    )
    op.create_index("idx_events_idempotency", "attribution_events", ["idempotency_key"],
                    unique=True)
    op.create_index("idx_events_tenant_occurred_at", "attribution_events",
                    ["tenant_id", sa.text("occurred_at DESC")])

    op.create_table(
        "attribution_allocations",
        sa.Column("id", sa.Uuid(), primary_key=True, server_default=sa.text("gen_random_uuid()")),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("channel_code", sa.String(100), nullable=False),
        sa.Column("allocation_model", sa.String(50), nullable=False),
        sa.Column("allocated_revenue_cents", sa.Integer(), nullable=False,
                  server_default=sa.text("0")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.text("now()")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"],
                                name="fk_attribution_allocations_tenant_id", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["event_id"], ["attribution_events.id"],
                                name="fk_attribution_allocations_event_id", ondelete="CASCADE"),
        sa.CheckConstraint(
            "allocated_revenue_cents >= 0",
            name="ck_attribution_allocations_allocated_revenue_cents_non_negative",
        ),
    )
    op.create_index("idx_allocations_event_id", "attribution_allocations", ["event_id"])
    op.create_index("idx_allocations_tenant_id", "attribution_allocations", ["tenant_id"])
    op.create_index("idx_allocations_channel_code", "attribution_allocations", ["channel_code"])

    op.create_table(
        "revenue_ledger",
        sa.Column("id", sa.Uuid(), primary_key=True, server_default=sa.text("gen_random_uuid()")),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("processor", sa.String(50), nullable=False),
        # nullable at first: manual adjustments had no processor transaction
        # (made NOT NULL and unique in 202511161130)
        sa.Column("transaction_id", sa.String(255), nullable=True),
        sa.Column("order_id", sa.String(255), nullable=True),
        sa.Column("state", sa.String(20), nullable=False, server_default="captured"),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("processor_fee_cents", sa.BigInteger(), nullable=False,
                  server_default=sa.text("0")),
        sa.Column("currency", sa.CHAR(3), nullable=False, server_default="USD"),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.text("now()")),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.text("now()")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"],
                                name="fk_revenue_ledger_tenant_id", ondelete="CASCADE"),
        sa.CheckConstraint("processor IN ('stripe', 'shopify', 'paypal', 'manual')",
                           name="ck_revenue_ledger_processor_valid"),
        sa.CheckConstraint("state IN ('authorized', 'captured', 'refunded', 'chargeback')",
                           name="ck_revenue_ledger_state_valid"),
    )
    op.create_index("idx_revenue_ledger_tenant_created_at", "revenue_ledger",
                    ["tenant_id", sa.text("created_at DESC")])

    op.execute("""
        CREATE FUNCTION set_updated_at() RETURNS trigger
            LANGUAGE plpgsql
        AS $$
        BEGIN
            NEW.updated_at := now();
            RETURN NEW;
        END;
        $$
    """)
    op.execute("""
        CREATE TRIGGER trg_tenants_set_updated_at
            BEFORE UPDATE ON tenants
            FOR EACH ROW EXECUTE FUNCTION set_updated_at()
    """)
    op.execute("""
        CREATE TRIGGER trg_revenue_ledger_set_updated_at
            BEFORE UPDATE ON revenue_ledger
            FOR EACH ROW EXECUTE FUNCTION set_updated_at()
    """)


def downgrade() -> None:
    # Dropping what upgrade() created is the inverse of this revision (ADR-002).
    op.execute("DROP TRIGGER trg_revenue_ledger_set_updated_at ON revenue_ledger")  # CI:DESTRUCTIVE_OK - See ADR-002
    op.execute("DROP TRIGGER trg_tenants_set_updated_at ON tenants")  # CI:DESTRUCTIVE_OK - See ADR-002
    op.execute("DROP FUNCTION set_updated_at()")  # CI:DESTRUCTIVE_OK - See ADR-002
    op.drop_table("revenue_ledger")  # CI:DESTRUCTIVE_OK - See ADR-002
    op.drop_table("attribution_allocations")  # CI:DESTRUCTIVE_OK - See ADR-002
    op.drop_table("attribution_events")  # CI:DESTRUCTIVE_OK - See ADR-002
    op.drop_table("tenants")  # CI:DESTRUCTIVE_OK - See ADR-002
