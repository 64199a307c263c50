-- A kicked user no longer counts as someone who joined (Meeting.kick forgets their attendance, so they
-- lose "meetings I joined" and, for invite-only meetings, sight of the meeting).  Rows written before
-- that rule are brought in line here.
DELETE FROM meeting_attendance a
USING meetings m
WHERE a.meeting_id = m.id AND a.user_id = ANY (m.kicked);
