-- The time of each pair's latest block or unblock, kept after an unblock deletes the block:
-- a change's time is later than its pair's previous one, so events (told through the outbox,
-- which may deliver out of order) keeps the latest change. Only ids are kept.
CREATE TABLE block_changes (
    blocker_id TEXT NOT NULL,
    blocked_id TEXT NOT NULL,
    changed_at TEXT NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
);
INSERT INTO block_changes (blocker_id, blocked_id, changed_at)
SELECT blocker_id, blocked_id, created_at FROM blocks;

-- Events learns of the blocks made before it kept them: one outbox row per block, as
-- rendezvous_common::relay::block_changed writes them.
INSERT INTO outbox (id, topic, dedupe_key, payload, created_at, next_attempt_at)
SELECT
    lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-' || hex(randomblob(2)) || '-'
        || hex(randomblob(2)) || '-' || hex(randomblob(6))),
    'events.record_blocks',
    'events.record_blocks:' || blocker_id || ':' || blocked_id || ':backfill',
    json_object(
        'blocker_id', blocker_id,
        'blocked_id', blocked_id,
        'blocked', json('true'),
        'change_time', created_at
    ),
    created_at,
    created_at
FROM blocks;
