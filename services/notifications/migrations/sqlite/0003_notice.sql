-- The typed notice the producer sent (an encoded rendezvous.notifications.v1.Notice): every
-- channel renders from it, and clients read its facts. It replaces the string parameters;
-- rows stored before it have an empty notice and render as a plain "new notification".
ALTER TABLE notifications ADD COLUMN notice BLOB NOT NULL DEFAULT x'';
ALTER TABLE notifications DROP COLUMN params;
