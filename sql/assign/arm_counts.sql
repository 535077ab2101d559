-- purpose: contacts assigned to each arm of one experiment.
-- grain:   one row per arm.
-- params:  $experiment_id VARCHAR.
SELECT arm, count(*) AS contacts
FROM assignments
WHERE experiment_id = CAST($experiment_id AS VARCHAR)
GROUP BY arm
ORDER BY arm
