-- purpose: the sends of this ingest call that the canonical tables already knew before it:
--          a messages row or status events from earlier calls (or loaded). Only these can
--          have a sent_at or category that this call's statuses alone do not determine, so
--          only these are recomputed from message_events afterwards (writer.refresh_owned).
-- grain:   one row per such message id (temp table _w_prior).
-- params:  none. needs: _w_messages (write_shape.sql); run before the writer inserts.
CREATE OR REPLACE TEMP TABLE _w_prior AS
SELECT w.message_id
FROM _w_messages AS w
WHERE EXISTS (SELECT 1 FROM messages AS m WHERE m.message_id = w.message_id)
   OR EXISTS (SELECT 1 FROM message_events AS e WHERE e.message_id = w.message_id);
