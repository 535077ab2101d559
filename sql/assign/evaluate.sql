-- purpose: the assignment contract for one experiment at one time: for each candidate
--          contact, its bucket, whether it is already assigned, the first eligibility rule
--          it fails (NULL when eligible) and its arm. `assign` inserts the eligible
--          unassigned rows; the HTTP API answers single contacts and batches from the same
--          rows (threadlift.assign.eligibility_snapshot), so there is one implementation.
-- grain:   one row per distinct candidate contact_id; writes TEMP TABLE _tl_evaluation.
-- reads:   temp view _tl_candidates(contact_id, in_audience) (sql/assign/candidates_*.sql,
--          built by threadlift.assign.assignment); assignments, consents, messages, message_events,
--          feedback.
-- params:  $experiment_id VARCHAR, $at TIMESTAMP (eligibility time), $salt VARCHAR,
--          $arm_names VARCHAR[], $arm_starts INTEGER[], $arm_stops INTEGER[],
--          $channel VARCHAR, $sender_id VARCHAR (NULL: any sender), $category VARCHAR,
--          $require_consent BOOLEAN, $marketing BOOLEAN, $feedback_days INTEGER (0: off),
--          $global_salt VARCHAR, $global_stop INTEGER (0: no global holdout),
--          $layer_salt VARCHAR (NULL: no layer), $layer_start INTEGER, $layer_stop INTEGER.
-- Reasons, in the order they are tested (the first failing one is reported):
--   not_in_audience, global_holdout, layer,
--   other_sender, consent_after_assignment, no_consent, consent_revoked  (require_consent),
--   marketing_stopped (marketing category), recent_feedback.
-- Consent: among events at or before $at on $channel whose scope is $category or 'all'
-- and whose sender is $sender_id or NULL (a NULL sender covers every sender; without
-- $sender_id every sender's events count), the latest must be a grant; a revoke at the
-- same instant as a grant wins. Feedback counts on any channel and sender; 131050
-- failures on $channel (and $sender_id). Assigned contacts keep their arm whatever
-- happened since (intent to treat).
CREATE OR REPLACE TEMP TABLE _tl_evaluation AS
WITH
state AS (
    -- One pass for three things: duplicates removed, the audience flag, and the consent
    -- state. max / bool_or are unchanged by a candidate listed twice.
    SELECT
        c.contact_id,
        bool_or(c.in_audience) AS in_audience,
        max(k.ts) FILTER (WHERE k.covers_sender AND k.status = 'granted' AND k.ts <= $at) AS last_grant,
        max(k.ts) FILTER (WHERE k.covers_sender AND k.status = 'revoked' AND k.ts <= $at) AS last_revoke,
        bool_or(k.covers_sender AND k.status = 'granted' AND k.ts > $at) AS later_grant,
        bool_or(NOT k.covers_sender AND k.status = 'granted' AND k.ts <= $at) AS other_sender_grant
    FROM _tl_candidates AS c
    LEFT JOIN (
        SELECT
            contact_id,
            status,
            ts,
            (CAST($sender_id AS VARCHAR) IS NULL OR sender_id IS NULL
             OR sender_id = CAST($sender_id AS VARCHAR)) AS covers_sender
        FROM consents
        WHERE channel = CAST($channel AS VARCHAR)
          AND scope IN (CAST($category AS VARCHAR), 'all')
    ) AS k ON k.contact_id = c.contact_id
    WHERE c.contact_id IS NOT NULL
    GROUP BY c.contact_id
),
assigned AS (
    SELECT contact_id, arm, bucket, assigned_at
    FROM assignments
    WHERE experiment_id = CAST($experiment_id AS VARCHAR)
),
marketing_stop_failure AS (
    -- WhatsApp error 131050: the user stopped marketing messages from this business.
    SELECT m.contact_id, max(e.ts) AS last_stop
    FROM message_events AS e
    JOIN messages AS m ON m.message_id = e.message_id
    WHERE CAST($marketing AS BOOLEAN)
      AND e.error_code = '131050'
      AND e.ts <= $at
      AND m.channel = CAST($channel AS VARCHAR)
      AND (CAST($sender_id AS VARCHAR) IS NULL OR m.sender_id IS NULL
           OR m.sender_id = CAST($sender_id AS VARCHAR))
    GROUP BY m.contact_id
),
recent_feedback AS (
    SELECT DISTINCT contact_id
    FROM feedback
    WHERE CAST($feedback_days AS INTEGER) > 0
      AND kind IN ('block', 'report', 'opt_out')
      AND ts <= $at
      AND ts >= $at - to_days(CAST($feedback_days AS INTEGER))
),
arm_of_bucket AS (
    SELECT CAST(b.range AS INTEGER) AS bucket, r.arm
    FROM range(0, 10000) AS b
    JOIN (
        SELECT
            unnest(CAST($arm_names AS VARCHAR[])) AS arm,
            unnest(CAST($arm_starts AS INTEGER[])) AS start,
            unnest(CAST($arm_stops AS INTEGER[])) AS stop
    ) AS r ON b.range >= r.start AND b.range < r.stop
),
bucketed AS (
    SELECT
        s.contact_id,
        CAST(threadlift_bucket(CAST($salt AS VARCHAR), s.contact_id) AS INTEGER) AS bucket,
        a.contact_id IS NOT NULL AS assigned,
        a.arm AS assigned_arm,
        a.bucket AS assigned_bucket,
        a.assigned_at,
        CASE
            WHEN a.contact_id IS NOT NULL THEN NULL
            WHEN NOT s.in_audience THEN 'not_in_audience'
            WHEN CAST($global_stop AS INTEGER) > 0
                 AND threadlift_bucket(CAST($global_salt AS VARCHAR), s.contact_id)
                     < CAST($global_stop AS INTEGER) THEN 'global_holdout'
            WHEN CAST($layer_salt AS VARCHAR) IS NOT NULL
                 AND threadlift_bucket(CAST($layer_salt AS VARCHAR), s.contact_id)
                     NOT BETWEEN CAST($layer_start AS INTEGER)
                             AND CAST($layer_stop AS INTEGER) - 1 THEN 'layer'
            WHEN CAST($require_consent AS BOOLEAN) AND s.last_grant IS NULL
                 AND s.last_revoke IS NULL AND coalesce(s.other_sender_grant, false)
                 THEN 'other_sender'
            WHEN CAST($require_consent AS BOOLEAN) AND s.last_grant IS NULL
                 AND s.last_revoke IS NULL AND coalesce(s.later_grant, false)
                 THEN 'consent_after_assignment'
            WHEN CAST($require_consent AS BOOLEAN) AND s.last_grant IS NULL
                 AND s.last_revoke IS NULL THEN 'no_consent'
            WHEN CAST($require_consent AS BOOLEAN)
                 AND (s.last_grant IS NULL OR s.last_revoke >= s.last_grant)
                 THEN 'consent_revoked'
            WHEN CAST($marketing AS BOOLEAN)
                 AND (s.last_revoke >= coalesce(s.last_grant, TIMESTAMP '-infinity')
                      OR ms.last_stop >= coalesce(s.last_grant, TIMESTAMP '-infinity'))
                 THEN 'marketing_stopped'
            WHEN fb.contact_id IS NOT NULL THEN 'recent_feedback'
        END AS reason
    FROM state AS s
    LEFT JOIN assigned AS a ON a.contact_id = s.contact_id
    LEFT JOIN marketing_stop_failure AS ms ON ms.contact_id = s.contact_id
    LEFT JOIN recent_feedback AS fb ON fb.contact_id = s.contact_id
)
SELECT
    b.contact_id,
    coalesce(b.assigned_bucket, b.bucket) AS bucket,
    b.assigned,
    b.reason,
    CASE
        WHEN b.assigned THEN b.assigned_arm
        WHEN b.reason IS NULL THEN ab.arm
    END AS arm,
    b.assigned_at
FROM bucketed AS b
LEFT JOIN arm_of_bucket AS ab ON ab.bucket = b.bucket
