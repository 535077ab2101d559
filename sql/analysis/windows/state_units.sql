-- purpose: each analysed unit's customer-service-window state at assignment: 'open' when
--          the contact wrote to the business on the experiment's channel (and sender, when
--          the experiment names one) in the 24 hours up to its assigned_at, else 'closed'.
--          A pre-treatment state, observable alike in every arm, so lifts split by it
--          compare like with like (unlike splitting by the kind of message received).
-- grain:   one row per unit; creates temp table _window_state.
-- params:  $channel VARCHAR, $sender_id VARCHAR (may be NULL: any sender on the channel).
-- needs:   temp table _units from analysis/units/units.sql.
CREATE OR REPLACE TEMP TABLE _window_state AS
WITH opened AS (
    SELECT DISTINCT u.contact_id
    FROM _units AS u
    JOIN inbound AS i ON i.contact_id = u.contact_id
    WHERE i.channel = $channel
      AND ($sender_id IS NULL OR i.sender_id = $sender_id)
      AND i.ts <= u.assigned_at
      AND i.ts > u.assigned_at - INTERVAL 24 HOUR
)
SELECT
    u.contact_id,
    u.arm,
    u.assigned_at,
    u.window_end,
    CASE WHEN o.contact_id IS NULL THEN 'closed' ELSE 'open' END AS window_state
FROM _units AS u
LEFT JOIN opened AS o ON o.contact_id = u.contact_id
