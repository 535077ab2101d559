-- purpose: the changes of WhatsApp webhook bodies, one row per entry[].changes[] element:
--          the usual bodies from _wa_heads (fast), the others from _wa_split.
-- grain:   one row per change (temp view _wa_changes).
-- params:  none. needs: _wa_heads (wa_heads.sql), _wa_split (wa_split.sql).
-- Fast rows read their items from doc = the body (prefix '$.entry[0].changes[0].value'),
-- messages and contacts from messages_json / contacts_json (the arrays alone); a single
-- status is already parsed in _wa_heads (wa_statuses.sql reads it there). Split rows read
-- theirs from doc = the change's value (prefix '$'); their *_json columns are NULL.
CREATE OR REPLACE TEMP VIEW _wa_changes AS
SELECT change_id, body_hash, source, location, seq, account_id, entry_ts, field, fast, doc,
       sender_id, has_statuses, has_messages, has_contacts, has_errors, messages_json,
       contacts_json
FROM _wa_heads
WHERE fast
UNION ALL
SELECT change_id, body_hash, source, location, seq, account_id, entry_ts, field, fast, doc,
       sender_id, has_statuses, has_messages, has_contacts, has_errors, NULL::JSON, NULL::JSON
FROM _wa_split;
