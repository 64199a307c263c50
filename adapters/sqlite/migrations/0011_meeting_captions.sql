-- Whether live captions are on for a meeting (issue 12): off by default, and always off once it ended.
ALTER TABLE meetings ADD COLUMN captions_on INTEGER NOT NULL DEFAULT 0;
