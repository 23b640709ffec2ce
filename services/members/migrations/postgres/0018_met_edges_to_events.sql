-- Events learns of the met edges made before it counted them (chapter health): one outbox
-- row per edge, as rendezvous_common::relay::met_edge_made writes them, keyed alike.
INSERT INTO outbox (id, topic, dedupe_key, payload, created_at, next_attempt_at)
SELECT
    gen_random_uuid()::text,
    'events.record_met_edge',
    'events.record_met_edge:' || event_id || ':' || member_a || ':' || member_b,
    json_build_object(
        'event_id', event_id,
        'member_a', member_a,
        'member_b', member_b,
        'met_time', to_char(met_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
    )::text,
    met_at,
    met_at
FROM met_edges;
