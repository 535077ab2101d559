-- purpose: whether the experiment has any assignment yet (when it has none, the state path
--          of `assign` looks none up).
-- grain:   one row, one boolean.
-- reads:   assignments.
-- params:  $experiment_id VARCHAR.
SELECT EXISTS (
    SELECT 1 FROM assignments WHERE experiment_id = CAST($experiment_id AS VARCHAR)
) AS any_assigned
