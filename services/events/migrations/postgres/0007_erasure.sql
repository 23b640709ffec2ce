-- Deleted members whose part of events was erased, as the members service told this service:
-- their access tokens are refused. Only the id is kept.
CREATE TABLE erased_members (
    member_id TEXT PRIMARY KEY NOT NULL,
    erased_at TIMESTAMPTZ NOT NULL
);
