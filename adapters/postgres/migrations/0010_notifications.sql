-- Notifications (issue 13): the in-app history, per-user preferences, planned meeting reminders and
-- Web Push subscriptions.  No foreign keys to users/meetings: the notification service may run with its
-- own database later, and a deleted meeting's reminders are cancelled by its event.
CREATE TABLE notifications (
    id          text        PRIMARY KEY,
    user_id     text        NOT NULL,
    kind        text        NOT NULL,
    title       text        NOT NULL,
    body        text        NOT NULL,
    link        text,
    data        jsonb       NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL,
    read_at     timestamptz,
    seq         bigserial   NOT NULL
);
CREATE INDEX notifications_user_idx ON notifications (user_id, created_at DESC, seq DESC);
CREATE INDEX notifications_unread_idx ON notifications (user_id) WHERE read_at IS NULL;

CREATE TABLE notification_preferences (
    user_id          text    PRIMARY KEY,
    channels         jsonb   NOT NULL DEFAULT '{}',
    quiet_start      time,
    quiet_end        time,
    timezone         text    NOT NULL DEFAULT 'UTC',
    locale           text    NOT NULL DEFAULT 'en',
    reminder_minutes integer NOT NULL DEFAULT 10,
    phone            text
);

CREATE TABLE notification_reminders (
    id          text        PRIMARY KEY,
    meeting_id  text        NOT NULL,
    user_id     text        NOT NULL,
    fire_at     timestamptz NOT NULL,
    minutes     integer     NOT NULL,
    held_until  timestamptz,
    fired_at    timestamptz
);
CREATE INDEX notification_reminders_due_idx ON notification_reminders (fire_at) WHERE fired_at IS NULL;
CREATE INDEX notification_reminders_meeting_idx ON notification_reminders (meeting_id);

CREATE TABLE push_subscriptions (
    endpoint    text        PRIMARY KEY,
    user_id     text        NOT NULL,
    p256dh      text        NOT NULL,
    auth        text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX push_subscriptions_user_idx ON push_subscriptions (user_id);
