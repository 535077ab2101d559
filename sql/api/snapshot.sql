-- purpose: what an API worker reads from a served snapshot file
--          (threadlift.api.snapshot.load_snapshot), per experiment.
-- grain:   named statements, each with its own grain below.
-- reads:   table eligibility of a snapshot file.
-- params:  $experiment_id VARCHAR (both statements).

-- statement: answers
-- The pre-serialised API answers of one experiment, loaded into memory by every worker.
-- grain:   one row per (experiment_id, contact_id) candidate
--          (threadlift.assign.assignment.candidate_ids, sql/assign/candidate_ids.sql).
SELECT contact_id, answer
FROM eligibility
WHERE experiment_id = CAST($experiment_id AS VARCHAR);

-- statement: arm_counts
-- Eligible (assigned or assignable) known contacts per arm of one experiment
-- (GET /v1/experiments/{id}).
-- grain:   one row per arm with at least one eligible contact.
SELECT arm, count(*) AS contacts
FROM eligibility
WHERE experiment_id = CAST($experiment_id AS VARCHAR) AND eligible AND arm IS NOT NULL
GROUP BY arm;
