-- purpose: the eligibility verdicts of sql/assign/evaluate.sql computed from
--          eligibility_state instead of the event logs: for each candidate contact, whether
--          it is already assigned and the first eligibility rule it fails (NULL when
--          eligible or assigned). tests/assign/test_eligibility.py checks the two agree.
-- grain:   one row per candidate contact_id. Defined as the TEMP table macro
--          _tl_evaluate(p_experiment_id, p_at, …) (a view cannot take parameters).
-- reads:   temp macro _tl_verdicts (sql/assign/eligibility/verdicts.sql) and what it reads;
--          assignments.
-- params:  none bound; the macro's arguments are those of _tl_verdicts.
CREATE OR REPLACE TEMP MACRO _tl_evaluate(
    p_experiment_id, p_at, p_channel, p_sender_id, p_category, p_require_consent, p_marketing,
    p_feedback_days, p_global_salt, p_global_stop, p_layer_salt, p_layer_start, p_layer_stop
) AS TABLE
SELECT
    v.contact_id,
    a.contact_id IS NOT NULL AS assigned,
    CASE WHEN a.contact_id IS NULL THEN v.reason END AS reason
FROM _tl_verdicts(
    p_experiment_id, p_at, p_channel, p_sender_id, p_category, p_require_consent, p_marketing,
    p_feedback_days, p_global_salt, p_global_stop, p_layer_salt, p_layer_start, p_layer_stop
) AS v
LEFT JOIN (
    SELECT contact_id FROM assignments WHERE experiment_id = CAST(p_experiment_id AS VARCHAR)
) AS a ON a.contact_id = v.contact_id
