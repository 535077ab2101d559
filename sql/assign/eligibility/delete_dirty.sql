-- purpose: drop the state rows of the contacts a load touched (rebuilt next by
--          sql/assign/eligibility/insert_rows.sql).
-- grain:   deletes one row per dirty contact.
-- reads:   temp table _tl_state_dirty(contact_id).
-- params:  none.
DELETE FROM eligibility_state
WHERE contact_id IN (SELECT contact_id FROM _tl_state_dirty)
