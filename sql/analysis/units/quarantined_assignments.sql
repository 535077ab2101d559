-- purpose: how many loaded assignment rows of an experiment were rejected to quarantine.
-- grain:   one row.
-- params:  $experiment_id VARCHAR.
SELECT count(*) AS rejected
FROM quarantine
WHERE target_table = 'assignments'
  AND json_extract_string(raw, '$.experiment_id') = $experiment_id
