-- purpose: the verdicts of the candidates not yet assigned, for an experiment that already
--          has assignments (a later run adds the newly eligible). Same macro as
--          sql/assign/eligibility/unassigned_first.sql; `assign` defines one of them.
-- grain:   one row per unassigned candidate contact_id. Defined as the TEMP table macro
--          _tl_unassigned(p_experiment_id, p_at, …) → (contact_id, reason).
-- reads:   temp macro _tl_evaluate (sql/assign/eligibility/evaluate.sql) and what it reads.
-- params:  none bound; the macro's arguments are those of _tl_verdicts.
CREATE OR REPLACE TEMP MACRO _tl_unassigned(
    p_experiment_id, p_at, p_channel, p_sender_id, p_category, p_require_consent, p_marketing,
    p_feedback_days, p_global_salt, p_global_stop, p_layer_salt, p_layer_start, p_layer_stop
) AS TABLE
SELECT contact_id, reason
FROM _tl_evaluate(
    p_experiment_id, p_at, p_channel, p_sender_id, p_category, p_require_consent, p_marketing,
    p_feedback_days, p_global_salt, p_global_stop, p_layer_salt, p_layer_start, p_layer_stop
)
WHERE NOT assigned
