-- purpose: the triggered units: analysed units with a valid exposure (a real send in a
--          treatment arm, a counterfactual one in a holdout arm; see
--          analysis/exposure/exposures.sql) inside their outcome window. Each keeps its own
--          assigned_at and window_end, so its outcome is counted exactly as in the
--          intent-to-treat analysis; triggered_at (its first valid exposure) only selects it.
-- grain:   one row per triggered unit; creates temp table _triggered_units.
-- params:  none.
-- needs:   temp tables _units (analysis/units/units.sql) and _exposure_check
--          (analysis/exposure/exposures.sql).
CREATE OR REPLACE TEMP TABLE _triggered_units AS
SELECT
    u.contact_id,
    u.arm,
    u.assigned_at,
    u.window_end,
    t.triggered_at
FROM _units AS u
JOIN (
    SELECT contact_id, min(ts) AS triggered_at
    FROM _exposure_check
    WHERE mismatch IS NULL AND in_window
    GROUP BY contact_id
) AS t ON t.contact_id = u.contact_id
