-- Events schema (PostgreSQL). Timestamps are TIMESTAMPTZ; ids are UUIDv7 text.
CREATE TABLE chapters (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    city TEXT NOT NULL,
    city_key TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX chapters_city ON chapters (city_key, id);

CREATE TABLE chapter_members (
    chapter_id TEXT NOT NULL REFERENCES chapters (id),
    member_id TEXT NOT NULL,
    -- member | organizer
    role TEXT NOT NULL,
    joined_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (chapter_id, member_id)
);
CREATE INDEX chapter_members_member ON chapter_members (member_id);

CREATE TABLE events (
    id TEXT PRIMARY KEY NOT NULL,
    chapter_id TEXT REFERENCES chapters (id),
    series_id TEXT,
    host_id TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL,
    venue_name TEXT NOT NULL DEFAULT '',
    venue_address TEXT NOT NULL DEFAULT '',
    latitude DOUBLE PRECISION,
    longitude DOUBLE PRECISION,
    city TEXT NOT NULL DEFAULT '',
    city_key TEXT NOT NULL DEFAULT '',
    start_at TIMESTAMPTZ NOT NULL,
    end_at TIMESTAMPTZ NOT NULL,
    time_zone TEXT NOT NULL,
    capacity BIGINT NOT NULL,
    rsvp_deadline TIMESTAMPTZ,
    -- public | chapter | invite_only
    visibility TEXT NOT NULL,
    -- draft | published | cancelled | completed
    state TEXT NOT NULL,
    approval_required BOOLEAN NOT NULL DEFAULT FALSE,
    -- automatic | offer
    waitlist_mode TEXT NOT NULL,
    offer_window_secs BIGINT NOT NULL DEFAULT 0,
    -- Seat counters, changed only in the transaction that changes the RSVPs they count.
    confirmed_count BIGINT NOT NULL DEFAULT 0,
    offered_count BIGINT NOT NULL DEFAULT 0,
    waitlisted_count BIGINT NOT NULL DEFAULT 0,
    -- Next arrival sequence number; wait-list order is arrival order.
    next_seq BIGINT NOT NULL DEFAULT 1,
    check_in_code TEXT NOT NULL,
    cancellation_reason TEXT NOT NULL DEFAULT '',
    -- The creator's idempotency key: a retried CreateEvent returns the same event.
    request_id TEXT,
    version BIGINT NOT NULL DEFAULT 1,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    completed_at TIMESTAMPTZ,
    CHECK (confirmed_count + offered_count <= capacity),
    UNIQUE (host_id, request_id)
);
CREATE INDEX events_start ON events (state, start_at, id);
CREATE INDEX events_city ON events (city_key, start_at);
CREATE INDEX events_chapter ON events (chapter_id, start_at);

CREATE TABLE cohosts (
    event_id TEXT NOT NULL REFERENCES events (id),
    member_id TEXT NOT NULL,
    -- full | check_in_only
    role TEXT NOT NULL,
    PRIMARY KEY (event_id, member_id)
);

CREATE TABLE invitations (
    event_id TEXT NOT NULL REFERENCES events (id),
    member_id TEXT NOT NULL,
    invited_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (event_id, member_id)
);
CREATE INDEX invitations_inviter ON invitations (invited_by, created_at);

CREATE TABLE rsvps (
    event_id TEXT NOT NULL REFERENCES events (id),
    member_id TEXT NOT NULL,
    -- confirmed | waitlisted | offered | pending_approval | declined | cancelled | not_going
    status TEXT NOT NULL,
    -- Arrival order, from events.next_seq.
    seq BIGINT NOT NULL,
    -- public | connections | attendees | nobody
    visibility TEXT NOT NULL,
    offer_expires_at TIMESTAMPTZ,
    checked_in_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (event_id, member_id)
);
CREATE INDEX rsvps_line ON rsvps (event_id, status, seq);
CREATE INDEX rsvps_member ON rsvps (member_id, status);
