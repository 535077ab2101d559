-- purpose: the experiment's messages sent inside each unit's window, with the contact's
--          last inbound message before the send (a 24-hour customer-service window is open
--          when it is less than 24 hours old). Read by funnel, take-up, cost, window share
--          and guardrail breakdown, so the join is done once per analysis.
-- grain:   one row per message; creates temp table _sends.
-- params:  $experiment_id VARCHAR.
-- needs:   temp table _units from outcomes/units.sql.
CREATE OR REPLACE TEMP TABLE _sends AS
SELECT
    s.arm,
    s.message_id,
    s.contact_id,
    s.channel,
    s.sender_id,
    s.template,
    s.category,
    s.sent_at,
    s.window_end,
    i.ts AS last_inbound_at
FROM (
    SELECT
        u.arm,
        m.message_id,
        m.contact_id,
        m.channel,
        m.sender_id,
        m.template,
        m.category,
        m.sent_at,
        u.window_end
    FROM _units AS u
    JOIN messages AS m ON m.contact_id = u.contact_id
    WHERE m.experiment_id = $experiment_id
      AND m.sent_at >= u.assigned_at AND m.sent_at < u.window_end
) AS s
ASOF LEFT JOIN inbound AS i
    ON i.contact_id = s.contact_id AND i.channel = s.channel
    AND coalesce(i.sender_id, '') = coalesce(s.sender_id, '')
    AND s.sent_at >= i.ts
