-- purpose: how many unassigned candidates each eligibility rule excluded, on which
--          channel (state path of `assign`). The NULL group is the eligible candidates; the caller drops it (a
--          filter on the reason would evaluate the rules twice).
-- grain:   one row per (reason, channel judged), and one with reason NULL.
-- reads:   temp macro _tl_unassigned (sql/assign/eligibility/unassigned.sql) and what it reads.
-- params:  those of sql/assign/evaluate.sql (threadlift.assign.assignment.evaluation_params) but
--          $salt and the arm ranges.
SELECT reason, reason_channel, count(*) AS contacts
FROM _tl_unassigned(
    $experiment_id, $at, $channel, $sender_id, $category, $require_consent, $marketing,
    $feedback_days, $global_salt, $global_stop, $layer_salt, $layer_start, $layer_stop
)
GROUP BY reason, reason_channel
ORDER BY reason, reason_channel
