-- purpose: the changes of the WhatsApp bodies that are not the usual shape (several entries
--          or changes, or another field): one row per entry[].changes[] element.
-- grain:   one row per change (temp table _wa_split), numbered after the bodies' seq.
-- params:  none. needs: _bodies, _wa_heads.
-- sender_id is the business phone number (digits), from metadata or, for account-level
-- fields, from value.display_phone_number.
CREATE OR REPLACE TEMP TABLE _wa_split AS
WITH rest AS MATERIALIZED (
    SELECT * FROM _bodies WHERE seq IN (SELECT seq FROM _wa_heads WHERE NOT fast)
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
SELECT (SELECT coalesce(max(seq), 0) FROM _bodies) + row_number() OVER () AS change_id,
       body_hash, source, location, seq, account_id, entry_ts, field, false AS fast, doc,
       sender_id,
       contains(doc, '"statuses"') AS has_statuses,
       regexp_matches(doc, '"messages"\s*:') AS has_messages,
       contains(doc, '"contacts"') AS has_contacts,
       contains(doc, '"errors"') AS has_errors
FROM split;
