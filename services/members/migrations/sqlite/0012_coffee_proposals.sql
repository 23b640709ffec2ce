-- Coffee proposals, one row per pair a round proposed (member_a < member_b). `state` is
-- open (awaiting answers until respond_by), matched (both accepted) or lapsed (not matched by
-- respond_by: nobody is told why). An answer is NULL, 'accepted' or 'declined', and is only
-- ever shown to the member who gave it.
CREATE TABLE coffee_proposals (
    id TEXT PRIMARY KEY NOT NULL,
    member_a TEXT NOT NULL REFERENCES members (id),
    member_b TEXT NOT NULL REFERENCES members (id),
    proposed_at TEXT NOT NULL,
    respond_by TEXT NOT NULL,
    state TEXT NOT NULL,
    answer_a TEXT,
    answer_b TEXT,
    CHECK (member_a < member_b)
);
CREATE INDEX coffee_proposals_pair ON coffee_proposals (member_a, member_b, proposed_at);
CREATE INDEX coffee_proposals_b ON coffee_proposals (member_b, proposed_at);
CREATE INDEX coffee_proposals_open ON coffee_proposals (respond_by) WHERE state = 'open';

-- Per member, what the rounds need: when they were last proposed a coffee, and their open
-- proposal (at most one) until it is matched or lapses.
CREATE TABLE coffee_rounds (
    member_id TEXT PRIMARY KEY NOT NULL REFERENCES members (id),
    last_proposed_at TEXT NOT NULL,
    open_proposal_id TEXT
);
