-- purpose: the eligibility rules: the first rule a contact fails, NULL when it is eligible.
--          Rules, in the order they are tested (threadlift.assign.assignment.EXCLUSION_REASONS):
--          not_in_audience, global_holdout, layer, other_sender, consent_after_assignment,
--          no_consent, consent_revoked (these four with require_consent), marketing_stopped
--          (marketing category), recent_feedback. A revoke at the same instant as a grant
--          wins; a marketing stop counts when it is at or after the latest grant. Written
--          once: sql/assign/evaluate.sql (event logs; API, Spark) and
--          sql/assign/eligibility/verdicts.sql (eligibility_state; `assign`) both include it.
-- grain:   a fragment: one CASE expression over one contact's row.
-- reads:   columns contact_id, in_audience and the facts of
--          sql/assign/_eligibility_contact_facts.sql; p_require_consent, p_marketing,
--          p_global_salt, p_global_stop, p_layer_salt, p_layer_start, p_layer_stop.
-- params:  none bound: p_* are the parameters of sql/assign/evaluate.sql ($require_consent
--          BOOLEAN, $marketing BOOLEAN, $global_salt VARCHAR, $global_stop INTEGER (0: no
--          global holdout), $layer_salt VARCHAR (NULL: no layer), $layer_start INTEGER,
--          $layer_stop INTEGER), as macro arguments or as columns of a `params` row.
CASE
    WHEN NOT in_audience THEN 'not_in_audience'
    WHEN CAST(p_global_stop AS INTEGER) > 0
         AND threadlift_bucket(CAST(p_global_salt AS VARCHAR), contact_id)
             < CAST(p_global_stop AS INTEGER) THEN 'global_holdout'
    WHEN CAST(p_layer_salt AS VARCHAR) IS NOT NULL
         AND threadlift_bucket(CAST(p_layer_salt AS VARCHAR), contact_id)
             NOT BETWEEN CAST(p_layer_start AS INTEGER)
                     AND CAST(p_layer_stop AS INTEGER) - 1 THEN 'layer'
    WHEN CAST(p_require_consent AS BOOLEAN) AND last_grant IS NULL AND last_revoke IS NULL
         THEN CASE
             WHEN coalesce(other_sender_grant, false) THEN 'other_sender'
             WHEN coalesce(later_grant, false) THEN 'consent_after_assignment'
             ELSE 'no_consent'
         END
    -- A grant or a revoke exists here (the rule above took the rest): revoked when no
    -- grant, or a revoke at or after the latest grant.
    WHEN CAST(p_require_consent AS BOOLEAN)
         AND last_revoke >= coalesce(last_grant, TIMESTAMP '-infinity')
         THEN 'consent_revoked'
    WHEN CAST(p_marketing AS BOOLEAN)
         AND (last_revoke >= coalesce(last_grant, TIMESTAMP '-infinity')
              OR last_stop >= coalesce(last_grant, TIMESTAMP '-infinity'))
         THEN 'marketing_stopped'
    WHEN coalesce(recent_feedback, false) THEN 'recent_feedback'
END
