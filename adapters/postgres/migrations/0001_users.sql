-- Ids are opaque text compared byte-wise (COLLATE "C") so ORDER BY ... id agrees with Python's str order.
CREATE TABLE users (
    id            text COLLATE "C" PRIMARY KEY,
    username      text        NOT NULL,
    email         text        NOT NULL,
    password_hash text        NOT NULL,
    display_name  text        NOT NULL,
    role          text        NOT NULL,
    banned        boolean     NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    version       integer     NOT NULL
);

-- Constraint names are matched in adapters/postgres/users.py to tell UsernameTaken from EmailTaken.
CREATE UNIQUE INDEX users_username_lower_key ON users (lower(username));
ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);
CREATE INDEX users_created_at_id_idx ON users (created_at, id);
