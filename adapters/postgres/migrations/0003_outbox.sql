-- Events written by units of work in the same transaction as the change that raised them; the relay
-- publishes unsent rows in position order and stamps sent_at (sent rows are purged after a while).
CREATE TABLE outbox (
    position     bigserial   PRIMARY KEY,
    event_id     text        NOT NULL,
    name         text        NOT NULL,
    occurred_at  timestamptz NOT NULL,
    payload      jsonb       NOT NULL,
    committed_at timestamptz NOT NULL DEFAULT now(),
    sent_at      timestamptz
);

CREATE INDEX outbox_unsent_idx ON outbox (position) WHERE sent_at IS NULL;
CREATE INDEX outbox_sent_at_idx ON outbox (sent_at) WHERE sent_at IS NOT NULL;
