-- purpose: the eligibility verdicts of sql/assign/evaluate.sql computed from
--          eligibility_state instead of the event logs: for each candidate contact, whether
--          it is already assigned and the first eligibility rule it fails (NULL when
--          eligible). The rules, their order and every tie-break are those of
--          sql/assign/evaluate.sql (see its header); tests/test_eligibility_state.py checks
--          the two agree. Buckets and arms of the eligible are computed by
--          sql/eligibility/insert_new.sql, only for them.
-- grain:   one row per candidate contact_id. Defined as the TEMP table macro
--          _tl_evaluate(p_experiment_id, p_at, …) (a view cannot take parameters);
--          sql/eligibility/exclusions.sql keeps its excluded rows.
-- reads:   temp view _tl_state_candidates (sql/eligibility/candidates_*.sql), assignments;
--          temp macros _tl_covers and _tl_consent_matches (sql/eligibility/macro_*.sql).
-- params:  none bound here; the macro's arguments, in order, are these parameters of
--          sql/assign/evaluate.sql (threadlift.assign.evaluation_params) prefixed p_:
--          $experiment_id VARCHAR, $at TIMESTAMP (eligibility time), $channel VARCHAR,
--          $sender_id VARCHAR (NULL: any sender), $category VARCHAR, $require_consent
--          BOOLEAN, $marketing BOOLEAN, $feedback_days INTEGER (0: off), $global_salt
--          VARCHAR, $global_stop INTEGER (0: no global holdout), $layer_salt VARCHAR (NULL:
--          no layer), $layer_start INTEGER, $layer_stop INTEGER.
CREATE OR REPLACE TEMP MACRO _tl_evaluate(
    p_experiment_id, p_at, p_channel, p_sender_id, p_category, p_require_consent, p_marketing,
    p_feedback_days, p_global_salt, p_global_stop, p_layer_salt, p_layer_start, p_layer_stop
) AS TABLE
WITH
state AS (
    -- The last covering grant and revoke at or before p_at. The first grant is in plain
    -- columns; the lists are NULL for most contacts, so their lambdas rarely run. What
    -- only some contacts need (other senders, later grants, 131050 stops, feedback) is
    -- computed inside the CASE below, for the contacts that reach that rule.
    SELECT
        *,
        CASE WHEN grant_ts <= p_at
                  AND _tl_consent_matches(grant_channel, grant_scope, p_channel, p_category)
                  AND _tl_covers(grant_sender_id, p_sender_id)
             THEN grant_ts END AS first_grant,
        CASE WHEN more_grants IS NOT NULL THEN
            list_max(list_transform(more_grants, lambda x:
                CASE WHEN x.ts <= p_at
                          AND _tl_consent_matches(x.channel, x.scope, p_channel, p_category)
                          AND _tl_covers(x.sender_id, p_sender_id)
                     THEN x.ts END))
        END AS other_grant,
        CASE WHEN revokes IS NOT NULL THEN
            list_max(list_transform(revokes, lambda x:
                CASE WHEN x.ts <= p_at
                          AND _tl_consent_matches(x.channel, x.scope, p_channel, p_category)
                          AND _tl_covers(x.sender_id, p_sender_id)
                     THEN x.ts END))
        END AS last_revoke
    FROM _tl_state_candidates
),
consent_state AS (
    SELECT
        *,
        CASE WHEN other_grant IS NULL OR first_grant >= other_grant THEN first_grant
             ELSE other_grant END AS last_grant
    FROM state
),
assigned AS (
    SELECT contact_id
    FROM assignments
    WHERE experiment_id = CAST(p_experiment_id AS VARCHAR)
),
judged AS (
    SELECT
        s.contact_id,
        a.contact_id IS NOT NULL AS assigned,
        CASE
            WHEN a.contact_id IS NOT NULL THEN NULL
            -- Most contacts: in the audience, one covering grant and no other event, and no
            -- global holdout or layer to test; every rule below passes them.
            WHEN s.in_audience AND s.first_grant IS NOT NULL AND s.more_grants IS NULL
                 AND s.revokes IS NULL AND s.stops IS NULL AND s.feedback IS NULL
                 AND CAST(p_global_stop AS INTEGER) = 0 AND CAST(p_layer_salt AS VARCHAR) IS NULL
                 THEN NULL
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
                      OR coalesce(list_bool_or(list_transform(s.more_grants, lambda x:
                          x.ts <= p_at
                          AND _tl_consent_matches(x.channel, x.scope, p_channel, p_category)
                          AND NOT _tl_covers(x.sender_id, p_sender_id))), false))
                 THEN 'other_sender'
            WHEN CAST(p_require_consent AS BOOLEAN) AND s.last_grant IS NULL
                 AND s.last_revoke IS NULL
                 AND ((s.grant_ts > p_at
                       AND _tl_consent_matches(s.grant_channel, s.grant_scope,
                                               p_channel, p_category)
                       AND _tl_covers(s.grant_sender_id, p_sender_id))
                      OR coalesce(list_bool_or(list_transform(s.more_grants, lambda x:
                          x.ts > p_at
                          AND _tl_consent_matches(x.channel, x.scope, p_channel, p_category)
                          AND _tl_covers(x.sender_id, p_sender_id))), false))
                 THEN 'consent_after_assignment'
            WHEN CAST(p_require_consent AS BOOLEAN) AND s.last_grant IS NULL
                 AND s.last_revoke IS NULL THEN 'no_consent'
            WHEN CAST(p_require_consent AS BOOLEAN)
                 AND (s.last_grant IS NULL OR s.last_revoke >= s.last_grant)
                 THEN 'consent_revoked'
            WHEN CAST(p_marketing AS BOOLEAN)
                 AND (s.last_revoke >= coalesce(s.last_grant, TIMESTAMP '-infinity')
                      OR (s.stops IS NOT NULL
                          AND list_max(list_transform(s.stops, lambda x:
                                  CASE WHEN x.ts <= p_at AND x.channel = CAST(p_channel AS VARCHAR)
                                            AND _tl_covers(x.sender_id, p_sender_id)
                                       THEN x.ts END))
                              >= coalesce(s.last_grant, TIMESTAMP '-infinity')))
                 THEN 'marketing_stopped'
            WHEN CAST(p_feedback_days AS INTEGER) > 0 AND s.feedback IS NOT NULL
                 AND coalesce(list_bool_or(list_transform(s.feedback, lambda t:
                     t <= p_at AND t >= p_at - to_days(CAST(p_feedback_days AS INTEGER)))), false)
                 THEN 'recent_feedback'
        END AS reason
    FROM consent_state AS s
    LEFT JOIN assigned AS a ON a.contact_id = s.contact_id
)
SELECT contact_id, assigned, reason
FROM judged
