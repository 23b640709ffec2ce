-- The member a notification names besides its recipient (the requester, inviter, host or
-- co-attendee of its notice): erasing that member erases the notification too. Rows stored
-- before this migration name nobody here.
CREATE TABLE notification_subjects (
    notification_id TEXT NOT NULL REFERENCES notifications (id),
    member_id TEXT NOT NULL,
    PRIMARY KEY (notification_id, member_id)
);
CREATE INDEX notification_subjects_member ON notification_subjects (member_id);

-- Deleted members whose part was erased, as the members service told this service: their
-- access tokens are refused, and later notices to them are dropped. Only the id is kept.
CREATE TABLE erased_members (
    member_id TEXT PRIMARY KEY NOT NULL,
    erased_at TIMESTAMPTZ NOT NULL
);
