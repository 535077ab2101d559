-- purpose: the pre-serialised API answers of one experiment in a served snapshot, loaded
--          into memory by every API worker (threadlift.api.snapshot.load_snapshot).
-- grain:   one row per (experiment_id, contact_id) candidate
--          (threadlift.assign.assignment.candidate_ids, sql/assign/candidate_ids.sql).
-- reads:   table eligibility of a snapshot file.
-- params:  $experiment_id VARCHAR.
SELECT contact_id, answer
FROM eligibility
WHERE experiment_id = CAST($experiment_id AS VARCHAR)
