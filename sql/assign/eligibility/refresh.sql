-- purpose: the small steps of keeping eligibility_state current (threadlift.assign.eligibility):
--          collect the contacts a load touched (_tl_state_dirty), delete their rows (or all
--          rows) before sql/assign/eligibility/insert_rows.sql rebuilds them.
-- grain:   named statements, each with its own grain below.
-- params:  none.

-- statement: dirty_new
-- Start the set of contacts whose eligibility state a load must rebuild.
-- grain:   creates the empty temp table _tl_state_dirty(contact_id).
-- params:  none.
CREATE OR REPLACE TEMP TABLE _tl_state_dirty (contact_id VARCHAR);

-- statement: dirty_loaded_rows
-- The contacts of the rows a load of contacts, consents, feedback or messages
-- staged (valid rows; a superset of those inserted, which is harmless).
-- grain:   one row per staged row with a contact_id, appended to _tl_state_dirty.
-- reads:   temp table _typed (threadlift.loading).
-- params:  none.
INSERT INTO _tl_state_dirty
SELECT DISTINCT contact_id FROM _typed WHERE _reason IS NULL AND contact_id IS NOT NULL;

-- statement: dirty_loaded_events
-- The contacts whose eligibility events a load of message_events staged: its rows that
-- are eligibility events (sql/assign/_eligibility_events.sql, 131050 failures joined to
-- the messages already in the workspace). Runs after the insert.
-- grain:   one row per contact, appended to _tl_state_dirty.
-- reads:   temp table _typed (threadlift.loading), the tables of the events fragment.
-- params:  none.
INSERT INTO _tl_state_dirty
SELECT DISTINCT e.contact_id
FROM (
    -- include: assign/_eligibility_events
) AS e
WHERE e.message_id IN (SELECT message_id FROM _typed WHERE _reason IS NULL);

-- statement: delete_dirty
-- Drop the state rows of the contacts a load touched (rebuilt next by
-- sql/assign/eligibility/insert_rows.sql).
-- grain:   deletes one row per dirty contact.
-- reads:   temp table _tl_state_dirty(contact_id).
-- params:  none.
DELETE FROM eligibility_state
WHERE contact_id IN (SELECT contact_id FROM _tl_state_dirty);

-- statement: delete_all
-- Empty eligibility_state before a full rebuild.
-- grain:   deletes every row.
-- params:  none.
DELETE FROM eligibility_state;
