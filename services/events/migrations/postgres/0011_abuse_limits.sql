-- Per-chapter abuse limits, counted from rows so that they hold across replicas.
-- One row per event whose publication told its chapter and counts against the chapter's
-- weekly cap on new-event notices (events published by an organiser are not counted).
CREATE TABLE chapter_event_notices (
    event_id TEXT PRIMARY KEY NOT NULL,
    chapter_id TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX chapter_event_notices_window ON chapter_event_notices (chapter_id, created_at);
-- Announcements are capped per event and per chapter per day, counted from their rows.
CREATE INDEX announcements_window ON announcements (event_id, created_at);
