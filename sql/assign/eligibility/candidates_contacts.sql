-- purpose: the candidates of a batch run without audience_sql: every workspace contact,
--          all in the audience, with its eligibility events.
-- grain:   one row per contact_id (eligibility_state is keyed by contact_id).
-- reads:   eligibility_state.
-- params:  none.
CREATE OR REPLACE TEMP VIEW _tl_state_candidates AS
SELECT
    contact_id, true AS in_audience, grant_channel, grant_scope, grant_sender_id, grant_ts,
    more_grants, revokes, stops, feedback, eventful
FROM eligibility_state
WHERE in_contacts
