-- The process running a recording (its instance id) and until when its heartbeat holds it: another
-- process recovers only a recording whose lease ran out.  Rows from before have neither: free to claim.
ALTER TABLE recordings ADD COLUMN owner text COLLATE "C";
ALTER TABLE recordings ADD COLUMN lease_until timestamptz;
