-- Attendance as child rows: one row per (meeting, person who ever joined); ``joined_at`` is set while
-- they are in the meeting and NULL once they left (attendees = every row, participants = joined_at set).
-- A join writes one row instead of rewriting the meeting with its arrays; the meeting row is locked
-- (SELECT ... FOR UPDATE) by the unit of work that changes it, so capacity holds under concurrency.
CREATE TABLE meeting_attendance (
    meeting_id text COLLATE "C" NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    user_id    text COLLATE "C" NOT NULL,
    joined_at  timestamptz,
    PRIMARY KEY (meeting_id, user_id)
);
-- "Meetings I joined" reads it by user.
CREATE INDEX meeting_attendance_user_idx ON meeting_attendance (user_id, meeting_id);

INSERT INTO meeting_attendance (meeting_id, user_id, joined_at)
SELECT m.id, a.user_id, p.joined_at
FROM meetings m
CROSS JOIN LATERAL unnest(m.attendees) AS a(user_id)
LEFT JOIN LATERAL (
    SELECT t.joined_at FROM unnest(m.participant_ids, m.participant_joined_at) AS t(user_id, joined_at)
    WHERE t.user_id = a.user_id
) p ON TRUE;

ALTER TABLE meetings DROP CONSTRAINT meetings_participants_aligned;
DROP INDEX meetings_attendees_idx;
ALTER TABLE meetings DROP COLUMN attendees, DROP COLUMN participant_ids, DROP COLUMN participant_joined_at;
