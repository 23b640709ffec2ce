-- Sessions the members service ended (Logout, ChangePassword, a refresh token used twice), as
-- it told this service: their access tokens are refused until every token issued before has
-- expired; rows older than that are deleted as new ones arrive. Only ids are kept.
CREATE TABLE revoked_sessions (
    session_id TEXT PRIMARY KEY NOT NULL,
    member_id TEXT NOT NULL,
    revoked_at TEXT NOT NULL
);
CREATE INDEX revoked_sessions_revoked_at ON revoked_sessions (revoked_at);
