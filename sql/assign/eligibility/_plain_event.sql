-- purpose: the one eligibility event of a plain eligibility_state row (at most one consent
--          grant, no revoke, 131050 stop or feedback; sql/assign/eligibility/insert_rows.sql)
--          as the event columns the rule fragments read: its grant, kind 'granted'. A
--          plain row without a grant has NULL columns, which no rule matches (an event
--          that is not there).
-- grain:   a fragment: a select list of five columns over one eligibility_state row.
-- reads:   columns grant_channel, grant_scope, grant_sender_id, grant_ts.
-- params:  none.
'granted' AS kind,
grant_channel AS channel,
grant_scope AS scope,
grant_sender_id AS sender_id,
grant_ts AS ts
