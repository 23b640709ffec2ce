-- Members schema (PostgreSQL). Timestamps are TIMESTAMPTZ; ids are UUIDv7 text.
CREATE TABLE members (
    id TEXT PRIMARY KEY NOT NULL,
    -- NULL once the account is deleted, so the address can register again.
    email TEXT UNIQUE,
    password_hash TEXT,
    display_name TEXT NOT NULL,
    headline TEXT NOT NULL DEFAULT '',
    company TEXT NOT NULL DEFAULT '',
    city TEXT NOT NULL DEFAULT '',
    -- lower(city), for case-insensitive filters.
    city_key TEXT NOT NULL DEFAULT '',
    locale TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    -- Normalised (see contacts_csv::normalize_profile_url).
    linkedin_url TEXT UNIQUE,
    visibility TEXT NOT NULL,
    -- Bumped by every profile change; the etag.
    version BIGINT NOT NULL DEFAULT 1,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    deleted_at TIMESTAMPTZ
);
CREATE INDEX members_city ON members (city_key);

CREATE TABLE member_interests (
    member_id TEXT NOT NULL REFERENCES members (id),
    interest TEXT NOT NULL,
    PRIMARY KEY (member_id, interest)
);
CREATE INDEX member_interests_interest ON member_interests (interest);

-- A session is a family of rotated refresh tokens.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY NOT NULL,
    member_id TEXT NOT NULL REFERENCES members (id),
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ,
    revoke_reason TEXT
);
CREATE INDEX sessions_member ON sessions (member_id);

CREATE TABLE refresh_tokens (
    -- SHA-256 of the token; the token itself is never stored.
    token_hash TEXT PRIMARY KEY NOT NULL,
    session_id TEXT NOT NULL REFERENCES sessions (id),
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    -- Set when rotated; presenting a used token again revokes the session.
    used_at TIMESTAMPTZ
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

CREATE TABLE connection_requests (
    id TEXT PRIMARY KEY NOT NULL,
    requester_id TEXT NOT NULL REFERENCES members (id),
    addressee_id TEXT NOT NULL REFERENCES members (id),
    note TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL,
    -- "<smaller id>|<larger id>" while pending, NULL after: one pending request per pair,
    -- whichever side asked first.
    pending_pair TEXT UNIQUE,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX connection_requests_addressee ON connection_requests (addressee_id, state);
CREATE INDEX connection_requests_requester ON connection_requests (requester_id, state);

-- One row per connected pair, member_a < member_b.
CREATE TABLE connections (
    member_a TEXT NOT NULL REFERENCES members (id),
    member_b TEXT NOT NULL REFERENCES members (id),
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (member_a, member_b)
);
CREATE INDEX connections_b ON connections (member_b);

CREATE TABLE blocks (
    blocker_id TEXT NOT NULL REFERENCES members (id),
    blocked_id TEXT NOT NULL REFERENCES members (id),
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
);
CREATE INDEX blocks_blocked ON blocks (blocked_id);

-- Events whose meetings were recorded (RecordMeetings is idempotent per event).
CREATE TABLE recorded_events (
    event_id TEXT PRIMARY KEY NOT NULL,
    title TEXT NOT NULL,
    event_time TIMESTAMPTZ NOT NULL,
    attendee_count BIGINT NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL
);

-- "Who you met" follow-ups: one row per direction of each co-attendee pair.
CREATE TABLE meeting_pairs (
    event_id TEXT NOT NULL REFERENCES recorded_events (event_id),
    member_id TEXT NOT NULL,
    other_id TEXT NOT NULL,
    event_time TIMESTAMPTZ NOT NULL,
    confirmed BOOLEAN NOT NULL DEFAULT FALSE,
    dismissed BOOLEAN NOT NULL DEFAULT FALSE,
    met BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (event_id, member_id, other_id)
);
CREATE INDEX meeting_pairs_member ON meeting_pairs (member_id, event_time, event_id);

-- Pairs met in person, member_a < member_b; the first meeting is kept.
CREATE TABLE met_edges (
    member_a TEXT NOT NULL,
    member_b TEXT NOT NULL,
    event_id TEXT NOT NULL,
    met_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (member_a, member_b)
);
CREATE INDEX met_edges_b ON met_edges (member_b);
