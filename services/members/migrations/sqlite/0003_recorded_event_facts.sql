-- The event as the notices of its meetings show it (an encoded
-- rendezvous.notifications.v1.EventFacts); NULL for events recorded before it was sent.
ALTER TABLE recorded_events ADD COLUMN event_facts BLOB;
