-- Whether a meeting's members (not only its hosts) may run AI analysis on its media.
ALTER TABLE meetings ADD COLUMN allow_analysis INTEGER NOT NULL DEFAULT 1;
