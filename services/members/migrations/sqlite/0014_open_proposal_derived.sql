-- A member's open proposal is read from coffee_proposals itself (state 'open'), not kept a
-- second time in coffee_rounds: these indexes find it from either side of the pair.
ALTER TABLE coffee_rounds DROP COLUMN open_proposal_id;
CREATE INDEX coffee_proposals_open_a ON coffee_proposals (member_a) WHERE state = 'open';
CREATE INDEX coffee_proposals_open_b ON coffee_proposals (member_b) WHERE state = 'open';
