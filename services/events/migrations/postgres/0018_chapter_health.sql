-- A chapter's health, kept as things happen (GetChapterHealth reads these rows, never the
-- chapter's history). Counts only: who was there stays in rsvps.

-- Per chapter and calendar month (in the chapter's zone) of its completed events' starts.
CREATE TABLE chapter_months (
    chapter_id TEXT NOT NULL REFERENCES chapters (id),
    -- 'YYYY-MM'
    month TEXT NOT NULL,
    events BIGINT NOT NULL DEFAULT 0,
    confirmed BIGINT NOT NULL DEFAULT 0,
    checked_in BIGINT NOT NULL DEFAULT 0,
    no_shows BIGINT NOT NULL DEFAULT 0,
    -- Members whose first check-in at the chapter was this month, and of those, how many
    -- came back within 60 days.
    first_timers BIGINT NOT NULL DEFAULT 0,
    returned BIGINT NOT NULL DEFAULT 0,
    met_edges BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (chapter_id, month)
);

-- Each member's first check-in at one of the chapter's completed events, and whether they
-- checked in again within 60 days of it.
CREATE TABLE chapter_attendees (
    chapter_id TEXT NOT NULL REFERENCES chapters (id),
    member_id TEXT NOT NULL,
    first_at TIMESTAMPTZ NOT NULL,
    first_month TEXT NOT NULL,
    returned BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (chapter_id, member_id)
);
CREATE INDEX chapter_attendees_member ON chapter_attendees (member_id);

-- When each member last RSVP'd to (going, in any state) or checked in at one of the
-- chapter's events: the active members are those of the last 90 days.
CREATE TABLE chapter_activity (
    chapter_id TEXT NOT NULL REFERENCES chapters (id),
    member_id TEXT NOT NULL,
    active_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (chapter_id, member_id)
);
CREATE INDEX chapter_activity_recent ON chapter_activity (chapter_id, active_at);
CREATE INDEX chapter_activity_member ON chapter_activity (member_id);

-- The met-in-person edges counted (RecordMetEdge), once per event and pair, member_a < member_b.
CREATE TABLE chapter_met_edges (
    event_id TEXT NOT NULL REFERENCES events (id),
    member_a TEXT NOT NULL,
    member_b TEXT NOT NULL,
    PRIMARY KEY (event_id, member_a, member_b)
);
CREATE INDEX chapter_met_edges_b ON chapter_met_edges (member_b);
CREATE INDEX chapter_met_edges_a ON chapter_met_edges (member_a);

-- The quiet spell (the start of the chapter's latest event, or its creation) its organisers
-- were last told of (CHAPTER_DORMANT), so each spell is told once.
ALTER TABLE chapters ADD COLUMN dormant_told_for TIMESTAMPTZ;

-- Whether a completed event is in its chapter's counts. Events completed before this version
-- are counted by the events job (oldest first, so first check-ins come first); from then on
-- each completion counts itself in its own transaction.
ALTER TABLE events ADD COLUMN health_counted BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX events_health_uncounted ON events (start_at, id)
    WHERE state = 'completed' AND health_counted = FALSE AND chapter_id IS NOT NULL;

-- Members' last activity in each chapter, from the RSVPs and check-ins already made.
INSERT INTO chapter_activity (chapter_id, member_id, active_at)
SELECT e.chapter_id, r.member_id, MAX(COALESCE(r.checked_in_at, r.updated_at))
FROM rsvps r JOIN events e ON e.id = r.event_id
WHERE e.chapter_id IS NOT NULL
  AND r.status IN ('confirmed', 'waitlisted', 'offered', 'pending_approval')
GROUP BY e.chapter_id, r.member_id;
