-- =============================================================================
-- Skeldir B0.3 canonical executable schema
-- =============================================================================
--
-- Authority:  Authoritative (Executable Spec), see ADR-001-schema-source-of-truth.
-- Owner:      Backend Schema Steward (db/OWNERSHIP.md).
-- Mirror:     db/schema/canonical_schema.yaml carries the same facts for tooling.
--
-- This file is the contract the Alembic chain (alembic/versions/**) must rebuild
-- from an empty database. Precedence when they disagree (guide section 2.2):
-- ADRs, then this file and its YAML mirror, then the live snapshot, then the
-- migrations. So when a migration and this file differ, the migration is wrong
-- unless an ADR redefines canonical behaviour, and every known difference is
-- recorded in db/schema/drift_register.yaml as SCHEMA-DRIFT-###.
--
-- How to change this file:
--   * open an ADR (docs/architecture/adr/) for anything that changes semantics;
--   * change this file and canonical_schema.yaml in the same commit;
--   * author the migration that reaches the new state, then run
--     `b03lint check` and the scratch rebuild (`alembic upgrade head`).
--
-- Requirements: PostgreSQL 13 or newer (gen_random_uuid() is built in, so no
-- pgcrypto extension is needed).
--
-- -----------------------------------------------------------------------------
-- Conventions
-- -----------------------------------------------------------------------------
--
-- Keys        uuid primary keys named <table>_pkey (PostgreSQL's default name),
--             filled by gen_random_uuid().
-- Money       integer cents only, in columns ending in _cents. Never numeric or
--             float for money: amounts are summed across channels and must not
--             drift by rounding.
-- Time        timestamptz everywhere; created_at/updated_at default to now(),
--             updated_at is maintained by the set_updated_at() trigger.
-- Names       fk_<table>_<column>        foreign keys
--             ck_<table>_<column>_<rule> check constraints
--             idx_<short table>_<purpose> indexes (historic names are kept)
-- Enums       closed value sets are VARCHAR + CHECK (col IN (...)), not
--             CREATE TYPE ... AS ENUM: a CHECK can be replaced in one
--             transaction, an enum value cannot be removed.
-- Tenancy     every table with a tenant_id column is tenant-scoped. It
--             references tenants(id) and isolates tenants in the database, not
--             only in application code, right after its CREATE TABLE:
--               ENABLE ROW LEVEL SECURITY  policies apply to ordinary roles;
--               FORCE ROW LEVEL SECURITY   ... and to the table owner, so the
--                                          application role that owns the
--                                          tables cannot read across tenants;
--               tenant_isolation_policy    rows are visible and writable only
--                                          when tenant_id equals the setting
--                                          app.current_tenant_id, which the
--                                          application sets per transaction
--                                          (SET LOCAL app.current_tenant_id).
--             Without the setting (current_setting with missing_ok; NULLIF for
--             the '' a reset leaves) the policy admits no row: reads see none,
--             writes fail WITH CHECK, and the owner can run the chain (ADR-005).
--             Superusers and BYPASSRLS roles are not subject to the policies.

-- =============================================================================
-- 1. tenants
-- =============================================================================
-- One row per customer account. Not tenant-scoped itself: the API gateway
-- resolves the tenant from the API key before any tenant context exists, so
-- this table has no row level security.

CREATE TABLE tenants (
    id                  UUID         PRIMARY KEY DEFAULT gen_random_uuid(),
    -- display name, shown in the dashboard and on invoices
    name                VARCHAR(255) NOT NULL,
    -- SHA-256 of the tenant's API key, hex encoded. The clear key is shown
    -- once at creation and never stored.
    api_key_hash        VARCHAR(255) NOT NULL,
    -- where remediation and billing notices go; optional for sandbox tenants
    notification_email  VARCHAR(255),
    created_at          TIMESTAMPTZ  NOT NULL DEFAULT now(),
    updated_at          TIMESTAMPTZ  NOT NULL DEFAULT now()
);

-- Invariant (guide 4.3, "Tenants auth"): api_key_hash is NOT NULL and unique.
-- Authentication looks tenants up by this hash on every request.
CREATE UNIQUE INDEX idx_tenants_api_key_hash ON tenants (api_key_hash);

-- =============================================================================
-- 2. attribution_events
-- =============================================================================
-- Raw conversion and touchpoint events received from tenants' sites and
-- webhooks. Append-only; corrections arrive as new events.

CREATE TABLE attribution_events (
    id                  UUID         PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id           UUID         NOT NULL,
    -- Privacy invariant (guide 4.3, "Events privacy"): every event belongs to
    -- an anonymous session; events without one are rejected at ingestion and
    -- land in dead_events instead.
    session_id          UUID         NOT NULL,
    -- Client-supplied key that makes ingestion retries safe (see the unique
    -- index below): the second delivery of the same event is a no-op.
    idempotency_key     VARCHAR(255) NOT NULL,
    event_type          VARCHAR(50)  NOT NULL,
    occurred_at         TIMESTAMPTZ  NOT NULL,
    revenue_cents       INTEGER      NOT NULL DEFAULT 0,
    currency            CHAR(3)      NOT NULL DEFAULT 'USD',
    -- Campaign parameters as captured on the landing page. The channel is
    -- derived from them at allocation time and is not stored on the event.
    utm_source          VARCHAR(255),
    utm_medium          VARCHAR(255),
    utm_campaign        VARCHAR(255),
    -- the event exactly as received, for replay and audits
    raw_payload         JSONB        NOT NULL,
    created_at          TIMESTAMPTZ  NOT NULL DEFAULT now(),
    CONSTRAINT fk_attribution_events_tenant_id
        FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    CONSTRAINT ck_attribution_events_revenue_cents_non_negative
        CHECK (revenue_cents >= 0)
);

-- Invariant (guide 4.3, "Events contract"): idempotency_key has a unique index.
CREATE UNIQUE INDEX idx_events_idempotency ON attribution_events (idempotency_key);

-- Timeline reads ("latest events of this tenant") for the dashboard.
CREATE INDEX idx_events_tenant_occurred_at ON attribution_events (tenant_id, occurred_at DESC);

ALTER TABLE attribution_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE attribution_events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation_policy ON attribution_events
    USING (tenant_id = NULLIF(current_setting('app.current_tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.current_tenant_id', true), '')::uuid);

-- =============================================================================
-- 3. channel_taxonomy
-- =============================================================================
-- Reference list of marketing channels with their display names, shared by
-- all tenants (no tenant_id, no row level security).
--
-- Whether attribution_allocations should reference this table is the open
-- question of ADR-004 (SCHEMA-DRIFT-003). Until ADR-004 is accepted the
-- canonical contract is the CHECK on attribution_allocations.channel below,
-- WITHOUT a foreign key; the two value lists are kept equal by review.
--
-- The rows are data, not schema: migration 202511141000 seeds them, and they
-- are not part of this file.

CREATE TABLE channel_taxonomy (
    code                VARCHAR(100) PRIMARY KEY,
    display_name        VARCHAR(255) NOT NULL,
    -- reporting group: paid_search, paid_social, owned, organic, partner, unattributed
    family              VARCHAR(50)  NOT NULL,
    is_paid             BOOLEAN      NOT NULL DEFAULT false,
    -- retired channels stay (historic allocations use them), hidden in the UI
    is_active           BOOLEAN      NOT NULL DEFAULT true,
    created_at          TIMESTAMPTZ  NOT NULL DEFAULT now()
);

-- =============================================================================
-- 4. attribution_allocations
-- =============================================================================
-- The output of the attribution models: how much of one event's revenue each
-- channel earned. One event has one row per channel it is credited to, and
-- the allocated_revenue_cents of an event's rows sum to its revenue_cents
-- (the allocation job writes an event's rows in one transaction; a CHECK
-- cannot see other rows, so this is enforced there, not here).

CREATE TABLE attribution_allocations (
    id                  UUID         PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id           UUID         NOT NULL,
    event_id            UUID         NOT NULL,
    -- Channel code, CHECK-enforced (ck_attribution_allocations_channel_valid),
    -- deliberately without a foreign key: see section 3 and ADR-004.
    channel             VARCHAR(100) NOT NULL,
    -- last_touch, first_touch, linear, bayesian_mmm, ...
    allocation_model    VARCHAR(50)  NOT NULL,
    allocated_revenue_cents INTEGER  NOT NULL DEFAULT 0,
    -- Statistical fields (guide 4.3, "Allocations analytics"). Rule-based
    -- models allocate deterministically and record 1.000; the Bayesian model
    -- records the posterior probability of its allocation.
    confidence_score    NUMERIC(4,3) NOT NULL DEFAULT 1.000,
    -- 90% credible interval of the allocated revenue, Bayesian model only.
    credible_interval_lower_cents INTEGER,
    credible_interval_upper_cents INTEGER,
    created_at          TIMESTAMPTZ  NOT NULL DEFAULT now(),
    CONSTRAINT fk_attribution_allocations_tenant_id
        FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    CONSTRAINT fk_attribution_allocations_event_id
        FOREIGN KEY (event_id) REFERENCES attribution_events (id) ON DELETE CASCADE,
    CONSTRAINT ck_attribution_allocations_allocated_revenue_cents_non_negative
        CHECK (allocated_revenue_cents >= 0),
    CONSTRAINT ck_attribution_allocations_confidence_score_range
        CHECK (confidence_score >= 0 AND confidence_score <= 1),
    CONSTRAINT ck_attribution_allocations_credible_interval_ordered
        CHECK (credible_interval_lower_cents <= credible_interval_upper_cents)
);

-- The allowed channel codes. Adding a channel means changing this constraint
-- (and the channel_taxonomy seed) through a migration.
ALTER TABLE attribution_allocations
    ADD CONSTRAINT ck_attribution_allocations_channel_valid
    CHECK (channel IN ('google_ads', 'meta_ads', 'tiktok_ads', 'linkedin_ads',
                       'microsoft_ads', 'organic_search', 'organic_social',
                       'email', 'direct', 'referral', 'affiliate', 'unattributed'));

-- Cascading deletes and "all allocations of this event" lookups.
CREATE INDEX idx_allocations_event_id ON attribution_allocations (event_id);

-- Channel performance dashboard (SCHEMA-DRIFT-001): revenue per channel per
-- tenant over time. The key serves the tenant + channel filter and the
-- newest-first range scan; INCLUDE carries the two summed columns so the
-- dashboard query is answered by an index-only scan, without heap visits.
-- No other index on attribution_allocations leads with tenant_id or channel:
-- the single-column indexes of the early chain (idx_allocations_tenant_id,
-- idx_allocations_channel_code) are not part of the baseline.
CREATE INDEX idx_allocations_channel_performance 
    ON attribution_allocations (tenant_id, channel, created_at DESC) 
    INCLUDE (allocated_revenue_cents, confidence_score);

-- The query the index above exists for (api/dashboard/channel_performance):
--
--   SELECT channel,
--          sum(allocated_revenue_cents)  AS revenue_cents,
--          avg(confidence_score)         AS mean_confidence
--     FROM attribution_allocations
--    WHERE tenant_id = $1 AND channel = ANY ($2) AND created_at >= $3
--    GROUP BY channel;
--
-- EXPLAIN of that query must show "Index Only Scan using
-- idx_allocations_channel_performance" (guide 4.3, "Allocations analytics").

ALTER TABLE attribution_allocations ENABLE ROW LEVEL SECURITY;
ALTER TABLE attribution_allocations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation_policy ON attribution_allocations
    USING (tenant_id = NULLIF(current_setting('app.current_tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.current_tenant_id', true), '')::uuid);

-- =============================================================================
-- 5. revenue_ledger
-- =============================================================================
-- Verified revenue from the tenants' payment processors. It is the finance
-- source of truth that attribution is reconciled against, so it is strict
-- about identity and amounts.
--
-- Booking rules:
--   * one row per processor transaction; a refund or chargeback is its own
--     transaction with its own transaction_id and a negative amount_cents;
--   * amount_cents is gross, processor_fee_cents is what the processor kept;
--     net revenue is amount_cents - processor_fee_cents;
--   * state follows the processor: authorized -> captured, and captured money
--     can come back as refunded or chargeback rows.

CREATE TABLE revenue_ledger (
    id                  UUID         PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id           UUID         NOT NULL,
    -- stripe, shopify, paypal, manual (finance-entered adjustments)
    processor           VARCHAR(50)  NOT NULL,
    -- The processor's transaction id. Invariant (guide 4.3, "Ledger
    -- finance"): present on every row and unique (index below), so a webhook
    -- delivered twice cannot book the same money twice.
    transaction_id      VARCHAR(255) NOT NULL,
    order_id            VARCHAR(255),
    state               VARCHAR(20)  NOT NULL DEFAULT 'captured',
    -- Signed: refunds and chargebacks are booked as negative amounts. The
    -- unit is the currency's minor unit (cents for USD and EUR, yen for JPY),
    -- which is what _cents means throughout this schema.
    amount_cents        BIGINT       NOT NULL,
    processor_fee_cents BIGINT       NOT NULL DEFAULT 0,
    -- ISO 4217. Reports convert at read time; the ledger never stores
    -- converted amounts.
    currency            CHAR(3)      NOT NULL DEFAULT 'USD',
    -- when the amount was confirmed against the processor's settlement report
    verified_at         TIMESTAMPTZ,
    created_at          TIMESTAMPTZ  NOT NULL DEFAULT now(),
    updated_at          TIMESTAMPTZ  NOT NULL DEFAULT now(),
    CONSTRAINT fk_revenue_ledger_tenant_id
        FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    CONSTRAINT ck_revenue_ledger_processor_valid
        CHECK (processor IN ('stripe', 'shopify', 'paypal', 'manual')),
    CONSTRAINT ck_revenue_ledger_state_valid
        CHECK (state IN ('authorized', 'captured', 'refunded', 'chargeback'))
);

-- Invariant (guide 4.3, "Ledger finance"): transaction_id has a unique index.
CREATE UNIQUE INDEX idx_revenue_ledger_transaction_id ON revenue_ledger (transaction_id);

-- Finance reports read a tenant's ledger newest first.
CREATE INDEX idx_revenue_ledger_tenant_created_at ON revenue_ledger (tenant_id, created_at DESC);

ALTER TABLE revenue_ledger ENABLE ROW LEVEL SECURITY;
ALTER TABLE revenue_ledger FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation_policy ON revenue_ledger
    USING (tenant_id = NULLIF(current_setting('app.current_tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.current_tenant_id', true), '')::uuid);

-- =============================================================================
-- 6. updated_at maintenance
-- =============================================================================
-- Tables with an updated_at column keep it current with one shared trigger
-- function, so no code path (application, support scripts, backfills) can
-- forget it. Tables without updated_at are append-only or immutable.
-- The function is SECURITY INVOKER (the default) and touches only NEW, so it
-- needs no grants of its own.

CREATE FUNCTION set_updated_at() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

CREATE TRIGGER trg_tenants_set_updated_at
    BEFORE UPDATE ON tenants
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TRIGGER trg_revenue_ledger_set_updated_at
    BEFORE UPDATE ON revenue_ledger
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- =============================================================================
-- 7. dead_events
-- =============================================================================
-- Events that failed ingestion or processing (validation errors, unknown
-- tenants, privacy violations such as a missing session_id). They are kept,
-- with the payload, until someone remediates them: retried successfully,
-- fixed by hand, or given up on.
--
-- Remediation lifecycle (ADR-001, privacy-led remediation):
--
--   pending      recorded, nobody has looked at it yet (the default)
--   in_progress  claimed by the retry worker or an engineer
--   resolved     reprocessed successfully; the event now exists in
--                attribution_events
--   abandoned    given up on deliberately (unrecoverable payload, tenant
--                deleted, privacy request); the payload may be purged
--
-- Transitions:
--
--   pending     -> in_progress            claimed
--   in_progress -> pending                retry failed, retries left
--   in_progress -> resolved | abandoned   final
--   pending     -> abandoned              privacy request before any retry
--
-- resolved and abandoned are final: a re-sent event is a new dead event.
--
-- The value set is enforced by ck_dead_events_remediation_status_valid at the
-- end of this section. Migrations before 202511171200 allowed 'ignored'
-- instead of 'abandoned' (SCHEMA-DRIFT-002); 'ignored' is not a canonical
-- state: it hid the difference between "unrecoverable" and "not looked at".

CREATE TABLE dead_events (
    id                  UUID         PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id           UUID         NOT NULL,
    -- the event_type the failed event claimed, or 'unknown'
    event_type          VARCHAR(50)  NOT NULL,
    -- The payload exactly as received, for retries and forensics. It may hold
    -- personal data: when a row is abandoned because of a privacy request,
    -- the purge job replaces it with '{}' and keeps the row as the audit
    -- trail of the request.
    raw_payload         JSONB        NOT NULL,
    -- machine-readable failure class, e.g. validation_error, unknown_tenant
    error_type          VARCHAR(100) NOT NULL,
    -- human-readable; never contains the payload itself
    error_message       TEXT         NOT NULL,
    -- Retry tracking: how many automatic retries ran, and when the last one
    -- did. The retry worker gives up after a tenant-configurable number of
    -- attempts and leaves the row for a human.
    retry_count         INTEGER      NOT NULL DEFAULT 0,
    last_retry_at       TIMESTAMPTZ,
    remediation_status  VARCHAR(20)  NOT NULL DEFAULT 'pending',
    -- free text from whoever remediated the event (ticket link, reason)
    remediation_notes   TEXT,
    -- set when remediation_status becomes resolved or abandoned
    resolved_at         TIMESTAMPTZ,
    created_at          TIMESTAMPTZ  NOT NULL DEFAULT now(),
    CONSTRAINT fk_dead_events_tenant_id
        FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    CONSTRAINT ck_dead_events_retry_count_non_negative
        CHECK (retry_count >= 0)
);

-- The remediation work queue: only open rows, oldest first per tenant. The
-- partial predicate keeps the index small, since almost every dead event is
-- eventually resolved or abandoned.
CREATE INDEX idx_dead_events_open_queue ON dead_events (tenant_id, created_at)
    WHERE remediation_status IN ('pending', 'in_progress');

-- The canonical remediation lifecycle (see the section header). Guide 2.4:
-- this constraint is where the allowed values of remediation_status are read.
-- It is a separate, named ALTER TABLE rather than an inline CHECK so that a
-- migration can replace it in one transaction without guessing its name.
ALTER TABLE dead_events 
    ADD CONSTRAINT ck_dead_events_remediation_status_valid 
    CHECK (remediation_status IN ('pending', 'in_progress', 'resolved', 'abandoned'));

ALTER TABLE dead_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE dead_events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation_policy ON dead_events
    USING (tenant_id = NULLIF(current_setting('app.current_tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.current_tenant_id', true), '')::uuid);
