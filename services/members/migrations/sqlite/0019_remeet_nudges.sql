-- Re-meet nudges (MemberService.UpdateRemeetSettings): who takes part, after how long, and
-- when each was last nudged (at most once a fortnight, claimed by a conditional update) and
-- last looked at without a nudge to make (looked at again a day later).
CREATE TABLE remeet_settings (
    member_id TEXT PRIMARY KEY NOT NULL REFERENCES members (id),
    opted_in BOOLEAN NOT NULL,
    after_days INTEGER NOT NULL,
    last_nudged_at TEXT,
    last_checked_at TEXT,
    updated_at TEXT NOT NULL
);
CREATE INDEX remeet_settings_due ON remeet_settings (last_nudged_at) WHERE opted_in;

-- Each nudge made: to `member_id`, about `other_id`, with what it suggested (an event, as the
-- nudge told it, or a coffee proposal). A dismissed one keeps its row so that the connection
-- is not suggested again until the two meet again.
CREATE TABLE remeet_nudges (
    id TEXT PRIMARY KEY NOT NULL,
    member_id TEXT NOT NULL REFERENCES members (id),
    other_id TEXT NOT NULL REFERENCES members (id),
    last_met_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    event_facts BLOB,
    coffee_proposal_id TEXT REFERENCES coffee_proposals (id),
    dismissed_at TEXT,
    CHECK ((event_facts IS NULL) <> (coffee_proposal_id IS NULL))
);
CREATE INDEX remeet_nudges_member ON remeet_nudges (member_id, other_id, created_at);
CREATE INDEX remeet_nudges_other ON remeet_nudges (other_id);

-- Set on a coffee proposal a re-meet nudge made: when the two last met.
ALTER TABLE coffee_proposals ADD COLUMN last_met_at TEXT;
