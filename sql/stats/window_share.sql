-- purpose: how the experiment's messages went out: templates vs free-form session messages,
--          and whether a 24-hour customer-service window was open at send time.
-- grain:   one row per arm (arms that sent messages).
-- params:  $experiment_id VARCHAR.
-- needs:   temp table _units.
-- A session message is a non-template send (template NULL or category 'service'); a window
-- is open when the contact wrote to the sender in the 24 hours before the send.
WITH sends AS (
    SELECT u.arm, m.contact_id, m.channel, m.sender_id, m.sent_at,
           (m.template IS NULL OR m.category = 'service') AS session_message
    FROM _units AS u
    JOIN messages AS m ON m.contact_id = u.contact_id
    WHERE m.experiment_id = $experiment_id AND m.sent_at >= u.assigned_at AND m.sent_at < u.window_end
),
windowed AS (
    SELECT s.*, (i.ts > s.sent_at - INTERVAL 24 HOUR) AS window_open
    FROM sends AS s
    ASOF LEFT JOIN inbound AS i
        ON i.contact_id = s.contact_id AND i.channel = s.channel
        AND coalesce(i.sender_id, '') = coalesce(s.sender_id, '') AND s.sent_at >= i.ts
)
SELECT
    arm,
    count(*) AS messages,
    count(*) FILTER (WHERE NOT session_message) AS template_messages,
    count(*) FILTER (WHERE session_message) AS session_messages,
    count(*) FILTER (WHERE coalesce(window_open, false)) AS in_window_messages
FROM windowed
GROUP BY arm
ORDER BY arm
