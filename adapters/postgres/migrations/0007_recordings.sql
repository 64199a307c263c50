-- One row per recording; its files as one JSON list (written with the row, never queried alone).
-- No foreign key to meetings: a recording's row and objects outlive the meeting's deletion until the
-- host deletes the recording itself.
CREATE TABLE recordings (
    id             text COLLATE "C" PRIMARY KEY,
    meeting_id     text COLLATE "C" NOT NULL,
    started_by     text COLLATE "C" NOT NULL,
    state          text             NOT NULL,
    files          jsonb            NOT NULL,
    created_at     timestamptz      NOT NULL,
    started_at     timestamptz,
    stopped_at     timestamptz,
    finished_at    timestamptz,
    stopped_by     text COLLATE "C",
    failure_reason text,
    progress       double precision NOT NULL,
    version        integer          NOT NULL
);

CREATE INDEX recordings_meeting_idx ON recordings (meeting_id, created_at DESC);
-- At most one active recording per meeting, enforced where two racing processes cannot both win.
CREATE UNIQUE INDEX recordings_one_active_idx ON recordings (meeting_id)
    WHERE state IN ('starting', 'recording', 'stopping');
CREATE INDEX recordings_unfinished_idx ON recordings (created_at)
    WHERE state NOT IN ('completed', 'failed');
