-- Blocks between members, as the members service's outbox tells this service (RecordBlocks):
-- a host and a viewer who block each other (either way) do not see each other's events, and
-- events answers that without asking members. One row per ordered pair, the latest change:
-- an unblock stays as a row with blocked false, so that an older block arriving late loses.
-- changed_at is the change's time in microseconds since the Unix epoch (an integer, so that
-- last-writer-wins compares the same way on both backends). Only ids are kept.
CREATE TABLE member_blocks (
    blocker_id TEXT NOT NULL,
    blocked_id TEXT NOT NULL,
    blocked INTEGER NOT NULL,
    changed_at BIGINT NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
);
CREATE INDEX member_blocks_blocked ON member_blocks (blocked_id);
