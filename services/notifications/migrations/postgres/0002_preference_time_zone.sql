-- A member may read quiet hours in another zone than their profile's (NULL: the profile's).
ALTER TABLE quiet_hours ADD COLUMN time_zone TEXT;
