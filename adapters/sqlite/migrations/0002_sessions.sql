-- One row per login session; revoked and expired sessions are deleted (expired ones when met).
CREATE TABLE sessions (
    id               TEXT    PRIMARY KEY NOT NULL,
    user_id          TEXT    NOT NULL,
    refresh_token_id TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    security_version INTEGER NOT NULL
) STRICT;

CREATE INDEX sessions_user_id_idx ON sessions (user_id);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

-- The security version each user was last revoked at: no session below it may be created or kept.
CREATE TABLE session_floors (
    user_id TEXT    PRIMARY KEY NOT NULL,
    floor   INTEGER NOT NULL
) STRICT;
