-- purpose: the contacts whose 131050 failures a load of message_events staged (through
--          the messages already in the workspace).
-- grain:   one row per contact, appended to _tl_state_dirty.
-- reads:   temp table _typed (threadlift.loading), messages.
-- params:  none.
INSERT INTO _tl_state_dirty
SELECT DISTINCT m.contact_id
FROM _typed AS t
JOIN messages AS m ON m.message_id = t.message_id
WHERE t._reason IS NULL AND t.error_code = '131050'
