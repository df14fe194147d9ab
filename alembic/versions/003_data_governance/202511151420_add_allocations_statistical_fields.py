"""Add allocation statistical fields and the channel performance index.

Revision ID: 202511151420
Revises: 202511151400
Create Date: 2025-11-15 14:20:00

Why
---
The Bayesian attribution model (bayesian_mmm) does not produce a single "true"
allocation: it produces a posterior distribution. Storing only the point estimate
made the dashboard present uncertain allocations as facts. This revision stores
what the model knows about its own uncertainty next to every allocation, and adds
the index the channel performance dashboard reads through.

Columns added to attribution_allocations
----------------------------------------
confidence_score               NUMERIC(4,3) NOT NULL DEFAULT 1.000
    Posterior probability of the allocation, between 0 and 1 (three decimals are
    all the model resolves). Rule-based models (last_touch, first_touch, linear)
    allocate deterministically and record 1.000, which is also the value every
    existing row receives through the server default.

credible_interval_lower_cents  INTEGER NULL
credible_interval_upper_cents  INTEGER NULL
    Bounds of the 90% credible interval of allocated_revenue_cents, in cents like
    every money column. NULL for rule-based models, which have no interval.

How the allocation job fills them
---------------------------------
* last_touch, first_touch, linear: confidence_score = 1.000, interval NULL.
* bayesian_mmm: confidence_score is the posterior probability that the
  channel's share of the event is at least the allocated share; the interval is
  the 5th and 95th percentile of the posterior share times the event's
  revenue_cents, rounded outwards to whole cents (lower bound down, upper bound
  up) so that rounding never narrows the interval.
* The job writes all allocations of one event in one transaction, so the
  dashboard never reads a half-updated event.

Alternatives considered
-----------------------
* A separate allocation_statistics table keyed by allocation id: every
  dashboard query would have to join it, and confidence_score could not be part
  of the index's INCLUDE payload.
* NUMERIC(5,4) for confidence_score: the model's Monte Carlo error is about
  0.002 at the sample sizes we run, so a fourth decimal would be noise.
* The interval as an int4range: the reporting warehouse exports plain columns,
  and range types do not survive its CSV export.

Constraints added
-----------------
ck_attribution_allocations_confidence_score_range
    confidence_score >= 0 AND confidence_score <= 1. A score outside [0, 1] is a
    model bug; rejecting the row makes the allocation job fail loudly instead of
    feeding the dashboard a probability of 1.7.

ck_attribution_allocations_credible_interval_ordered
    credible_interval_lower_cents <= credible_interval_upper_cents. NULL bounds
    pass, as CHECK constraints do with NULL.

Index added
-----------
idx_allocations_channel_performance
    The dashboard's channel performance panel asks, per tenant, for the revenue
    and mean confidence of a set of channels since a date:

        SELECT channel_code,
               sum(allocated_revenue_cents),
               avg(confidence_score)
          FROM attribution_allocations
         WHERE tenant_id = $1 AND channel_code = ANY ($2) AND created_at >= $3
         GROUP BY channel_code;

    The key (tenant_id, channel_code, created_at DESC) serves the filter and the
    newest-first range scan; INCLUDE (allocated_revenue_cents, confidence_score)
    carries the summed columns in the index leaf pages so the panel is answered by
    an index-only scan. Before this revision the planner combined the
    single-column indexes idx_allocations_tenant_id and
    idx_allocations_channel_code with a bitmap AND and then visited the heap for
    every matching row.

    The index is created with plain CREATE INDEX, not CONCURRENTLY: Alembic runs
    each revision in a transaction, and CREATE INDEX CONCURRENTLY cannot run in
    one. At the time of writing attribution_allocations holds about 40 million
    rows across all tenants; the build takes a SHARE lock, which blocks the
    allocation job's writes (not the dashboard's reads) for the few minutes it
    runs. Deploy outside the nightly allocation window.

    The key uses channel_code because that is the column's name in this chain;
    the canonical schema names it channel (SCHEMA-DRIFT-001 and -003 in
    db/schema/drift_register.yaml). The canonical index was built later by
    202511171200_reconcile_b03_baseline.

Locking and rollout
-------------------
* ADD COLUMN with a constant default is a catalog-only change on PostgreSQL 11+:
  existing rows are not rewritten, the default is stored once in pg_attribute.
* ADD CONSTRAINT ... CHECK scans the table once under an ACCESS EXCLUSIVE lock.
  The scan is cheap here: every existing row has confidence_score = 1.000 and
  NULL interval bounds, so both checks pass without reading TOAST.
* The index build (above) is the only step whose duration grows with the table.
* Set a lock_timeout for the session running the upgrade (e.g. 5s) so that a
  long-running report query makes the migration fail fast instead of queueing
  every writer behind it.

Verification (guide 4.3, "Allocations analytics")
-------------------------------------------------
    \\d+ attribution_allocations               -- confidence_score + CHECK
    \\di+ idx_allocations_channel_performance  -- INCLUDE columns present
    EXPLAIN <the query above>                 -- Index Only Scan

Rollback
--------
downgrade() drops the index, the two constraints and the three columns, in the
reverse order of creation. The statistical values written since the upgrade are
lost; the model can recompute them from its stored posterior samples.

Related
-------
ADR-001 (the canonical schema is the source of truth); implementation guide
section 4.3 ("Allocations analytics"); db/schema/drift_register.yaml entries
SCHEMA-DRIFT-001 (index shape) and SCHEMA-DRIFT-003 (channel_code, ADR-004).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "202511151420"
down_revision: str | Sequence[str] | None = "202511151400"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

def upgrade() -> None:
    # -- columns -------------------------------------------------------------
    # Catalog-only on PostgreSQL 11+ (constant default): no table rewrite.
    op.add_column(
        "attribution_allocations",
        sa.Column(
            "confidence_score",
            sa.Numeric(4, 3),
            nullable=False,
            server_default=sa.text("1.000"),
        ),
    )
    # Nullable: rule-based models have no credible interval.
    op.add_column(
        "attribution_allocations",
        sa.Column("credible_interval_lower_cents", sa.Integer(), nullable=True),
    )
    op.add_column(
        "attribution_allocations",
        sa.Column("credible_interval_upper_cents", sa.Integer(), nullable=True),
    )

    # -- constraints -----------------------------------------------------------
    # Each check scans the table once; every existing row passes (score 1.000,
    # NULL interval bounds).
    op.create_check_constraint(
        "ck_attribution_allocations_confidence_score_range",
        "attribution_allocations",
        "confidence_score >= 0 AND confidence_score <= 1",
    )
    op.create_check_constraint(
        "ck_attribution_allocations_credible_interval_ordered",
        "attribution_allocations",
        "credible_interval_lower_cents <= credible_interval_upper_cents",
    )

    # -- channel performance index ---------------------------------------------
    # Plain CREATE INDEX inside the revision's transaction: it takes a SHARE
    # lock on attribution_allocations while it builds (see the module docstring
    # for the deploy window).
    op.execute("""
        CREATE INDEX idx_allocations_channel_performance
        ON attribution_allocations (tenant_id, channel_code, created_at DESC)
        INCLUDE (allocated_revenue_cents, confidence_score)
    """)


def downgrade() -> None:
    # Dropping what upgrade() created is the inverse of this revision (ADR-002).
    op.drop_index("idx_allocations_channel_performance", table_name="attribution_allocations")  # CI:DESTRUCTIVE_OK - See ADR-002
    op.drop_constraint(  # CI:DESTRUCTIVE_OK - See ADR-002
        "ck_attribution_allocations_credible_interval_ordered", "attribution_allocations",
        type_="check",
    )
    op.drop_constraint(  # CI:DESTRUCTIVE_OK - See ADR-002
        "ck_attribution_allocations_confidence_score_range", "attribution_allocations",
        type_="check",
    )
    op.drop_column("attribution_allocations", "credible_interval_upper_cents")  # CI:DESTRUCTIVE_OK - See ADR-002
    op.drop_column("attribution_allocations", "credible_interval_lower_cents")  # CI:DESTRUCTIVE_OK - See ADR-002
    op.drop_column("attribution_allocations", "confidence_score")  # CI:DESTRUCTIVE_OK - See ADR-002
