-- Instants are integer microseconds since the epoch (UTC); ids are text compared byte-wise (BINARY),
-- which is Python's str order for UUID text.
CREATE TABLE users (
    id            TEXT    PRIMARY KEY NOT NULL,
    username      TEXT    NOT NULL,
    email         TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    display_name  TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    banned        INTEGER NOT NULL,
    security_version INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    version       INTEGER NOT NULL,
    email_verified INTEGER NOT NULL
) STRICT;

-- lower() folds ASCII only, which is enough: usernames are ASCII (domain/users/model.py USERNAME_RE).
-- adapters/sqlite/users.py tells UsernameTaken from EmailTaken by the names in SQLite's message.  SQLite
-- checks the most recently created index first: the username index comes last so that, as in the
-- other adapters, a clash of both is reported as UsernameTaken.
CREATE UNIQUE INDEX users_email_key ON users (email);
CREATE UNIQUE INDEX users_username_lower_key ON users (lower(username));
CREATE INDEX users_created_at_id_idx ON users (created_at, id);
