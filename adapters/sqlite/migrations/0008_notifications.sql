-- Notifications (issue 13) for the embedded persistent mode: history, preferences, planned meeting
-- reminders (so they fire after a restart), push subscriptions.  Times are integer microseconds (UTC).
CREATE TABLE notifications (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT    NOT NULL UNIQUE,
    user_id     TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    title       TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    link        TEXT,
    data        TEXT    NOT NULL DEFAULT '{}',
    created_at  INTEGER NOT NULL,
    read_at     INTEGER
);
CREATE INDEX notifications_user_idx ON notifications (user_id, created_at DESC, seq DESC);

CREATE TABLE notification_preferences (
    user_id          TEXT    PRIMARY KEY,
    channels         TEXT    NOT NULL DEFAULT '{}',
    quiet_start      TEXT,
    quiet_end        TEXT,
    timezone         TEXT    NOT NULL DEFAULT 'UTC',
    locale           TEXT    NOT NULL DEFAULT 'en',
    reminder_minutes INTEGER NOT NULL DEFAULT 10,
    phone            TEXT
);

CREATE TABLE notification_reminders (
    id          TEXT    PRIMARY KEY,
    meeting_id  TEXT    NOT NULL,
    user_id     TEXT    NOT NULL,
    fire_at     INTEGER NOT NULL,
    minutes     INTEGER NOT NULL,
    held_until  INTEGER,
    fired_at    INTEGER
);
CREATE INDEX notification_reminders_due_idx ON notification_reminders (fire_at) WHERE fired_at IS NULL;
CREATE INDEX notification_reminders_meeting_idx ON notification_reminders (meeting_id);

CREATE TABLE push_subscriptions (
    endpoint    TEXT    PRIMARY KEY,
    user_id     TEXT    NOT NULL,
    p256dh      TEXT    NOT NULL,
    auth        TEXT    NOT NULL
);
CREATE INDEX push_subscriptions_user_idx ON push_subscriptions (user_id);
