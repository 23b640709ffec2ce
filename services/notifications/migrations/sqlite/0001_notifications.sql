-- Notifications schema (SQLite). Timestamps are RFC 3339 UTC text; ids are UUIDv7 text.
CREATE TABLE notifications (
    id TEXT PRIMARY KEY NOT NULL,
    recipient_id TEXT NOT NULL,
    -- NotificationKind name without its prefix, e.g. WELCOME.
    kind TEXT NOT NULL,
    -- JSON object of string parameters.
    params TEXT NOT NULL,
    -- Producer's idempotency key: a retried Deliver never makes a second notification.
    dedupe_key TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    locale TEXT NOT NULL,
    not_before TEXT NOT NULL,
    created_at TEXT NOT NULL,
    -- When it entered the in-app inbox; NULL while scheduled or when in-app is off.
    visible_at TEXT,
    read_at TEXT,
    cancelled_at TEXT
);
CREATE INDEX notifications_inbox ON notifications (recipient_id, visible_at, id);

-- One row per notification and channel: the delivery log.
CREATE TABLE deliveries (
    id TEXT PRIMARY KEY NOT NULL,
    notification_id TEXT NOT NULL REFERENCES notifications (id),
    recipient_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    -- pending | sent | failed (will retry) | dead | suppressed | cancelled
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error TEXT,
    sent_at TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (notification_id, channel)
);
CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);
CREATE INDEX deliveries_recipient ON deliveries (recipient_id, id);

-- Preferences that differ from the defaults.
CREATE TABLE channel_preferences (
    member_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    channel TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    PRIMARY KEY (member_id, kind, channel)
);

CREATE TABLE quiet_hours (
    member_id TEXT PRIMARY KEY NOT NULL,
    -- Minutes after local midnight; start > end spans midnight.
    start_minute INTEGER NOT NULL,
    end_minute INTEGER NOT NULL,
    enabled BOOLEAN NOT NULL,
    updated_at TEXT NOT NULL
);
