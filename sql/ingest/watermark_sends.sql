-- purpose: the sends whose watermark events this ingest call can change: every send of each
--          thread (user, page) the call touched, by a new watermark, a send seen again or
--          anew, or an event naming a send. Nothing else about a thread can move its
--          watermark events (threadlift.ingest.watermarks).
-- grain:   one row per send of those threads (temp table _wm_sends).
-- params:  $platform VARCHAR (messenger or instagram).
-- needs:   _w_watermarks, _w_messages, _w_events (write_shape.sql), the call's rows written.
CREATE OR REPLACE TEMP TABLE _wm_sends AS
WITH threads AS (
    SELECT contact_id, sender_id FROM _w_watermarks WHERE contact_id IS NOT NULL
    UNION
    SELECT m.contact_id, m.sender_id
    FROM messages AS m
    WHERE m.channel = $platform
      AND m.message_id IN (SELECT message_id FROM _w_messages
                           UNION ALL SELECT message_id FROM _w_events)
)
SELECT m.message_id, m.channel AS platform, m.contact_id, m.sender_id, m.sent_at
FROM messages AS m
SEMI JOIN threads AS t ON t.contact_id = m.contact_id AND t.sender_id = m.sender_id
WHERE m.channel = $platform;
