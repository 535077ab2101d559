-- purpose: expand delivery / read watermarks: every outbound message to that user from that
--          page sent at or before the watermark reached the status, at the time of the
--          earliest watermark that covers it.
-- grain:   one row per (message, status) not yet recorded (temp table _wm_events).
-- params:  $platform VARCHAR.
CREATE OR REPLACE TEMP TABLE _wm_events AS
SELECT m.message_id, w.status, min(w.ts) AS ts
FROM read_watermarks AS w
JOIN messages AS m
  ON m.channel = w.platform AND m.contact_id = w.contact_id AND m.sender_id = w.sender_id
 AND m.sent_at <= w.watermark
WHERE w.platform = $platform
  AND NOT EXISTS (
      SELECT 1 FROM message_events AS e
      WHERE e.message_id = m.message_id AND e.status = w.status)
GROUP BY m.message_id, w.status;
