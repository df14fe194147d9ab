"""Make revenue_ledger.transaction_id mandatory and unique.

Revision ID: 202511161130
Revises: 202511151440
Create Date: 2025-11-16 11:30:00

A payment webhook delivered twice booked the same money twice: transaction_id was
nullable and not unique, so nothing stopped the second insert. The canonical
schema requires transaction_id NOT NULL with the unique index
idx_revenue_ledger_transaction_id (guide 4.3, "Ledger finance").

Rows without a transaction id are manual finance adjustments entered before the
processor column existed in the UI. They get the stable placeholder
'legacy-<row id>', which is unique because the row id is, and which finance can
search for. Duplicate transaction ids must be merged by finance before this
revision runs, otherwise the unique index build fails:

    SELECT transaction_id, count(*) FROM revenue_ledger
     WHERE transaction_id IS NOT NULL
     GROUP BY transaction_id HAVING count(*) > 1;

This was the chain's head when the B0.3 reconciliation started (guide 3.1).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "202511161130"
down_revision: str | Sequence[str] | None = "202511151440"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("""
        UPDATE revenue_ledger
           SET transaction_id = 'legacy-' || id::text
         WHERE transaction_id IS NULL
    """)
    op.alter_column(
        "revenue_ledger",
        "transaction_id",
        existing_type=sa.String(255),
        nullable=False,
    )
    op.create_index(
        "idx_revenue_ledger_transaction_id",
        "revenue_ledger",
        ["transaction_id"],
        unique=True,
    )


def downgrade() -> None:
    # The inverse of upgrade() (ADR-002). The 'legacy-' placeholders stay: they are
    # valid values of the nullable column and finance may already reference them.
    op.drop_index("idx_revenue_ledger_transaction_id", table_name="revenue_ledger")  # CI:DESTRUCTIVE_OK - See ADR-002
    op.alter_column(
        "revenue_ledger",
        "transaction_id",
        existing_type=sa.String(255),
        nullable=True,
    )
