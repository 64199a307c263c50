-- Whether a meeting's members (not only its hosts) may run AI analysis on its media.
ALTER TABLE meetings ADD COLUMN allow_analysis boolean NOT NULL DEFAULT true;
