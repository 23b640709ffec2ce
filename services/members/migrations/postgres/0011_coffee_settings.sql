-- Coffee settings (one row per member who changed them; no row: opted out, the defaults).
-- `availability` is the windows' stored form (domain::coffee::windows_to_stored), `time_zone`
-- empty for the profile's, `preferred_areas` a JSON array of strings.
CREATE TABLE coffee_settings (
    member_id TEXT PRIMARY KEY NOT NULL REFERENCES members (id),
    opted_in BOOLEAN NOT NULL,
    cadence TEXT NOT NULL,
    availability TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    preferred_areas TEXT NOT NULL,
    snoozed_until TIMESTAMPTZ,
    updated_at TIMESTAMPTZ NOT NULL
);
-- The members a proposal round looks at.
CREATE INDEX coffee_settings_opted_in ON coffee_settings (member_id) WHERE opted_in;

-- Whom a member never wants to be proposed; only they see it.
CREATE TABLE coffee_do_not_pair (
    member_id TEXT NOT NULL REFERENCES members (id),
    other_id TEXT NOT NULL,
    PRIMARY KEY (member_id, other_id)
);
CREATE INDEX coffee_do_not_pair_other ON coffee_do_not_pair (other_id);
