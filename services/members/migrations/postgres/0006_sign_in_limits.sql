-- Rate limits kept in the database, so that they hold across replicas and restarts: one row
-- per counted attempt of a key (a keyed hash of the account, the client address or both,
-- never the plain email or address), kept until it leaves its window. An attempt is written
-- before the password is checked, so that concurrent attempts cannot exceed a budget.
CREATE TABLE rate_limit_hits (
    id TEXT PRIMARY KEY NOT NULL,
    attempt TEXT NOT NULL,
    key TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX rate_limit_hits_key ON rate_limit_hits (key, expires_at);
CREATE INDEX rate_limit_hits_attempt ON rate_limit_hits (attempt);
CREATE INDEX rate_limit_hits_expiry ON rate_limit_hits (expires_at);

-- Addresses a member signed in from (a keyed hash): failures of the account from elsewhere
-- never lock the member out of these.
CREATE TABLE sign_in_addresses (
    member_id TEXT NOT NULL REFERENCES members (id),
    address TEXT NOT NULL,
    last_success_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (member_id, address)
);
