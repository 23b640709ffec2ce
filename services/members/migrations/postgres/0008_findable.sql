-- Whether other members' contact imports may find a member by email or LinkedIn URL. The
-- default follows visibility: on for PUBLIC profiles, off for CONNECTIONS and PRIVATE ones
-- (a PRIVATE profile is never found, whatever this says). A change of visibility resets it
-- to the new visibility's default unless the same update sets it.
ALTER TABLE members ADD COLUMN findable_by_contact_details BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE members SET findable_by_contact_details = (visibility = 'public');

