-- The delivery workers that are alive: each beats here every second. A lease whose holder
-- has been silent for a few seconds (a process that crashed) is taken over at once rather
-- than when it runs out; a live holder's lease is never taken before that.
CREATE TABLE delivery_workers (
    id TEXT PRIMARY KEY NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    beat_at TIMESTAMPTZ NOT NULL
);
-- The worker that holds a delivery's lease (NULL with the lease, and for leases taken before
-- this migration, which run out as before).
ALTER TABLE deliveries ADD COLUMN lease_holder TEXT;
CREATE INDEX deliveries_leased ON deliveries (lease_holder) WHERE lease_token IS NOT NULL;
