-- Webhook endpoints (registered by administrators) and their deliveries, which are the durable retry
-- queue: a worker claims due pending rows by moving next_attempt_at forward (a lease), so a restart or
-- a crash loses nothing and two workers never send one delivery at once.
CREATE TABLE webhook_endpoints (
    id                   text COLLATE "C" PRIMARY KEY,
    url                  text        NOT NULL,
    kinds                text[]      NOT NULL,
    secret               text        NOT NULL,
    description          text        NOT NULL,
    enabled              boolean     NOT NULL,
    disabled_reason      text,
    consecutive_failures integer     NOT NULL,
    failing_since        timestamptz,
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    version              integer     NOT NULL
);

CREATE TABLE webhook_deliveries (
    id              text COLLATE "C" PRIMARY KEY,
    endpoint_id     text COLLATE "C" NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id        text        NOT NULL,
    kind            text        NOT NULL,
    body            text        NOT NULL,
    dedupe_key      text        NOT NULL UNIQUE,
    status          text        NOT NULL,
    attempts        integer     NOT NULL,
    next_attempt_at timestamptz NOT NULL,
    created_at      timestamptz NOT NULL,
    last_attempt_at timestamptz,
    response_status integer,
    last_error      text,
    delivered_at    timestamptz,
    redelivery_of   text
);

CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_log_idx ON webhook_deliveries (endpoint_id, created_at DESC, id DESC);
