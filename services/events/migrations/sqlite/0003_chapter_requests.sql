-- CreateChapter idempotency: a retry with the same request_id by the same member returns the
-- chapter the first call created.
ALTER TABLE chapters ADD COLUMN request_id TEXT;
CREATE UNIQUE INDEX chapters_request ON chapters (created_by, request_id);
-- ListChapterMembers pages in joining order.
CREATE INDEX chapter_members_joined ON chapter_members (chapter_id, joined_at, member_id);
