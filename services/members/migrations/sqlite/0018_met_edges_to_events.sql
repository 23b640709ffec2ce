-- Events learns of the met edges made before it counted them (chapter health): one outbox
-- row per edge, as rendezvous_common::relay::met_edge_made writes them, keyed alike. The
-- time is met_at as stored (RFC 3339, which the relay reads with any offset).
INSERT INTO outbox (id, topic, dedupe_key, payload, created_at, next_attempt_at)
SELECT
    lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-' || hex(randomblob(2)) || '-'
        || hex(randomblob(2)) || '-' || hex(randomblob(6))),
    'events.record_met_edge',
    'events.record_met_edge:' || event_id || ':' || member_a || ':' || member_b,
    json_object(
        'event_id', event_id,
        'member_a', member_a,
        'member_b', member_b,
        'met_time', met_at
    ),
    met_at,
    met_at
FROM met_edges;
