-- purpose: start the set of contacts whose eligibility state a load must rebuild.
-- grain:   creates the empty temp table _tl_state_dirty(contact_id).
-- params:  none.
CREATE OR REPLACE TEMP TABLE _tl_state_dirty (contact_id VARCHAR)
