-- purpose: forget the recorded source checksums (before recording new ones, or when the
--          state can no longer be trusted).
-- grain:   deletes every row of eligibility_state_sources.
-- params:  none.
DELETE FROM eligibility_state_sources
