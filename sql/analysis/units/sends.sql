-- purpose: the experiment's messages sent inside each unit's window, with the contact's
--          last inbound message before the send (a 24-hour customer-service window is open
--          when it is less than 24 hours old) and a summary of the message's status events
--          (first delivered-or-read, read and failed times; billable and the pricing
--          category the webhooks reported). Read by funnel, take-up, cost, window share
--          and guardrail breakdown, so the joins with inbound and message_events are done
--          once per analysis.
-- grain:   one row per message; creates temp table _sends.
-- params:  $experiment_id VARCHAR.
-- needs:   temp table _units from analysis/units/units.sql.
CREATE OR REPLACE TEMP TABLE _sends AS
WITH sent AS (
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
),
status AS (
    -- every event of the message, whenever it came: the readers apply their own as-of time
    SELECT
        e.message_id,
        min(e.ts) FILTER (WHERE e.status IN ('delivered', 'read')) AS delivered_at,
        min(e.ts) FILTER (WHERE e.status = 'read') AS read_at,
        min(e.ts) FILTER (WHERE e.status = 'failed') AS failed_at,
        bool_or(e.billable) AS billable,
        max(e.pricing_category) AS pricing_category
    FROM message_events AS e
    WHERE e.message_id IN (SELECT message_id FROM sent)
    GROUP BY e.message_id
)
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
    i.ts AS last_inbound_at,
    st.delivered_at,
    st.read_at,
    st.failed_at,
    st.billable,
    st.pricing_category
FROM sent AS s
ASOF LEFT JOIN inbound AS i
    ON i.contact_id = s.contact_id AND i.channel = s.channel
    AND coalesce(i.sender_id, '') = coalesce(s.sender_id, '')
    AND s.sent_at >= i.ts
LEFT JOIN status AS st ON st.message_id = s.message_id
