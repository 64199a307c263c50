-- Webhook endpoints and their deliveries (the durable retry queue); see adapters/postgres/migrations/
-- 0009_webhooks.sql.  kinds is a JSON array; instants are integer microseconds since the epoch (UTC).
CREATE TABLE webhook_endpoints (
    id                   TEXT    PRIMARY KEY NOT NULL,
    url                  TEXT    NOT NULL,
    kinds                TEXT    NOT NULL,
    secret               TEXT    NOT NULL,
    description          TEXT    NOT NULL,
    enabled              INTEGER NOT NULL,
    disabled_reason      TEXT,
    consecutive_failures INTEGER NOT NULL,
    failing_since        INTEGER,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    version              INTEGER NOT NULL
) STRICT;

CREATE TABLE webhook_deliveries (
    id              TEXT    PRIMARY KEY NOT NULL,
    endpoint_id     TEXT    NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id        TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    dedupe_key      TEXT    NOT NULL UNIQUE,
    status          TEXT    NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    last_attempt_at INTEGER,
    response_status INTEGER,
    last_error      TEXT,
    delivered_at    INTEGER,
    redelivery_of   TEXT
) STRICT;

CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_log_idx ON webhook_deliveries (endpoint_id, created_at DESC, id DESC);
