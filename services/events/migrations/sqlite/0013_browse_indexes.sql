-- Browsing reads a page of events ordered by (start, id), usually in one city and from a time
-- on. The (start, id) order comes from the index, so a page stops after its rows instead of
-- sorting every match; the partial indexes hold only what an anonymous caller may see
-- (published, cancelled or completed public events), so their pages skip nothing.
DROP INDEX events_city;
CREATE INDEX events_city_start ON events (city_key, start_at, id);
CREATE INDEX events_public_city_start ON events (city_key, start_at, id)
    WHERE visibility = 'public' AND state <> 'draft';
CREATE INDEX events_public_start ON events (start_at, id)
    WHERE visibility = 'public' AND state <> 'draft';
