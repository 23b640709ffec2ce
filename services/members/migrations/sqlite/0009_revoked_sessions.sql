-- The sessions ended within the last access-token lifetime, read every few seconds by each
-- replica so that it refuses their access tokens (see rendezvous_common::revocations).
CREATE INDEX sessions_revoked_at ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;
