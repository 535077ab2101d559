-- purpose: the candidates of the state path of `assign`, as the temp view
--          _tl_state_candidates: one row per candidate contact with its eligibility_state
--          columns (sql/assign/eligibility/verdicts.sql reads it); one statement per kind of
--          run (threadlift.assign.assignment._define_state_evaluation picks one), then
--          `eventful_events`, the events of the eventful candidates as rows.
-- grain:   named statements, each with its own grain below.
-- params:  none.

-- statement: contacts
-- The candidates of a batch run without audience_sql: every workspace contact,
-- all in the audience, with its eligibility events.
-- grain:   one row per contact_id (eligibility_state is keyed by contact_id).
-- reads:   eligibility_state.
-- params:  none.
CREATE OR REPLACE TEMP VIEW _tl_state_candidates AS
SELECT
    contact_id, true AS in_audience, grant_channel, grant_scope, grant_sender_id, grant_ts,
    more_grants, revokes, stops, feedback, eventful
FROM eligibility_state
WHERE in_contacts;

-- statement: audience
-- The candidates of a batch run with an audience_sql: every workspace contact and
-- every id the audience returns, flagged whether in the audience (contacts
-- outside it are counted as not_in_audience), with their eligibility events.
-- grain:   one row per distinct contact_id.
-- reads:   eligibility_state, temp view _tl_audience(contact_id).
-- params:  none.
CREATE OR REPLACE TEMP VIEW _tl_state_candidates AS
SELECT
    coalesce(s.contact_id, a.contact_id) AS contact_id,
    a.contact_id IS NOT NULL AS in_audience,
    s.grant_channel,
    s.grant_scope,
    s.grant_sender_id,
    s.grant_ts,
    s.more_grants,
    s.revokes,
    s.stops,
    s.feedback,
    coalesce(s.eventful, false) AS eventful
FROM (SELECT DISTINCT contact_id FROM _tl_audience WHERE contact_id IS NOT NULL) AS a
FULL OUTER JOIN eligibility_state AS s ON s.contact_id = a.contact_id
WHERE a.contact_id IS NOT NULL OR s.in_contacts;

-- statement: eventful_events
-- The eligibility events of the eventful candidates as rows: the first grant of their
-- eligibility_state row and its lists unnested (kind 'granted', 'revoked', 'stop',
-- 'feedback'). A view: a first run judges them once (unassigned.sql#judge_eventful).
-- grain:   one row per event of an eventful candidate; the TEMP VIEW
--          _tl_eventful_events(contact_id, in_audience, kind, channel, scope, sender_id, ts).
-- reads:   temp view _tl_state_candidates (`contacts` or `audience`).
-- params:  none.
CREATE OR REPLACE TEMP VIEW _tl_eventful_events AS
WITH eventful_state AS (
    SELECT * FROM _tl_state_candidates WHERE eventful
)
SELECT
    contact_id, in_audience, 'granted' AS kind, grant_channel AS channel,
    grant_scope AS scope, grant_sender_id AS sender_id, grant_ts AS ts
FROM eventful_state
UNION ALL
SELECT contact_id, in_audience, 'granted', g.channel, g.scope, g.sender_id, g.ts
FROM (SELECT contact_id, in_audience, unnest(more_grants) AS g FROM eventful_state)
UNION ALL
SELECT contact_id, in_audience, 'revoked', r.channel, r.scope, r.sender_id, r.ts
FROM (SELECT contact_id, in_audience, unnest(revokes) AS r FROM eventful_state)
UNION ALL
SELECT contact_id, in_audience, 'stop', s.channel, NULL, s.sender_id, s.ts
FROM (SELECT contact_id, in_audience, unnest(stops) AS s FROM eventful_state)
UNION ALL
SELECT contact_id, in_audience, 'feedback', NULL, NULL, NULL, unnest(feedback)
FROM eventful_state;
