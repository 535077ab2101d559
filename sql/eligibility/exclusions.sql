-- purpose: the unassigned candidates an eligibility rule excluded, with the first rule each
--          fails (state path of `assign`; no bucket is computed unless a global holdout or
--          layer needs one). Left behind for the caller: sql/eligibility/exclusion_counts.sql
--          counts it, and it says who was left out and why.
-- grain:   one row per excluded contact; writes TEMP TABLE _tl_exclusions(contact_id, reason).
-- reads:   temp macro _tl_evaluate (sql/eligibility/evaluate.sql) and what it reads.
-- params:  those of sql/assign/evaluate.sql (threadlift.assign.evaluation_params) but
--          $salt and the arm ranges.
CREATE OR REPLACE TEMP TABLE _tl_exclusions AS
SELECT contact_id, reason
FROM _tl_evaluate(
    $experiment_id, $at, $channel, $sender_id, $category, $require_consent, $marketing,
    $feedback_days, $global_salt, $global_stop, $layer_salt, $layer_start, $layer_stop
)
WHERE NOT assigned AND reason IS NOT NULL
