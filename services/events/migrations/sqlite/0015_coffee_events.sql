-- A booked coffee (members' ScheduleCoffee, through its outbox) becomes a private two-person
-- event that names its proposal in the members service: at most one event per proposal, so a
-- redelivered booking finds the event the first delivery made. NULL for every other event.
ALTER TABLE events ADD COLUMN coffee_proposal_id TEXT;
CREATE UNIQUE INDEX events_coffee_proposal ON events (coffee_proposal_id);
