-- purpose: the contacts[] profiles of WhatsApp changes: which phone, BSUID and parent BSUID
--          belong to the same person.
-- grain:   one row per contacts[] element (temp table _wa_contacts).
-- params:  none. needs: temp table _wa_changes.
CREATE OR REPLACE TEMP TABLE _wa_contacts AS
WITH elements AS (
    SELECT ch.change_id, c.item
    FROM _wa_changes AS ch,
         unnest(json_extract(ch.doc, '$.entry[0].changes[0].value.contacts[*]')) AS c(item)
    WHERE ch.fast AND ch.has_contacts
    UNION ALL
    SELECT ch.change_id, c.item
    FROM _wa_changes AS ch, unnest(json_extract(ch.doc, '$.contacts[*]')) AS c(item)
    WHERE NOT ch.fast AND ch.field IN ('messages', 'user_preferences') AND ch.has_contacts
)
SELECT change_id,
       item ->> 'wa_id' AS wa_id,
       item ->> 'user_id' AS user_id,
       item ->> 'parent_user_id' AS parent_user_id
FROM elements;
