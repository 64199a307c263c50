-- One row per recording, its files a JSON list; times in integer microseconds (timeconv.py).
CREATE TABLE recordings (
    id             TEXT    PRIMARY KEY NOT NULL,
    meeting_id     TEXT    NOT NULL,
    started_by     TEXT    NOT NULL,
    state          TEXT    NOT NULL,
    files          TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    started_at     INTEGER,
    stopped_at     INTEGER,
    finished_at    INTEGER,
    stopped_by     TEXT,
    failure_reason TEXT,
    progress       REAL    NOT NULL,
    version        INTEGER NOT NULL
) STRICT;

CREATE INDEX recordings_meeting_idx ON recordings (meeting_id, created_at);
-- At most one active recording per meeting.
CREATE UNIQUE INDEX recordings_one_active_idx ON recordings (meeting_id)
    WHERE state IN ('starting', 'recording', 'stopping');
