-- A matched coffee once either member booked it (MemberService.ScheduleCoffee): the private
-- event events makes of it (its id chosen here, so the booking names it at once), when the
-- two meet, and who booked it. Unset while not booked.
ALTER TABLE coffee_proposals ADD COLUMN event_id TEXT;
ALTER TABLE coffee_proposals ADD COLUMN meeting_starts_at TIMESTAMPTZ;
ALTER TABLE coffee_proposals ADD COLUMN meeting_ends_at TIMESTAMPTZ;
ALTER TABLE coffee_proposals ADD COLUMN booked_by TEXT REFERENCES members (id);
CREATE UNIQUE INDEX coffee_proposals_event ON coffee_proposals (event_id);
