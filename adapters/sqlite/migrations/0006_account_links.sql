-- One-time links mailed to users (email verification, password reset); only the SHA-256 of a link's
-- token is stored.  Instants are integer microseconds since the epoch (UTC).
CREATE TABLE account_links (
    token_hash       TEXT    PRIMARY KEY NOT NULL,
    purpose          TEXT    NOT NULL,
    user_id          TEXT    NOT NULL,
    email            TEXT    NOT NULL,
    security_version INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    used_at          INTEGER
) STRICT;

CREATE INDEX account_links_expires_idx ON account_links (expires_at);
