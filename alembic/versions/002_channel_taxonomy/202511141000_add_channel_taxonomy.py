"""Add channel_taxonomy, seed it, and reference it from attribution_allocations.

Revision ID: 202511141000
Revises: 202511131030
Create Date: 2025-11-14 10:00:00

channel_taxonomy is the shared list of marketing channels with display names and
reporting families. This revision also adds the foreign key
fk_attribution_allocations_channel_code from attribution_allocations.channel_code
to channel_taxonomy(code).

That foreign key is not in the canonical schema, which keeps the channel as a
CHECK-enforced ``channel`` column without a foreign key. Whether the taxonomy
belongs to the B0.3 baseline is the open decision of ADR-004; until then this is
the recorded deviation SCHEMA-DRIFT-003 (db/schema/drift_register.yaml).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "202511141000"
down_revision: str | Sequence[str] | None = "202511131030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    channel_taxonomy = op.create_table(
        "channel_taxonomy",
        sa.Column("code", sa.String(100), primary_key=True),
        sa.Column("display_name", sa.String(255), nullable=False),
        sa.Column("family", sa.String(50), nullable=False),
        sa.Column("is_paid", sa.Boolean(), nullable=False, server_default=sa.text("false")),
        sa.Column("is_active", sa.Boolean(), nullable=False, server_default=sa.text("true")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.text("now()")),
    )
    # The same codes as the canonical CHECK ck_attribution_allocations_channel_valid.
    op.bulk_insert(
        channel_taxonomy,
        [
            {"code": "google_ads", "display_name": "Google Ads", "family": "paid_search", "is_paid": True},
            {"code": "microsoft_ads", "display_name": "Microsoft Ads", "family": "paid_search", "is_paid": True},
            {"code": "meta_ads", "display_name": "Meta Ads", "family": "paid_social", "is_paid": True},
            {"code": "tiktok_ads", "display_name": "TikTok Ads", "family": "paid_social", "is_paid": True},
            {"code": "linkedin_ads", "display_name": "LinkedIn Ads", "family": "paid_social", "is_paid": True},
            {"code": "organic_search", "display_name": "Organic Search", "family": "organic", "is_paid": False},
            {"code": "organic_social", "display_name": "Organic Social", "family": "organic", "is_paid": False},
            {"code": "email", "display_name": "Email", "family": "owned", "is_paid": False},
            {"code": "direct", "display_name": "Direct", "family": "owned", "is_paid": False},
            {"code": "referral", "display_name": "Referral", "family": "partner", "is_paid": False},
            {"code": "affiliate", "display_name": "Affiliate", "family": "partner", "is_paid": True},
            {"code": "unattributed", "display_name": "Unattributed", "family": "unattributed", "is_paid": False},
        ],
    )
    op.create_foreign_key(
        "fk_attribution_allocations_channel_code",
        "attribution_allocations",
        "channel_taxonomy",
        ["channel_code"],
        ["code"],
    )


def downgrade() -> None:
    # Dropping what upgrade() created is the inverse of this revision (ADR-002).
    op.drop_constraint(  # CI:DESTRUCTIVE_OK - See ADR-002
        "fk_attribution_allocations_channel_code", "attribution_allocations", type_="foreignkey"
    )
    op.drop_table("channel_taxonomy")  # CI:DESTRUCTIVE_OK - See ADR-002
