-- purpose: the eligibility verdicts of sql/assign/evaluate.sql computed from
--          eligibility_state instead of the event logs: for each candidate contact, the
--          first eligibility rule it fails (NULL when eligible), whether or not it is
--          already assigned (sql/assign/eligibility/evaluate.sql and unassigned.sql add that).
--          The rules are not written here: this file includes the fragments
--          sql/assign/evaluate.sql includes (sql/assign/_eligibility_event_match.sql,
--          _eligibility_event_facts.sql, _eligibility_contact_facts.sql,
--          _eligibility_reason.sql); only where the events come from differs.
--          Two branches give the same verdicts at different cost: plain contacts (at most
--          one consent grant, no revoke, 131050 stop or feedback; most contacts) have one
--          event, the grant in columns (sql/assign/eligibility/_plain_event.sql), whose facts
--          are the contact's: the rules are inlined over it as one expression, no grouping,
--          and the constant kind folded away (as fast as rules written out for plain rows,
--          without a second copy); the `eventful` ones' events, unnested once per run
--          (_tl_eventful_events), are judged and combined as the logs are.
-- grain:   named statements defining TEMP table macros (a view cannot take parameters):
--          _tl_plain_verdicts and _tl_eventful_verdicts, one row per plain / eventful
--          candidate, and _tl_verdicts(p_experiment_id, p_at, …), both: one row per
--          candidate contact_id. All take the arguments below.
-- reads:   temp views _tl_state_candidates and _tl_eventful_events
--          (sql/assign/eligibility/candidates.sql).
-- params:  none bound here; the macro's arguments, in order, are these parameters of
--          sql/assign/evaluate.sql (threadlift.assign.assignment.evaluation_params) prefixed p_
--          (the names the fragments read): $experiment_id VARCHAR, $at TIMESTAMP
--          (eligibility time), $channel VARCHAR, $sender_id VARCHAR (NULL: any sender),
--          $category VARCHAR, $require_consent BOOLEAN, $marketing BOOLEAN, $feedback_days
--          INTEGER (0: off), $global_salt VARCHAR, $global_stop INTEGER (0: no global
--          holdout), $layer_salt VARCHAR (NULL: no layer), $layer_start INTEGER, $layer_stop
--          INTEGER. (p_experiment_id is not read; it keeps the argument list that of
--          sql/assign/evaluate.sql.)
-- statement: plain
-- The verdicts of the plain candidates: the rules inlined over their one event as one
-- expression (see the header), so DuckDB folds what a constant kind 'granted' decides.
-- grain:   one row per plain candidate; the TEMP table macro _tl_plain_verdicts(p_…).
-- reads:   temp view _tl_state_candidates.
CREATE OR REPLACE TEMP MACRO _tl_plain_verdicts(
    p_experiment_id, p_at, p_channel, p_sender_id, p_category, p_require_consent, p_marketing,
    p_feedback_days, p_global_salt, p_global_stop, p_layer_salt, p_layer_start, p_layer_stop
) AS TABLE
SELECT
    contact_id,
    -- inline: assign/_eligibility_reason over assign/_eligibility_event_facts, assign/_eligibility_event_match, assign/eligibility/_plain_event
    AS reason
FROM _tl_state_candidates
WHERE NOT eventful;

-- statement: eventful
-- The verdicts of the eventful candidates: their events judged and combined as the
-- logs are.
-- grain:   one row per eventful candidate; the TEMP table macro _tl_eventful_verdicts(p_…).
-- reads:   temp view _tl_eventful_events.
CREATE OR REPLACE TEMP MACRO _tl_eventful_verdicts(
    p_experiment_id, p_at, p_channel, p_sender_id, p_category, p_require_consent, p_marketing,
    p_feedback_days, p_global_salt, p_global_stop, p_layer_salt, p_layer_start, p_layer_stop
) AS TABLE
SELECT
    contact_id,
    -- include: assign/_eligibility_reason
    AS reason
FROM (
    SELECT
        contact_id,
        in_audience,
        -- include: assign/_eligibility_contact_facts
    FROM (
        SELECT
            contact_id,
            in_audience,
            -- include: assign/_eligibility_event_facts
        FROM (
            SELECT
                *,
                -- include: assign/_eligibility_event_match
            FROM _tl_eventful_events
        ) AS e
    ) AS f
    GROUP BY contact_id, in_audience
);

-- statement: all
-- Every candidate's verdict: the plain and the eventful ones.
-- grain:   one row per candidate contact_id; the TEMP table macro _tl_verdicts(p_…).
CREATE OR REPLACE TEMP MACRO _tl_verdicts(
    p_experiment_id, p_at, p_channel, p_sender_id, p_category, p_require_consent, p_marketing,
    p_feedback_days, p_global_salt, p_global_stop, p_layer_salt, p_layer_start, p_layer_stop
) AS TABLE
SELECT contact_id, reason FROM _tl_plain_verdicts(
    p_experiment_id, p_at, p_channel, p_sender_id, p_category, p_require_consent, p_marketing,
    p_feedback_days, p_global_salt, p_global_stop, p_layer_salt, p_layer_start, p_layer_stop
)
UNION ALL
SELECT contact_id, reason FROM _tl_eventful_verdicts(
    p_experiment_id, p_at, p_channel, p_sender_id, p_category, p_require_consent, p_marketing,
    p_feedback_days, p_global_salt, p_global_stop, p_layer_salt, p_layer_start, p_layer_stop
);
