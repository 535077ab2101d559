-- purpose: how the experiment's messages went out: templates vs free-form session messages,
--          and whether a 24-hour customer-service window was open at send time.
-- grain:   one row per arm (arms that sent messages).
-- params:  none.
-- needs:   temp table _sends from analysis/units/sends.sql.
-- A session message is a non-template send (template NULL or category 'service'); a window
-- is open when the contact wrote to the sender in the 24 hours before the send.
WITH windowed AS (
    SELECT
        arm,
        (template IS NULL OR category = 'service') AS session_message,
        (last_inbound_at > sent_at - INTERVAL 24 HOUR) AS window_open
    FROM _sends
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
