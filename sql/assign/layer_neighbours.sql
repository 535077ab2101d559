-- purpose: the other current experiments of a layer, to keep their bucket ranges disjoint.
-- grain:   one row per other experiment in the layer.
-- params:  $layer_name VARCHAR, $experiment_id VARCHAR (excluded).
SELECT experiment_id, layer_salt, layer_start, layer_stop
FROM assignment_registry
WHERE retired_at IS NULL
  AND layer_name = CAST($layer_name AS VARCHAR)
  AND experiment_id <> CAST($experiment_id AS VARCHAR)
ORDER BY experiment_id
