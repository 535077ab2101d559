-- purpose: the changes of WhatsApp webhook bodies, one row per entry[].changes[] element.
-- grain:   one row per change (temp table _wa_changes).
-- params:  none. Two statements. needs: temp table _bodies (platform whatsapp).
-- Fast path: the usual body (one entry, one "messages" change) is parsed once: its first
-- status is read with the head (f[11..22]); its other items are read from the body
-- (doc = body, prefix '$.entry[0].changes[0].value') only when present. Every other body
-- is split into changes (doc = the change's value, prefix '$').
-- sender_id is the business phone number (digits), from metadata or, for account-level
-- fields, from value.display_phone_number.
CREATE OR REPLACE TEMP TABLE _wa_changes AS
WITH heads AS MATERIALIZED (
    SELECT b.body_hash, b.source, b.location, b.seq, b.body,
           json_extract_string(b.body, [
               '$.entry[0].changes[0].field',
               '$.entry[0].changes[0].value.metadata.display_phone_number',
               '$.entry[0].id', '$.entry[0].time',
               '$.entry[1].id', '$.entry[0].changes[1].field',
               '$.entry[0].changes[0].value.statuses[1].id',
               '$.entry[0].changes[0].value.messages[0].id',
               '$.entry[0].changes[0].value.contacts[0]',
               '$.entry[0].changes[0].value.errors[0]',
               '$.entry[0].changes[0].value.statuses[0].id',
               '$.entry[0].changes[0].value.statuses[0].status',
               '$.entry[0].changes[0].value.statuses[0].timestamp',
               '$.entry[0].changes[0].value.statuses[0].recipient_id',
               '$.entry[0].changes[0].value.statuses[0].recipient_user_id',
               '$.entry[0].changes[0].value.statuses[0].recipient_parent_user_id',
               '$.entry[0].changes[0].value.statuses[0].recipient_type',
               '$.entry[0].changes[0].value.statuses[0].biz_opaque_callback_data',
               '$.entry[0].changes[0].value.statuses[0].errors[0].code',
               '$.entry[0].changes[0].value.statuses[0].pricing.billable',
               '$.entry[0].changes[0].value.statuses[0].pricing.type',
               '$.entry[0].changes[0].value.statuses[0].pricing.category',
               '$.entry[0].changes[0].value.statuses[0]']) AS h
    FROM _bodies AS b
)
SELECT seq AS change_id, body_hash, source, location, seq,
       h[3] AS account_id,
       make_timestamp(TRY_CAST(h[4] AS BIGINT) * 1000000) AS entry_ts,
       'messages' AS field,
       true AS fast,
       CASE WHEN h[7] IS NOT NULL OR h[8] IS NOT NULL OR h[9] IS NOT NULL
                 OR h[10] IS NOT NULL THEN body END AS doc,
       nullif(regexp_replace(coalesce(h[2], ''), '[^0-9]', '', 'g'), '') AS sender_id,
       h[7] IS NOT NULL AS has_statuses,
       h[8] IS NOT NULL AS has_messages,
       h[9] IS NOT NULL AS has_contacts,
       h[10] IS NOT NULL AS has_errors,
       CASE WHEN h[7] IS NULL AND h[23] IS NOT NULL THEN h[11:23] END AS first_status
FROM heads
WHERE h[1] = 'messages' AND h[5] IS NULL AND h[6] IS NULL;

INSERT INTO _wa_changes
WITH rest AS MATERIALIZED (
    SELECT b.* FROM _bodies AS b
    WHERE NOT EXISTS (SELECT 1 FROM _wa_changes AS w WHERE w.seq = b.seq)
),
split AS (
    SELECT b.body_hash, b.source, b.location, b.seq,
           e.entry ->> 'id' AS account_id,
           make_timestamp(TRY_CAST(e.entry ->> 'time' AS BIGINT) * 1000000) AS entry_ts,
           c.change ->> 'field' AS field,
           (c.change -> 'value')::VARCHAR AS doc,
           nullif(regexp_replace(coalesce(c.change ->> '$.value.metadata.display_phone_number',
                                          c.change ->> '$.value.display_phone_number', ''),
                                 '[^0-9]', '', 'g'), '') AS sender_id
    FROM rest AS b,
         unnest(json_extract(b.body, '$.entry[*]')) AS e(entry),
         unnest(json_extract(e.entry, '$.changes[*]')) AS c(change)
)
SELECT (SELECT coalesce(max(seq), 0) FROM _bodies) + row_number() OVER (),
       body_hash, source, location, seq, account_id, entry_ts, field, false, doc, sender_id,
       contains(doc, '"statuses"'), regexp_matches(doc, '"messages"\s*:'),
       contains(doc, '"contacts"'), contains(doc, '"errors"'), NULL
FROM split;
