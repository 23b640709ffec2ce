-- The lease of a claimed delivery: a fresh token per claim. A worker records an attempt, and
-- later its outcome, only while the delivery still holds the token it claimed it with, so a
-- worker whose lease ran out (another claimed the delivery since) cannot record over it.
ALTER TABLE deliveries ADD COLUMN lease_token TEXT;
-- Old notifications are pruned by age (a documented retention).
CREATE INDEX notifications_created ON notifications (created_at);
