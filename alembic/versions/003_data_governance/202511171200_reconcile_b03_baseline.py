"""Reconcile the chain with the canonical schema: the B0.3 baseline.

Revision ID: 202511171200
Revises: 202511161130
Create Date: 2025-11-17 12:00:00

The reconciliation (guide section 3) compared a scratch database built by this
chain up to 202511161130 with db/schema/canonical_schema.sql. This revision makes
the chain produce the canonical schema for the two drifts that were decided, and
is the B0.3 baseline head (guide section 4.1). ADR-003 authorises its destructive
steps; each one carries the waiver on its line or the line above.

SCHEMA-DRIFT-001  idx_allocations_channel_performance              resolved here
    Canonical: (tenant_id, channel, created_at DESC)
               INCLUDE (allocated_revenue_cents, confidence_score).
    Chain:     single-column idx_allocations_tenant_id and
               idx_allocations_channel_code (202511131000), and the composite
               index keyed on channel_code (202511151420).
    Here:      add the canonical column ``channel`` (backfilled from
               channel_code, NOT NULL, with the canonical CHECK of allowed
               codes), drop the three legacy indexes, build the canonical one.

SCHEMA-DRIFT-002  ck_dead_events_remediation_status_valid          resolved here
    Canonical: pending, in_progress, resolved, abandoned.
    Chain:     pending, in_progress, resolved, ignored (202511151440).
    Here:      drop the constraint, map 'ignored' rows to 'abandoned' (both mean
               "given up on deliberately"; ADR-003), add the canonical constraint.

SCHEMA-DRIFT-003  attribution_allocations.channel                  stays open
    The chain's channel_code column and its foreign key
    fk_attribution_allocations_channel_code to channel_taxonomy(code) are KEPT:
    whether the taxonomy is part of the baseline is ADR-004's decision, which is
    still proposed. Until then the allocation job writes the same code to both
    columns; canonical (``channel``, CHECK, no foreign key) stays authoritative.

After this revision the only difference between `alembic upgrade head` and the
canonical schema is SCHEMA-DRIFT-003 (tests/test_example_alembic.py proves it
against PostgreSQL).

downgrade() restores the exact 202511161130 schema: the legacy indexes, the
'ignored' constraint (mapping 'abandoned' rows back to 'ignored') and no
``channel`` column.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "202511171200"
down_revision: str | Sequence[str] | None = "202511161130"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # -- canonical channel column (prerequisite of SCHEMA-DRIFT-001) --------------
    op.add_column(
        "attribution_allocations",
        sa.Column("channel", sa.String(100), nullable=True),
    )
    op.execute("""
        UPDATE attribution_allocations
           SET channel = channel_code
         WHERE channel IS NULL
    """)
    op.alter_column(
        "attribution_allocations",
        "channel",
        existing_type=sa.String(100),
        nullable=False,
    )
    op.create_check_constraint(
        "ck_attribution_allocations_channel_valid",
        "attribution_allocations",
        "channel IN ('google_ads', 'meta_ads', 'tiktok_ads', 'linkedin_ads', "
        "'microsoft_ads', 'organic_search', 'organic_social', "
        "'email', 'direct', 'referral', 'affiliate', 'unattributed')",
    )

    # -- SCHEMA-DRIFT-001: canonical channel performance index ----------------------
    # CI:DESTRUCTIVE_OK - See ADR-003
    op.drop_index("idx_allocations_tenant_id", table_name="attribution_allocations")
    op.drop_index("idx_allocations_channel_code", table_name="attribution_allocations")  # CI:DESTRUCTIVE_OK - See ADR-003
    op.execute("""
        -- CI:DESTRUCTIVE_OK - See ADR-003
        DROP INDEX idx_allocations_channel_performance
    """)
    op.create_index(
        "idx_allocations_channel_performance",
        "attribution_allocations",
        ["tenant_id", "channel", sa.text("created_at DESC")],
        postgresql_include=["allocated_revenue_cents", "confidence_score"],
    )

    # -- SCHEMA-DRIFT-002: canonical remediation lifecycle --------------------------
    with op.batch_alter_table("dead_events") as batch_op:
        batch_op.drop_constraint("ck_dead_events_remediation_status_valid", type_="check")  # CI:DESTRUCTIVE_OK - See ADR-003
    op.execute("""
        UPDATE dead_events
           SET remediation_status = 'abandoned'
         WHERE remediation_status = 'ignored'
    """)
    op.create_check_constraint(
        "ck_dead_events_remediation_status_valid",
        "dead_events",
        "remediation_status IN ('pending', 'in_progress', 'resolved', 'abandoned')",
    )


def downgrade() -> None:
    # -- back to the 202511151440 remediation constraint ----------------------------
    op.drop_constraint(  # CI:DESTRUCTIVE_OK - See ADR-003
        "ck_dead_events_remediation_status_valid", "dead_events", type_="check"
    )
    op.execute("""
        UPDATE dead_events
           SET remediation_status = 'ignored'
         WHERE remediation_status = 'abandoned'
    """)
    op.execute("""
        ALTER TABLE dead_events
        ADD CONSTRAINT ck_dead_events_remediation_status_valid
        CHECK (remediation_status IN ('pending', 'in_progress', 'resolved', 'ignored'))
    """)

    # -- back to the legacy allocation indexes --------------------------------------
    op.drop_index("idx_allocations_channel_performance", table_name="attribution_allocations")  # CI:DESTRUCTIVE_OK - See ADR-003
    op.execute("""
        CREATE INDEX idx_allocations_channel_performance
        ON attribution_allocations (tenant_id, channel_code, created_at DESC)
        INCLUDE (allocated_revenue_cents, confidence_score)
    """)
    op.create_index("idx_allocations_channel_code", "attribution_allocations", ["channel_code"])
    op.create_index("idx_allocations_tenant_id", "attribution_allocations", ["tenant_id"])

    # -- without the canonical channel column ---------------------------------------
    op.drop_constraint(  # CI:DESTRUCTIVE_OK - See ADR-003
        "ck_attribution_allocations_channel_valid", "attribution_allocations", type_="check"
    )
    op.drop_column("attribution_allocations", "channel")  # CI:DESTRUCTIVE_OK - See ADR-003
