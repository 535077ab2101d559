-- purpose: a contact's eligibility facts from its events' (sql/assign/_eligibility_event_facts.sql):
--          the latest covering grant, revoke and stop, and whether any event is a later
--          grant, another sender's grant or recent feedback. NULL when it has no such event.
-- grain:   a fragment of a select list: six aggregates over one contact's event rows.
-- reads:   the six columns of sql/assign/_eligibility_event_facts.sql.
-- params:  none.
max(last_grant) AS last_grant,
max(last_revoke) AS last_revoke,
bool_or(later_grant) AS later_grant,
bool_or(other_sender_grant) AS other_sender_grant,
max(last_stop) AS last_stop,
bool_or(recent_feedback) AS recent_feedback
