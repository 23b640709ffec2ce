-- Whom a confirmed attendee hopes to meet at an event (MarkWantToMeet): one row per mark,
-- read only by the member who made it and by the check for a mark the other way.
CREATE TABLE want_to_meet_marks (
    event_id TEXT NOT NULL REFERENCES events (id),
    member_id TEXT NOT NULL,
    other_id TEXT NOT NULL,
    marked_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (event_id, member_id, other_id)
);
-- The erasure of a member finds the marks made on them.
CREATE INDEX want_to_meet_marks_other ON want_to_meet_marks (other_id);

-- The pairs who marked each other and were told so (WANT_TO_MEET_MUTUAL), member_a < member_b.
-- Kept when either takes the mark back: what was said stays said, and their "did you meet?"
-- prompt after the event comes first. Dropped by a block between them or an erasure.
CREATE TABLE want_to_meet_pairs (
    event_id TEXT NOT NULL REFERENCES events (id),
    member_a TEXT NOT NULL,
    member_b TEXT NOT NULL,
    told_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (event_id, member_a, member_b)
);
CREATE INDEX want_to_meet_pairs_b ON want_to_meet_pairs (member_b);
