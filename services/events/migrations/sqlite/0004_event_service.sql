-- EventService: completion, announcements, series and calendar feeds (SQLite).
ALTER TABLE events ADD COLUMN no_show_count INTEGER NOT NULL DEFAULT 0;
-- Set once members' RecordMeetings accepted the event's check-ins; the auto-complete task
-- retries completed events where it is still unset.
ALTER TABLE events ADD COLUMN meetings_recorded_at TEXT;
CREATE INDEX events_host ON events (host_id, start_at, id);
CREATE INDEX events_series ON events (series_id, start_at);

CREATE TABLE announcements (
    event_id TEXT NOT NULL REFERENCES events (id),
    request_id TEXT NOT NULL,
    recipient_count INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (event_id, request_id)
);

CREATE TABLE series (
    id TEXT PRIMARY KEY NOT NULL,
    chapter_id TEXT REFERENCES chapters (id),
    host_id TEXT NOT NULL,
    -- The series as JSON (rule, start date and time, duration, zone, template).
    spec TEXT NOT NULL,
    -- active | cancelled
    state TEXT NOT NULL,
    request_id TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (host_id, request_id)
);

CREATE TABLE calendar_feeds (
    id TEXT PRIMARY KEY NOT NULL,
    member_id TEXT NOT NULL,
    -- SHA-256 of the secret token, hex; the token itself is never stored.
    token_hash TEXT NOT NULL UNIQUE,
    request_id TEXT,
    created_at TEXT NOT NULL,
    revoked_at TEXT,
    UNIQUE (member_id, request_id)
);
