-- purpose: the verdicts of the candidates not yet assigned, for an experiment with no
--          assignments at all (its first run): every candidate's verdict, nothing looked up.
--          Same macro as sql/assign/eligibility/unassigned_rerun.sql; `assign` defines one of them.
-- grain:   one row per candidate contact_id. Defined as the TEMP table macro
--          _tl_unassigned(p_experiment_id, p_at, …) → (contact_id, reason).
-- reads:   temp macro _tl_verdicts (sql/assign/eligibility/verdicts.sql).
-- params:  none bound; the macro's arguments are those of _tl_verdicts.
CREATE OR REPLACE TEMP MACRO _tl_unassigned(
    p_experiment_id, p_at, p_channel, p_sender_id, p_category, p_require_consent, p_marketing,
    p_feedback_days, p_global_salt, p_global_stop, p_layer_salt, p_layer_start, p_layer_stop
) AS TABLE
SELECT contact_id, reason
FROM _tl_verdicts(
    p_experiment_id, p_at, p_channel, p_sender_id, p_category, p_require_consent, p_marketing,
    p_feedback_days, p_global_salt, p_global_stop, p_layer_salt, p_layer_start, p_layer_stop
)
