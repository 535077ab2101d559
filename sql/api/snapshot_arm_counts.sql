-- purpose: eligible (assigned or assignable) known contacts per arm of one experiment in a
--          served snapshot (GET /v1/experiments/{id}).
-- grain:   one row per arm with at least one eligible contact.
-- reads:   table eligibility of a snapshot file.
-- params:  $experiment_id VARCHAR.
SELECT arm, count(*) AS contacts
FROM eligibility
WHERE experiment_id = CAST($experiment_id AS VARCHAR) AND eligible AND arm IS NOT NULL
GROUP BY arm
