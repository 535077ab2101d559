-- purpose: the delivered / read events the stored watermarks imply for the sends of
--          _wm_sends, and the implied events stored before that they no longer imply. A
--          send gets an event for a status when no stored event of that status names it and
--          a watermark of its thread covers it (sent at or before the watermark), timed at
--          the earliest report among the covering watermarks.
-- grain:   _wm_events one row per (send, status) implied; _wm_stale one row per stored
--          implied event that differs from them (moved to another time or no longer implied).
-- params:  none. Several statements.
-- needs:   _wm_sends (watermark_sends.sql); _wm_current, the sends' delivered / read events
--          with their provenance key and whether a watermark implied them
--          (threadlift.ingest.watermarks).
CREATE OR REPLACE TEMP TABLE _wm_events AS
SELECT s.message_id, w.status, min(w.ts) AS ts
FROM _wm_sends AS s
JOIN read_watermarks AS w
  ON w.platform = s.platform AND w.contact_id = s.contact_id AND w.sender_id = s.sender_id
 AND s.sent_at <= w.watermark
WHERE NOT EXISTS (
    SELECT 1 FROM _wm_current AS e
    WHERE e.message_id = s.message_id AND e.status = w.status AND NOT e.implied)
GROUP BY s.message_id, w.status;

CREATE OR REPLACE TEMP TABLE _wm_stale AS
SELECT c.message_id, c.status, c.ts, c.row_key
FROM _wm_current AS c
WHERE c.implied
  AND NOT EXISTS (
      SELECT 1 FROM _wm_events AS w
      WHERE w.message_id = c.message_id AND w.status = c.status AND w.ts = c.ts);
