-- The process running a recording (its instance id) and until when its heartbeat holds it (µs since
-- the epoch): another process recovers only a recording whose lease ran out.
ALTER TABLE recordings ADD COLUMN owner TEXT;
ALTER TABLE recordings ADD COLUMN lease_until INTEGER;
