-- Reminders are derived from event times: a confirmed attendee is reminded an offset before the
-- start when they were confirmed, and the start was set, at or before that moment.
-- When the RSVP became confirmed (NULL unless confirmed).
ALTER TABLE rsvps ADD COLUMN confirmed_at TEXT;
UPDATE rsvps SET confirmed_at = updated_at WHERE status = 'confirmed';
-- When the event's start was last set (created or moved); NULL reads as created_at.
ALTER TABLE events ADD COLUMN start_set_at TEXT;
UPDATE events SET start_set_at = updated_at;
-- One reminder per (event, member, offset, start time): redelivery and repeated sweeps are
-- harmless, and a moved start gets fresh ones.
CREATE TABLE reminders_sent (
    event_id TEXT NOT NULL REFERENCES events (id),
    member_id TEXT NOT NULL,
    offset_minutes INTEGER NOT NULL,
    start_at TEXT NOT NULL,
    sent_at TEXT NOT NULL,
    PRIMARY KEY (event_id, member_id, offset_minutes, start_at)
);
