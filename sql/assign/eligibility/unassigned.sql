-- purpose: the candidates not yet assigned, with their verdicts, as the temp table macro
--          _tl_unassigned(p_experiment_id, p_at, …) → (contact_id, reason) that
--          sql/assign/eligibility/exclusion_counts.sql and insert_new.sql read. `assign`
--          asks `any_assigned` and defines the macro with `first` or `rerun`; for an
--          experiment sent on several channels it then collects that macro's verdicts on
--          each channel (`channel_verdicts`, `add_channel`) and redefines it as their
--          combination (`channels`).
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

-- statement: judge_eventful
-- The verdicts of the eventful candidates of a first run, judged once for both of its
-- passes (counts and insert): grouping their events is the costly part of their rules.
-- Run before `first`, and again for each channel a multi-channel experiment judges.
-- grain:   one row per eventful candidate; writes TEMP TABLE _tl_run_eventful(contact_id,
--          reason, reason_channel).
-- reads:   temp macro _tl_eventful_verdicts (sql/assign/eligibility/verdicts.sql).
-- params:  the eligibility parameters of sql/assign/eligibility/exclusion_counts.sql.
CREATE OR REPLACE TEMP TABLE _tl_run_eventful AS
SELECT contact_id, reason, CAST($channel AS VARCHAR) AS reason_channel
FROM _tl_eventful_verdicts(
    $experiment_id, $at, $channel, $sender_id, $category, $require_consent, $marketing,
    $feedback_days, $global_salt, $global_stop, $layer_salt, $layer_start, $layer_stop
);

-- statement: first
-- The verdicts of the candidates not yet assigned, for an experiment with no
-- assignments at all (its first run): every candidate's verdict, nothing looked up. The
-- plain candidates are judged with the macro's arguments; the eventful ones were judged
-- for this run by `judge_eventful` (with the same parameters). Same macro as `rerun`;
-- `assign` defines one of them.
-- grain:   one row per candidate contact_id. Defined as the TEMP table macro
--          _tl_unassigned(p_experiment_id, p_at, …) → (contact_id, reason, reason_channel:
--          the channel judged, the same for every row).
-- reads:   temp macro _tl_plain_verdicts (sql/assign/eligibility/verdicts.sql), temp table
--          _tl_run_eventful (`judge_eventful`).
-- params:  none bound; the macro's arguments are those of _tl_verdicts.
CREATE OR REPLACE TEMP MACRO _tl_unassigned(
    p_experiment_id, p_at, p_channel, p_sender_id, p_category, p_require_consent, p_marketing,
    p_feedback_days, p_global_salt, p_global_stop, p_layer_salt, p_layer_start, p_layer_stop
) AS TABLE
SELECT contact_id, reason, CAST(p_channel AS VARCHAR) AS reason_channel
FROM _tl_plain_verdicts(
    p_experiment_id, p_at, p_channel, p_sender_id, p_category, p_require_consent, p_marketing,
    p_feedback_days, p_global_salt, p_global_stop, p_layer_salt, p_layer_start, p_layer_stop
)
UNION ALL
SELECT contact_id, reason, reason_channel FROM _tl_run_eventful;

-- statement: rerun
-- The verdicts of the candidates not yet assigned, for an experiment that already
-- has assignments (a later run adds the newly eligible). Same macro as `first`; `assign`
-- defines one of them.
-- grain:   one row per unassigned candidate contact_id. Defined as the TEMP table macro
--          _tl_unassigned(p_experiment_id, p_at, …) → (contact_id, reason, reason_channel).
-- reads:   temp macro _tl_evaluate (sql/assign/eligibility/evaluate.sql) and what it reads.
-- params:  none bound; the macro's arguments are those of _tl_verdicts.
CREATE OR REPLACE TEMP MACRO _tl_unassigned(
    p_experiment_id, p_at, p_channel, p_sender_id, p_category, p_require_consent, p_marketing,
    p_feedback_days, p_global_salt, p_global_stop, p_layer_salt, p_layer_start, p_layer_stop
) AS TABLE
SELECT contact_id, reason, CAST(p_channel AS VARCHAR) AS reason_channel
FROM _tl_evaluate(
    p_experiment_id, p_at, p_channel, p_sender_id, p_category, p_require_consent, p_marketing,
    p_feedback_days, p_global_salt, p_global_stop, p_layer_salt, p_layer_start, p_layer_stop
)
WHERE NOT assigned;

-- statement: channel_verdicts
-- Start collecting the verdicts of an experiment sent on several channels.
-- grain:   creates the empty temp table _tl_channel_verdicts: one row per (candidate,
--          channel judged) once filled by `add_channel`.
-- params:  none.
CREATE OR REPLACE TEMP TABLE _tl_channel_verdicts (
    contact_id VARCHAR, p_position INTEGER, reason VARCHAR, reason_channel VARCHAR
);

-- statement: add_channel
-- The verdicts of the not yet assigned candidates on one channel (`first` or `rerun`,
-- evaluated with that channel), added to _tl_channel_verdicts.
-- grain:   one row per unassigned candidate, appended.
-- reads:   temp macro _tl_unassigned (`first` or `rerun`) and what it reads.
-- params:  $position INTEGER (the channel's order: the experiment's first) and the
--          eligibility parameters of sql/assign/eligibility/exclusion_counts.sql, $channel
--          the channel judged.
INSERT INTO _tl_channel_verdicts
SELECT contact_id, CAST($position AS INTEGER), reason, reason_channel
FROM _tl_unassigned(
    $experiment_id, $at, $channel, $sender_id, $category, $require_consent, $marketing,
    $feedback_days, $global_salt, $global_stop, $layer_salt, $layer_start, $layer_stop
);

-- statement: channels
-- The verdicts of an experiment sent on several channels: a contact is eligible only
-- when eligible on each; otherwise the first channel it fails on (in position order)
-- gives its reason and reason_channel. Same macro as `first` and `rerun`, redefined
-- over the collected verdicts (its arguments are not read).
-- grain:   one row per unassigned candidate contact_id. Defined as the TEMP table macro
--          _tl_unassigned(p_experiment_id, p_at, …) → (contact_id, reason, reason_channel).
-- reads:   temp table _tl_channel_verdicts (`channel_verdicts`, `add_channel`).
-- params:  none bound.
CREATE OR REPLACE TEMP MACRO _tl_unassigned(
    p_experiment_id, p_at, p_channel, p_sender_id, p_category, p_require_consent, p_marketing,
    p_feedback_days, p_global_salt, p_global_stop, p_layer_salt, p_layer_start, p_layer_stop
) AS TABLE
SELECT
    contact_id,
    min_by(reason, p_position) FILTER (WHERE reason IS NOT NULL) AS reason,
    min_by(reason_channel, p_position) FILTER (WHERE reason IS NOT NULL) AS reason_channel
FROM _tl_channel_verdicts
GROUP BY contact_id;
