-- purpose: the design every current (unretired) experiment version was assigned with.
-- grain:   one row per current experiment.
-- params:  none.
SELECT experiment_id, design
FROM assignment_registry
WHERE retired_at IS NULL
ORDER BY experiment_id
