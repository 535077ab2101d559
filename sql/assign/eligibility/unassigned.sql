-- purpose: the candidates not yet assigned, with their verdicts, as the temp table macro
--          _tl_unassigned(p_experiment_id, p_at, …) → (contact_id, reason) that
--          sql/assign/eligibility/exclusion_counts.sql and insert_new.sql read. `assign`
--          asks `any_assigned` and defines the macro with `first` or `rerun`.
-- grain:   named statements, each with its own grain below.
-- params:  per statement, below.

-- statement: any_assigned
-- Whether the experiment has any assignment yet (when it has none, the state path
-- of `assign` looks none up).
-- grain:   one row, one boolean.
-- reads:   assignments.
-- params:  $experiment_id VARCHAR.
SELECT EXISTS (
    SELECT 1 FROM assignments WHERE experiment_id = CAST($experiment_id AS VARCHAR)
) AS any_assigned;

-- statement: first
-- The verdicts of the candidates not yet assigned, for an experiment with no
-- assignments at all (its first run): every candidate's verdict, nothing looked up.
-- Same macro as `rerun`; `assign` defines one of them.
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
);

-- statement: rerun
-- The verdicts of the candidates not yet assigned, for an experiment that already
-- has assignments (a later run adds the newly eligible). Same macro as `first`; `assign`
-- defines one of them.
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
WHERE NOT assigned;
