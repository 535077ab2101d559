-- purpose: the assignment contract for one experiment at one time: for each candidate
--          contact, its bucket, whether it is already assigned, the first eligibility rule
--          it fails (NULL when eligible) with the channel it failed on, and its arm. A
--          multi-channel experiment judges every channel it sends on (the experiment's
--          first, then its arms' in order): a contact is eligible only when eligible on
--          each, so every cell, the holdout included, holds the same population. `assign` inserts the eligible
--          unassigned rows; the HTTP API answers single contacts and batches from the same
--          rows (threadlift.assign.eligibility_snapshot), so there is one implementation.
-- grain:   one row per distinct candidate contact_id; writes TEMP TABLE _tl_evaluation.
-- reads:   temp view _tl_candidates(contact_id, in_audience) (sql/assign/candidates_*.sql,
--          built by threadlift.assign.assignment); assignments, consents, messages, message_events,
--          feedback.
-- params:  $experiment_id VARCHAR, $at TIMESTAMP (eligibility time), $salt VARCHAR,
--          $arm_names VARCHAR[], $arm_starts INTEGER[], $arm_stops INTEGER[],
--          $channel VARCHAR, $other_channels VARCHAR[] (the arms' other channels; [] for a
--          one-channel experiment), $sender_id VARCHAR (NULL: any sender), $category VARCHAR,
--          $require_consent BOOLEAN, $marketing BOOLEAN, $feedback_days INTEGER (0: off),
--          $global_salt VARCHAR, $global_stop INTEGER (0: no global holdout),
--          $layer_salt VARCHAR (NULL: no layer), $layer_start INTEGER, $layer_stop INTEGER.
-- Rules: sql/assign/_eligibility_reason.sql (the reasons and their order), judged over the
-- facts of each contact's eligibility events (sql/assign/_eligibility_events.sql,
-- _eligibility_event_match.sql, _eligibility_event_facts.sql, _eligibility_contact_facts.sql);
-- the state path of `assign` (sql/assign/eligibility/verdicts.sql) includes the same
-- fragments, so each rule is written once. Assigned contacts keep their arm whatever
-- happened since (intent to treat).
CREATE OR REPLACE TEMP TABLE _tl_evaluation AS
WITH
channels AS (
    SELECT unnest(list_concat([CAST($channel AS VARCHAR)], CAST($other_channels AS VARCHAR[])))
        AS p_channel
),
params AS (
    -- The eligibility parameters as one row of p_* columns per channel judged, the names
    -- the rule fragments read (sql/assign/eligibility/verdicts.sql passes them as macro
    -- arguments); p_position orders the channels, the experiment's first.
    SELECT
        array_position(
            list_concat([CAST($channel AS VARCHAR)], CAST($other_channels AS VARCHAR[])), p_channel
        ) AS p_position,
        CAST($at AS TIMESTAMP) AS p_at,
        p_channel,
        CAST($sender_id AS VARCHAR) AS p_sender_id,
        CAST($category AS VARCHAR) AS p_category,
        CAST($require_consent AS BOOLEAN) AS p_require_consent,
        CAST($marketing AS BOOLEAN) AS p_marketing,
        CAST($feedback_days AS INTEGER) AS p_feedback_days,
        CAST($global_salt AS VARCHAR) AS p_global_salt,
        CAST($global_stop AS INTEGER) AS p_global_stop,
        CAST($layer_salt AS VARCHAR) AS p_layer_salt,
        CAST($layer_start AS INTEGER) AS p_layer_start,
        CAST($layer_stop AS INTEGER) AS p_layer_stop
    FROM channels
),
candidates AS (
    -- Duplicates removed; bool_or is unchanged by a candidate listed twice.
    SELECT contact_id, bool_or(in_audience) AS in_audience
    FROM _tl_candidates
    WHERE contact_id IS NOT NULL
    GROUP BY contact_id
),
events AS (
    SELECT e.*, params.*
    FROM (
        -- include: assign/_eligibility_events
    ) AS e
    CROSS JOIN params
    WHERE e.contact_id IN (SELECT contact_id FROM candidates)
),
event_facts AS (
    SELECT
        contact_id,
        p_position,
        -- include: assign/_eligibility_event_facts
    FROM (
        SELECT
            *,
            -- include: assign/_eligibility_event_match
        FROM events
    ) AS e
),
facts AS (
    SELECT
        c.contact_id,
        c.in_audience,
        p.p_position,
        -- include: assign/_eligibility_contact_facts
    FROM candidates AS c
    CROSS JOIN (SELECT p_position FROM params) AS p
    LEFT JOIN event_facts AS f ON f.contact_id = c.contact_id AND f.p_position = p.p_position
    GROUP BY c.contact_id, c.in_audience, p.p_position
),
channel_verdicts AS (
    SELECT
        contact_id,
        p_position,
        p_channel,
        -- include: assign/_eligibility_reason
        AS reason
    FROM facts
    JOIN params USING (p_position)
),
verdicts AS (
    -- The first channel a contact fails on decides (one channel: its verdict as is).
    SELECT
        contact_id,
        min_by(reason, p_position) FILTER (WHERE reason IS NOT NULL) AS reason,
        min_by(p_channel, p_position) FILTER (WHERE reason IS NOT NULL) AS reason_channel
    FROM channel_verdicts
    GROUP BY contact_id
),
assigned AS (
    SELECT contact_id, arm, bucket, assigned_at
    FROM assignments
    WHERE experiment_id = CAST($experiment_id AS VARCHAR)
),
arm_of_bucket AS (
    -- include: assign/_arm_of_bucket
),
bucketed AS (
    SELECT
        v.contact_id,
        CAST(threadlift_bucket(CAST($salt AS VARCHAR), v.contact_id) AS INTEGER) AS bucket,
        a.contact_id IS NOT NULL AS assigned,
        a.arm AS assigned_arm,
        a.bucket AS assigned_bucket,
        a.assigned_at,
        CASE WHEN a.contact_id IS NULL THEN v.reason END AS reason,
        CASE WHEN a.contact_id IS NULL THEN v.reason_channel END AS reason_channel
    FROM verdicts AS v
    LEFT JOIN assigned AS a ON a.contact_id = v.contact_id
)
SELECT
    b.contact_id,
    coalesce(b.assigned_bucket, b.bucket) AS bucket,
    b.assigned,
    b.reason,
    b.reason_channel,
    CASE
        WHEN b.assigned THEN b.assigned_arm
        WHEN b.reason IS NULL THEN ab.arm
    END AS arm,
    b.assigned_at
FROM bucketed AS b
LEFT JOIN arm_of_bucket AS ab ON ab.bucket = b.bucket
