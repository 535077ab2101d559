-- purpose: every exposure of the experiment logged up to as_of, checked against the
--          contact's assignment. An exposure is valid when its contact is an analysed unit,
--          its arm (when given) is the unit's arm, and its kind fits the arm: a real send
--          (any source but 'counterfactual') in a treatment arm, a counterfactual one (the
--          would-be send the sending system logged instead of sending) in a holdout arm.
--          Anything else is a mismatch, named by the first rule it fails:
--            not_assigned                 the contact is not an analysed unit;
--            wrong_arm                    the exposure names another arm than the unit's;
--            counterfactual_in_treatment  a counterfactual exposure of a treatment unit;
--            sent_to_holdout              a real exposure of a holdout unit.
-- grain:   one row per exposure; creates temp table _exposure_check.
-- params:  $experiment_id VARCHAR, $as_of TIMESTAMP, $holdout_arm VARCHAR (the
--          experiment's holdout arm; NULL when it has none).
-- needs:   temp table _units(contact_id, arm, assigned_at, window_end) from analysis/units/units.sql.
-- in_window: the exposure falls in the unit's outcome window [assigned_at, window_end).
CREATE OR REPLACE TEMP TABLE _exposure_check AS
SELECT
    e.contact_id,
    e.arm AS exposure_arm,
    u.arm AS assigned_arm,
    coalesce(e.source, '') AS source,
    e.ts,
    coalesce(e.source = 'counterfactual', FALSE) AS counterfactual,
    coalesce(e.ts >= u.assigned_at AND e.ts < u.window_end, FALSE) AS in_window,
    CASE
        WHEN u.contact_id IS NULL THEN 'not_assigned'
        WHEN e.arm IS NOT NULL AND e.arm <> u.arm THEN 'wrong_arm'
        WHEN coalesce(e.source = 'counterfactual', FALSE)
            AND NOT coalesce(u.arm = $holdout_arm, FALSE) THEN 'counterfactual_in_treatment'
        WHEN NOT coalesce(e.source = 'counterfactual', FALSE)
            AND coalesce(u.arm = $holdout_arm, FALSE) THEN 'sent_to_holdout'
    END AS mismatch
FROM exposures AS e
LEFT JOIN _units AS u ON u.contact_id = e.contact_id
WHERE e.experiment_id = $experiment_id
  AND e.ts <= $as_of
