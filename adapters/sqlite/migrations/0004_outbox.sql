-- Events written by units of work in the same transaction as the change that raised them; the relay
-- publishes unsent rows in position order and stamps sent_at (sent rows are purged after a while).
-- AUTOINCREMENT: a position is never reused after a purge, so positions keep growing with commits.
CREATE TABLE outbox (
    position     INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id     TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    occurred_at  INTEGER NOT NULL,
    payload      TEXT    NOT NULL,
    committed_at INTEGER NOT NULL,
    sent_at      INTEGER
) STRICT;

CREATE INDEX outbox_unsent_idx ON outbox (position) WHERE sent_at IS NULL;
CREATE INDEX outbox_sent_at_idx ON outbox (sent_at) WHERE sent_at IS NOT NULL;
