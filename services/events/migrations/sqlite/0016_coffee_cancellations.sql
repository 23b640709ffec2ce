-- Coffees the members service called off (CancelCoffee: a block, a removed connection, a
-- deleted account), one row per proposal, kept for good: the relay does not order
-- CancelCoffee after the proposal's ScheduleCoffee, so a booking that arrives after its
-- cancellation finds this row and makes nothing. Only the proposal's id is kept.
CREATE TABLE coffee_cancellations (
    proposal_id TEXT PRIMARY KEY NOT NULL,
    cancelled_at TEXT NOT NULL
);
