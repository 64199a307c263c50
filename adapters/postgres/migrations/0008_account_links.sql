-- One-time links mailed to users (email verification, password reset).  Only the SHA-256 of a link's
-- token is stored: reading this table lets nobody verify an address or reset a password.  A link is
-- consumed by one conditional UPDATE (used_at IS NULL AND not expired), so it is used once.
CREATE TABLE account_links (
    token_hash       text        PRIMARY KEY,
    purpose          text        NOT NULL,
    user_id          text        NOT NULL,  -- no foreign key: accounts are never deleted
    email            text        NOT NULL,
    security_version integer     NOT NULL,
    created_at       timestamptz NOT NULL,
    expires_at       timestamptz NOT NULL,
    used_at          timestamptz
);

CREATE INDEX account_links_expires_idx ON account_links (expires_at);
