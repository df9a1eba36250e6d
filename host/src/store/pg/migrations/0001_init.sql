-- hookhost schema, version 1.
--
-- Every record is kept as the exact JSON hookhost wrote (`record`, text and
-- not jsonb: event data must stay byte for byte as accepted, it is signed
-- later). The other columns exist for queries and indexes and are derived
-- from the record on every write. Ids are `<prefix>_<uuid v7 hex>`; with
-- COLLATE "C" their text order is byte order, which is creation order.
-- `workspace_id` is reserved for workspaces; nothing reads it yet.

CREATE TABLE modules (
    workspace_id text NOT NULL DEFAULT 'default',
    name text COLLATE "C" PRIMARY KEY,
    sha256 text NOT NULL,
    record text NOT NULL
);
CREATE INDEX modules_sha256 ON modules (sha256);

-- Component bytes, shared by every module with the same hash.
CREATE TABLE module_bytes (
    workspace_id text NOT NULL DEFAULT 'default',
    sha256 text PRIMARY KEY,
    bytes bytea NOT NULL
);

CREATE TABLE webhooks (
    workspace_id text NOT NULL DEFAULT 'default',
    id text COLLATE "C" PRIMARY KEY,
    record text NOT NULL
);

CREATE TABLE endpoints (
    workspace_id text NOT NULL DEFAULT 'default',
    id text COLLATE "C" PRIMARY KEY,
    record text NOT NULL
);

-- `fanout`: published by a handler, its deliveries not written yet.
CREATE TABLE events (
    workspace_id text NOT NULL DEFAULT 'default',
    id text COLLATE "C" PRIMARY KEY,
    event_type text NOT NULL,
    created_at timestamptz NOT NULL,
    fanout boolean NOT NULL DEFAULT false,
    record text NOT NULL
);
CREATE INDEX events_type ON events (event_type, id);
CREATE INDEX events_fanout ON events (id) WHERE fanout;

-- The delivery queue is this table: `next_attempt_ms` (the record's
-- `next_attempt_at` in milliseconds) is set exactly while the delivery is
-- pending with a next attempt, and (next_attempt_ms, id) is its queue
-- position. `lease_until`: a node attempts it until then.
CREATE TABLE deliveries (
    workspace_id text NOT NULL DEFAULT 'default',
    id text COLLATE "C" PRIMARY KEY,
    event_id text COLLATE "C" NOT NULL,
    endpoint_id text COLLATE "C" NOT NULL,
    event_type text NOT NULL,
    status text NOT NULL CHECK (status IN ('pending', 'success', 'failed')),
    next_attempt_ms bigint,
    updated_at timestamptz NOT NULL,
    lease_until timestamptz,
    record text NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_ms, id) WHERE status = 'pending';
CREATE INDEX deliveries_pending_by_endpoint ON deliveries (endpoint_id, id) WHERE status = 'pending';
CREATE INDEX deliveries_endpoint ON deliveries (endpoint_id, id);
CREATE INDEX deliveries_event ON deliveries (event_id);

CREATE TABLE attempts (
    workspace_id text NOT NULL DEFAULT 'default',
    delivery_id text COLLATE "C" NOT NULL,
    attempt bigint NOT NULL,
    record text NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
);

CREATE TABLE invocations (
    workspace_id text NOT NULL DEFAULT 'default',
    webhook_id text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    record text NOT NULL,
    PRIMARY KEY (webhook_id, id)
);
-- Retention removes by creation time, across webhooks.
CREATE INDEX invocations_id ON invocations (id);

CREATE TABLE emissions (
    workspace_id text NOT NULL DEFAULT 'default',
    id text COLLATE "C" PRIMARY KEY,
    entity_type text NOT NULL,
    webhook_id text COLLATE "C" NOT NULL,
    record text NOT NULL
);
CREATE INDEX emissions_entity_type ON emissions (entity_type, id);
CREATE INDEX emissions_webhook ON emissions (webhook_id, id);

CREATE TABLE idempotency (
    workspace_id text NOT NULL DEFAULT 'default',
    key text PRIMARY KEY,
    event_id text COLLATE "C" NOT NULL,
    at timestamptz NOT NULL
);
CREATE INDEX idempotency_at ON idempotency (at);

-- Answers remembered for inbound deduplication; `key_hash` is the SHA-256
-- of the caller's delivery id.
CREATE TABLE dedup (
    workspace_id text NOT NULL DEFAULT 'default',
    webhook_id text COLLATE "C" NOT NULL,
    key_hash bytea NOT NULL,
    at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    record text NOT NULL,
    PRIMARY KEY (webhook_id, key_hash)
);
CREATE INDEX dedup_expires_at ON dedup (expires_at);
CREATE INDEX dedup_at ON dedup (at);
