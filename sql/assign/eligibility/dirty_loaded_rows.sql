-- purpose: the contacts of the rows a load of contacts, consents, feedback or messages
--          staged (valid rows; a superset of those inserted, which is harmless).
-- grain:   one row per staged row with a contact_id, appended to _tl_state_dirty.
-- reads:   temp table _typed (threadlift.loading).
-- params:  none.
INSERT INTO _tl_state_dirty
SELECT DISTINCT contact_id FROM _typed WHERE _reason IS NULL AND contact_id IS NOT NULL
