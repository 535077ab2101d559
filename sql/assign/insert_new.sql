-- purpose: record the eligible, not yet assigned candidates of _tl_evaluation.
-- grain:   one row per newly assigned (experiment_id, contact_id).
-- reads:   temp table _tl_evaluation (sql/assign/evaluate.sql).
-- params:  $experiment_id VARCHAR, $assigned_at TIMESTAMP (the run's assignment time).
INSERT INTO assignments (experiment_id, contact_id, arm, bucket, assigned_at)
SELECT CAST($experiment_id AS VARCHAR), contact_id, arm, bucket, $assigned_at
FROM _tl_evaluation
WHERE NOT assigned AND reason IS NULL
