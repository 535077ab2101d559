-- purpose: the eligibility verdicts of sql/assign/evaluate.sql computed from
--          eligibility_state instead of the event logs: for each candidate contact, the
--          first eligibility rule it fails (NULL when eligible), whether or not it is
--          already assigned (sql/assign/eligibility/evaluate.sql and unassigned_*.sql add that).
--          The rules, their order and every tie-break are those of sql/assign/evaluate.sql
--          (see its header); tests/test_eligibility_state.py checks the two agree. Buckets
--          and arms of the eligible are computed by sql/assign/eligibility/insert_new.sql, only
--          for them.
--          Two branches give the same verdicts at different cost: plain contacts (at most
--          one consent grant, no revoke, 131050 stop or feedback; most contacts) are judged
--          from the grant columns alone; the `eventful` ones from their lists, where a
--          one-element list is read directly and only longer lists run lambdas.
-- grain:   one row per candidate contact_id. Defined as the TEMP table macro
--          _tl_verdicts(p_experiment_id, p_at, …) (a view cannot take parameters).
-- reads:   temp view _tl_state_candidates (sql/assign/eligibility/candidates_*.sql);
--          temp macros _tl_covers, _tl_consent_matches, _tl_last_consent, _tl_last_stop and
--          _tl_any_within (sql/assign/eligibility/macro_*.sql).
-- params:  none bound here; the macro's arguments, in order, are these parameters of
--          sql/assign/evaluate.sql (threadlift.assign.assignment.evaluation_params) prefixed p_:
--          $experiment_id VARCHAR, $at TIMESTAMP (eligibility time), $channel VARCHAR,
--          $sender_id VARCHAR (NULL: any sender), $category VARCHAR, $require_consent
--          BOOLEAN, $marketing BOOLEAN, $feedback_days INTEGER (0: off), $global_salt
--          VARCHAR, $global_stop INTEGER (0: no global holdout), $layer_salt VARCHAR (NULL:
--          no layer), $layer_start INTEGER, $layer_stop INTEGER. (p_experiment_id is not
--          read; it keeps the argument list that of sql/assign/evaluate.sql.)
CREATE OR REPLACE TEMP MACRO _tl_verdicts(
    p_experiment_id, p_at, p_channel, p_sender_id, p_category, p_require_consent, p_marketing,
    p_feedback_days, p_global_salt, p_global_stop, p_layer_salt, p_layer_start, p_layer_stop
) AS TABLE
WITH
judged_plain AS (
    -- No list at all: the grant columns decide. The rules below in their order, with
    -- everything a missing revoke, stop or feedback makes false left out.
    SELECT
        contact_id,
        CASE
            WHEN in_audience AND CAST(p_global_stop AS INTEGER) = 0
                 AND CAST(p_layer_salt AS VARCHAR) IS NULL
                 AND grant_ts <= p_at
                 AND _tl_consent_matches(grant_channel, grant_scope, p_channel, p_category)
                 AND _tl_covers(grant_sender_id, p_sender_id) THEN NULL
            WHEN NOT in_audience THEN 'not_in_audience'
            WHEN CAST(p_global_stop AS INTEGER) > 0
                 AND threadlift_bucket(CAST(p_global_salt AS VARCHAR), contact_id)
                     < CAST(p_global_stop AS INTEGER) THEN 'global_holdout'
            WHEN CAST(p_layer_salt AS VARCHAR) IS NOT NULL
                 AND threadlift_bucket(CAST(p_layer_salt AS VARCHAR), contact_id)
                     NOT BETWEEN CAST(p_layer_start AS INTEGER)
                             AND CAST(p_layer_stop AS INTEGER) - 1 THEN 'layer'
            WHEN NOT CAST(p_require_consent AS BOOLEAN) THEN NULL
            WHEN grant_ts <= p_at
                 AND _tl_consent_matches(grant_channel, grant_scope, p_channel, p_category)
                 THEN CASE WHEN _tl_covers(grant_sender_id, p_sender_id) THEN NULL
                           ELSE 'other_sender' END
            WHEN grant_ts > p_at
                 AND _tl_consent_matches(grant_channel, grant_scope, p_channel, p_category)
                 AND _tl_covers(grant_sender_id, p_sender_id) THEN 'consent_after_assignment'
            ELSE 'no_consent'
        END AS reason
    FROM _tl_state_candidates
    WHERE NOT eventful
),
state AS (
    -- The last covering grant and revoke at or before p_at.
    SELECT
        *,
        CASE WHEN grant_ts <= p_at
                  AND _tl_consent_matches(grant_channel, grant_scope, p_channel, p_category)
                  AND _tl_covers(grant_sender_id, p_sender_id)
             THEN grant_ts END AS first_grant,
        _tl_last_consent(more_grants, p_at, p_channel, p_category, p_sender_id) AS other_grant,
        _tl_last_consent(revokes, p_at, p_channel, p_category, p_sender_id) AS last_revoke
    FROM _tl_state_candidates
    WHERE eventful
),
consent_state AS (
    SELECT
        *,
        CASE WHEN other_grant IS NULL OR first_grant >= other_grant THEN first_grant
             ELSE other_grant END AS last_grant
    FROM state
),
judged_eventful AS (
    SELECT
        s.contact_id,
        CASE
            WHEN NOT s.in_audience THEN 'not_in_audience'
            WHEN CAST(p_global_stop AS INTEGER) > 0
                 AND threadlift_bucket(CAST(p_global_salt AS VARCHAR), s.contact_id)
                     < CAST(p_global_stop AS INTEGER) THEN 'global_holdout'
            WHEN CAST(p_layer_salt AS VARCHAR) IS NOT NULL
                 AND threadlift_bucket(CAST(p_layer_salt AS VARCHAR), s.contact_id)
                     NOT BETWEEN CAST(p_layer_start AS INTEGER)
                             AND CAST(p_layer_stop AS INTEGER) - 1 THEN 'layer'
            WHEN CAST(p_require_consent AS BOOLEAN) AND s.last_grant IS NULL
                 AND s.last_revoke IS NULL
                 AND ((s.grant_ts <= p_at
                       AND _tl_consent_matches(s.grant_channel, s.grant_scope,
                                               p_channel, p_category)
                       AND NOT _tl_covers(s.grant_sender_id, p_sender_id))
                      OR (s.more_grants IS NOT NULL
                          AND coalesce(list_bool_or(list_transform(s.more_grants, lambda x:
                              x.ts <= p_at
                              AND _tl_consent_matches(x.channel, x.scope, p_channel, p_category)
                              AND NOT _tl_covers(x.sender_id, p_sender_id))), false)))
                 THEN 'other_sender'
            WHEN CAST(p_require_consent AS BOOLEAN) AND s.last_grant IS NULL
                 AND s.last_revoke IS NULL
                 AND ((s.grant_ts > p_at
                       AND _tl_consent_matches(s.grant_channel, s.grant_scope,
                                               p_channel, p_category)
                       AND _tl_covers(s.grant_sender_id, p_sender_id))
                      OR (s.more_grants IS NOT NULL
                          AND coalesce(list_bool_or(list_transform(s.more_grants, lambda x:
                              x.ts > p_at
                              AND _tl_consent_matches(x.channel, x.scope, p_channel, p_category)
                              AND _tl_covers(x.sender_id, p_sender_id))), false)))
                 THEN 'consent_after_assignment'
            WHEN CAST(p_require_consent AS BOOLEAN) AND s.last_grant IS NULL
                 AND s.last_revoke IS NULL THEN 'no_consent'
            WHEN CAST(p_require_consent AS BOOLEAN)
                 AND (s.last_grant IS NULL OR s.last_revoke >= s.last_grant)
                 THEN 'consent_revoked'
            WHEN CAST(p_marketing AS BOOLEAN)
                 AND (s.last_revoke >= coalesce(s.last_grant, TIMESTAMP '-infinity')
                      OR _tl_last_stop(s.stops, p_at, p_channel, p_sender_id)
                         >= coalesce(s.last_grant, TIMESTAMP '-infinity'))
                 THEN 'marketing_stopped'
            WHEN CAST(p_feedback_days AS INTEGER) > 0
                 AND _tl_any_within(s.feedback,
                                    p_at - to_days(CAST(p_feedback_days AS INTEGER)), p_at)
                 THEN 'recent_feedback'
        END AS reason
    FROM consent_state AS s
),
judged AS (
    SELECT contact_id, reason FROM judged_plain
    UNION ALL
    SELECT contact_id, reason FROM judged_eventful
)
SELECT contact_id, reason
FROM judged
