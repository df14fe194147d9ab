"""Add retry tracking to dead_events and constrain remediation_status.

Revision ID: 202511151440
Revises: 202511151420
Create Date: 2025-11-15 14:40:00

Why
---
dead_events (202511151400) recorded failures but not what happened to them
afterwards. The retry worker needs to know how often an event was retried and
when, so that it backs off and eventually hands the event to a human, and the
remediation dashboard needs a work queue of open events. It also closes the set
of remediation states, which until now was free text.

Columns added to dead_events
----------------------------
retry_count        INTEGER NOT NULL DEFAULT 0
    Automatic retries so far. The worker increments it in the same transaction
    that records the attempt; existing rows start at 0 through the default.
    The tenant's retry limit (5 by default) bounds it in practice.
last_retry_at      TIMESTAMPTZ NULL
    When the last automatic retry ran; NULL until the first one. The worker
    waits 2^retry_count minutes after last_retry_at before the next attempt.
remediation_notes  TEXT NULL
    Free text from whoever remediated the event: ticket link, reason for giving
    up. Never contains the payload.
resolved_at        TIMESTAMPTZ NULL
    When remediation ended (the row left the work queue).

Constraints added
-----------------
ck_dead_events_retry_count_non_negative
    retry_count >= 0.
ck_dead_events_remediation_status_valid
    The remediation lifecycle: pending -> in_progress -> resolved, or ignored
    when the event is not worth retrying. Until this revision remediation_status
    was free text and the worker and the dashboard disagreed on the spelling of
    the states; the CHECK makes the set explicit.

    The constraint is added with a separate ALTER TABLE statement, named, so a
    later revision can replace it in one transaction.

Remediation states (as of this revision)
----------------------------------------
pending      recorded by the ingestion pipeline; nobody has looked at it yet
in_progress  claimed by the retry worker or by an engineer
resolved     reprocessed successfully; the event now exists in
             attribution_events
ignored      not worth retrying (test traffic, duplicate of a resolved event)

Worker contract
---------------
The retry worker claims a batch of open events without blocking other workers:

    SELECT id FROM dead_events
     WHERE remediation_status = 'pending'
       AND (last_retry_at IS NULL
            OR last_retry_at < now() - make_interval(mins => 2 ^ retry_count))
     ORDER BY created_at
     LIMIT 100
       FOR UPDATE SKIP LOCKED;

sets them to in_progress, retries them, and then sets each to resolved (success)
or back to pending with retry_count + 1 and last_retry_at = now() (failure).
After the tenant's retry limit the event stays pending for a human.

Index added
-----------
idx_dead_events_open_queue
    The work queue: (tenant_id, created_at) over open rows only
    (remediation_status IN ('pending', 'in_progress')). Almost every dead event
    ends resolved, so the partial index stays small however long the history
    grows.

Style
-----
The column changes use batch_alter_table so that they are emitted as one block
per table, which reviewers read as "the retry tracking of dead_events"; on
PostgreSQL batch mode issues plain ALTER TABLE statements (no table copy).

Locking and rollout
-------------------
* ADD COLUMN with a constant default is catalog-only on PostgreSQL 11+.
* Each CHECK scans dead_events once under ACCESS EXCLUSIVE. The table is small
  (thousands of rows per tenant), so the scan takes milliseconds.
* Existing rows must already use the listed states or the upgrade fails.
  Before deploying, check:

      SELECT remediation_status, count(*)
        FROM dead_events
       GROUP BY remediation_status;

  and map stray spellings (e.g. 'done' -> 'resolved') by hand first.
* Deploy order: this migration first, then the retry worker that writes the
  new columns. The previous worker ignores them, so it keeps running safely
  against the migrated table during the rollout.
* The partial index is built with plain CREATE INDEX inside the transaction;
  at this table size it is instant.

Verification
------------
    \\d+ dead_events                   -- new columns, both constraints
    \\di+ idx_dead_events_open_queue   -- partial predicate present

and, against a scratch database, an INSERT with each allowed state succeeds
while an unknown state fails with
    violates check constraint "ck_dead_events_remediation_status_valid"

Rollback
--------
downgrade() drops the index, both constraints and the four columns. Retry
history recorded since the upgrade is lost; the events themselves stay.

Related
-------
ADR-001 (privacy-led remediation lifecycle); implementation guide sections 2.4,
3.4 and 4.3 ("Dead events remediation").
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "202511151440"
down_revision: str | Sequence[str] | None = "202511151420"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # -- retry tracking columns -------------------------------------------------
    # One batch block per table; on PostgreSQL these are plain ALTER TABLE
    # statements, applied in order inside the revision's transaction.
    with op.batch_alter_table("dead_events") as batch_op:
        batch_op.add_column(
            sa.Column("retry_count", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
        batch_op.add_column(
            sa.Column("last_retry_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("remediation_notes", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_check_constraint(
            "ck_dead_events_retry_count_non_negative",
            "retry_count >= 0",
        )

    # -- remediation lifecycle ----------------------------------------------------
    # Named, in its own ALTER TABLE, so a later revision can replace it. Fails
    # if a row uses a state outside the list; see "Locking and rollout" in the
    # module docstring for the query to run first.
    op.execute("""
        ALTER TABLE dead_events
        ADD CONSTRAINT ck_dead_events_remediation_status_valid
        CHECK (remediation_status IN ('pending', 'in_progress', 'resolved', 'ignored'))
    """)

    # -- remediation work queue ---------------------------------------------------
    op.create_index(
        "idx_dead_events_open_queue",
        "dead_events",
        ["tenant_id", "created_at"],
        postgresql_where=sa.text("remediation_status IN ('pending', 'in_progress')"),
    )


def downgrade() -> None:
    # Dropping what upgrade() created is the inverse of this revision (ADR-002).
    op.drop_index("idx_dead_events_open_queue", table_name="dead_events")  # CI:DESTRUCTIVE_OK - See ADR-002
    op.drop_constraint(  # CI:DESTRUCTIVE_OK - See ADR-002
        "ck_dead_events_remediation_status_valid", "dead_events", type_="check"
    )
    with op.batch_alter_table("dead_events") as batch_op:
        batch_op.drop_constraint("ck_dead_events_retry_count_non_negative", type_="check")  # CI:DESTRUCTIVE_OK - See ADR-002
        batch_op.drop_column("resolved_at")  # CI:DESTRUCTIVE_OK - See ADR-002
        batch_op.drop_column("remediation_notes")  # CI:DESTRUCTIVE_OK - See ADR-002
        batch_op.drop_column("last_retry_at")  # CI:DESTRUCTIVE_OK - See ADR-002
        batch_op.drop_column("retry_count")  # CI:DESTRUCTIVE_OK - See ADR-002
