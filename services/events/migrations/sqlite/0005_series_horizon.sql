-- Series occurrences are materialised up to a rolling horizon; this is how far they reach.
ALTER TABLE series ADD COLUMN materialized_until TEXT;
