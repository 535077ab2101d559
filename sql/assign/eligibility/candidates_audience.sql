-- purpose: the candidates of a batch run with an audience_sql: every workspace contact and
--          every id the audience returns, flagged whether in the audience (contacts
--          outside it are counted as not_in_audience), with their eligibility events.
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
WHERE a.contact_id IS NOT NULL OR s.in_contacts
