-- purpose: empty eligibility_state before a full rebuild.
-- grain:   deletes every row.
-- params:  none.
DELETE FROM eligibility_state
