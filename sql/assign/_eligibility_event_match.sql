-- purpose: whether one eligibility event concerns the experiment: `matches`, a consent
--          event on its channel whose scope is its category or 'all'; `covers`, the
--          event's sender covers the experiment's (a NULL sender on either side covers
--          every sender; without p_sender_id every sender's events count).
-- grain:   a fragment of a select list: two boolean columns for one event row.
-- reads:   columns channel, scope, sender_id of an event row (sql/assign/_eligibility_events.sql
--          or an eligibility_state row unnested); p_channel, p_category, p_sender_id.
-- params:  none bound: p_* are the eligibility parameters of sql/assign/evaluate.sql
--          ($channel, $category, $sender_id), as macro arguments in
--          sql/assign/eligibility/verdicts.sql and as columns of evaluate.sql's `params` row.
channel = CAST(p_channel AS VARCHAR)
    AND scope IN (CAST(p_category AS VARCHAR), 'all') AS matches,
CAST(p_sender_id AS VARCHAR) IS NULL OR sender_id IS NULL
    OR sender_id = CAST(p_sender_id AS VARCHAR) AS covers
