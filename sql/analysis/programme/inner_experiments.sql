-- purpose: the candidates for "experiments run inside the programme": every current
--          (unretired) design of the assignment registry other than the programme's, with
--          its assignments; threadlift.analysis.programme keeps those assigned under the
--          programme's global holdout after it started, with a holdout arm, and says why it
--          skips the others.
-- grain:   one row per registered experiment_id (its current version).
-- params:  $programme_id VARCHAR.
SELECT
    r.experiment_id,
    r.design,
    count(a.contact_id) AS units,
    min(a.assigned_at) AS first_assigned_at
FROM assignment_registry AS r
LEFT JOIN assignments AS a ON a.experiment_id = r.experiment_id
WHERE r.retired_at IS NULL AND r.experiment_id <> CAST($programme_id AS VARCHAR)
GROUP BY r.experiment_id, r.design
ORDER BY r.experiment_id
