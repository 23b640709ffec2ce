-- Whether the two of a pair marked each other as hoping to meet at the event (events sends
-- the mutual pairs with its attendees): set on both rows of the pair, listed first.
ALTER TABLE meeting_pairs ADD COLUMN hoped BOOLEAN NOT NULL DEFAULT FALSE;
