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
-- grain:   one row per candidate contact_id. Defined as the TEMP table macro
--          _tl_verdicts(p_experiment_id, p_at, …) (a view cannot take parameters).
-- reads:   temp view _tl_state_candidates and temp table _tl_eventful_events
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
CREATE OR REPLACE TEMP MACRO _tl_verdicts(
    p_experiment_id, p_at, p_channel, p_sender_id, p_category, p_require_consent, p_marketing,
    p_feedback_days, p_global_salt, p_global_stop, p_layer_salt, p_layer_start, p_layer_stop
) AS TABLE
WITH
plain AS (
    -- One event at most: its facts are the contact's. The rules are inlined over the
    -- event's facts, its match and the row's grant as one expression (see the header),
    -- so DuckDB folds what a constant kind 'granted' decides.
    SELECT
        contact_id,
        -- inline: assign/_eligibility_reason over assign/_eligibility_event_facts, assign/_eligibility_event_match, assign/eligibility/_plain_event
        AS reason
    FROM _tl_state_candidates
    WHERE NOT eventful
),
eventful AS (
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
)
SELECT contact_id, reason FROM plain
UNION ALL
SELECT
    contact_id,
    -- include: assign/_eligibility_reason
    AS reason
FROM eventful
