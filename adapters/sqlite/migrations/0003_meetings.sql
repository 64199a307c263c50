-- One row per meeting; its sets are JSON arrays (sorted, so equal meetings give equal rows) and its
-- participants a JSON array of [user_id, joined_at in microseconds].  A load is one row and a save
-- one UPDATE guarded by ``version``.  "Meetings of mine" reads the arrays with json_each: a scan, which
-- is what an embedded store of a laptop demo can afford.
CREATE TABLE meetings (
    id               TEXT    PRIMARY KEY NOT NULL,
    host_id          TEXT    NOT NULL,
    title            TEXT    NOT NULL,
    description      TEXT    NOT NULL,
    start_time       INTEGER NOT NULL,
    duration_minutes INTEGER NOT NULL,
    capacity         INTEGER NOT NULL,
    password_hash    TEXT,
    mute_on_join     INTEGER NOT NULL,
    allow_recording  INTEGER NOT NULL,
    invite_only      INTEGER NOT NULL,
    status           TEXT    NOT NULL,
    locked           INTEGER NOT NULL,
    co_hosts         TEXT    NOT NULL,
    invited_users    TEXT    NOT NULL,
    invited_emails   TEXT    NOT NULL,
    kicked           TEXT    NOT NULL,
    attendees        TEXT    NOT NULL,
    participants     TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    started_at       INTEGER,
    ended_at         INTEGER,
    version          INTEGER NOT NULL
) STRICT;

CREATE INDEX meetings_host_id_idx ON meetings (host_id, start_time, id);
