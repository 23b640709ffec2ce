-- The members recorded as checked in at each event, so that an event sent in chunks pairs
-- each new chunk with the members of the chunks before it, once.
CREATE TABLE recorded_attendees (
    event_id TEXT NOT NULL REFERENCES recorded_events (event_id),
    member_id TEXT NOT NULL,
    PRIMARY KEY (event_id, member_id)
);

-- Whether every chunk of the event is in (its follow-ups then go out); events recorded before
-- chunks existed came in one call and are.
ALTER TABLE recorded_events ADD COLUMN complete BOOLEAN NOT NULL DEFAULT TRUE;
