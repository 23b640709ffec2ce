-- The times offered to the two members of a matched coffee proposal, computed once when the
-- second of them accepts (domain::slots): inside both members' availability, each read in
-- its member's own time zone.
CREATE TABLE coffee_slots (
    proposal_id TEXT NOT NULL REFERENCES coffee_proposals (id),
    starts_at TIMESTAMPTZ NOT NULL,
    ends_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (proposal_id, starts_at)
);
