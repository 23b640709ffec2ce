-- A completed event whose meetings members refused is retried with back-off, so that events
-- members keeps refusing never hold up the rest (the job reads a bounded batch of due ones).
ALTER TABLE events ADD COLUMN meetings_refusals BIGINT NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN meetings_retry_at TIMESTAMPTZ;
CREATE INDEX events_meetings_due ON events (completed_at)
    WHERE state = 'completed' AND meetings_recorded_at IS NULL;
