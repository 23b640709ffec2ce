-- The time of each pair's latest block or unblock, kept after an unblock deletes the block:
-- a change's time is later than its pair's previous one, so events (told through the outbox,
-- which may deliver out of order) keeps the latest change. Only ids are kept.
CREATE TABLE block_changes (
    blocker_id TEXT NOT NULL,
    blocked_id TEXT NOT NULL,
    changed_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
);
INSERT INTO block_changes (blocker_id, blocked_id, changed_at)
SELECT blocker_id, blocked_id, created_at FROM blocks;

-- Events learns of the blocks made before it kept them: one outbox row per block, as
-- rendezvous_common::relay::block_changed writes them.
INSERT INTO outbox (id, topic, dedupe_key, payload, created_at, next_attempt_at)
SELECT
    gen_random_uuid()::text,
    'events.record_blocks',
    'events.record_blocks:' || blocker_id || ':' || blocked_id || ':backfill',
    json_build_object(
        'blocker_id', blocker_id,
        'blocked_id', blocked_id,
        'blocked', true,
        'change_time', to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
    )::text,
    created_at,
    created_at
FROM blocks;
