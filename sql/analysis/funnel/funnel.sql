-- purpose: the funnel by arm: units assigned, and how many reached each messaging stage.
-- grain:   one row per arm. Each column counts units (contacts), not messages.
-- params:  $as_of TIMESTAMP, $action VARCHAR (the conversion action).
-- needs:   temp tables _units and _sends (analysis/units/sends.sql: its event times).
-- Stages count the experiment's messages sent inside the unit's window. Read implies
-- delivered (platforms may send a read without a delivered); failed = every message of the
-- unit failed and none was delivered; replied = an inbound message after the first send.
WITH sends AS (
    SELECT contact_id, message_id, sent_at, delivered_at, read_at, failed_at FROM _sends
),
unit_events AS (
    SELECT
        contact_id,
        coalesce(bool_or(delivered_at <= $as_of), false) AS delivered,
        coalesce(bool_or(read_at <= $as_of), false) AS was_read,
        coalesce(bool_or(failed_at <= $as_of), false) AS failed
    FROM sends
    GROUP BY contact_id
),
first_send AS (
    SELECT contact_id, min(sent_at) AS first_sent FROM sends GROUP BY contact_id
),
replied AS (
    SELECT DISTINCT f.contact_id
    FROM first_send AS f
    JOIN _units AS u ON u.contact_id = f.contact_id
    JOIN inbound AS i ON i.contact_id = f.contact_id
    WHERE i.ts >= f.first_sent AND i.ts < u.window_end
),
converted AS (
    SELECT DISTINCT u.contact_id
    FROM _units AS u
    JOIN actions AS a ON a.contact_id = u.contact_id
    WHERE a.action = $action AND a.ts >= u.assigned_at AND a.ts < u.window_end
)
SELECT
    u.arm,
    count(*) AS units,
    count(f.contact_id) AS sent,
    count(*) FILTER (WHERE ue.delivered) AS delivered,
    count(*) FILTER (WHERE ue.was_read) AS "read",
    count(r.contact_id) AS replied,
    count(*) FILTER (WHERE ue.failed AND NOT ue.delivered) AS failed,
    count(c.contact_id) AS converted
FROM _units AS u
LEFT JOIN first_send AS f ON f.contact_id = u.contact_id
LEFT JOIN unit_events AS ue ON ue.contact_id = u.contact_id
LEFT JOIN replied AS r ON r.contact_id = u.contact_id
LEFT JOIN converted AS c ON c.contact_id = u.contact_id
GROUP BY u.arm
ORDER BY u.arm
