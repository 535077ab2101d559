-- purpose: the contacts[] profiles of WhatsApp changes: which phone, BSUID and parent BSUID
--          belong to the same person.
-- grain:   one row per contacts[] element (temp table _wa_contacts).
-- params:  none. needs: temp table _wa_changes.
-- The contacts[] array of a change (a fast change's own, contacts_json from wa_heads.sql;
-- a split change's from its doc) is parsed as a whole, typed, and unnested (see
-- wa_inbound.sql for why not json_extract's '$[*]').
CREATE OR REPLACE TEMP TABLE _wa_contacts AS
WITH arrays AS (
    SELECT change_id, contacts_json AS arr
    FROM _wa_changes
    WHERE fast AND has_contacts
    UNION ALL
    SELECT change_id, json_extract(doc, '$.contacts')
    FROM _wa_changes
    WHERE NOT fast AND field IN ('messages', 'user_preferences') AND has_contacts
),
items AS (
    SELECT change_id,
           unnest(from_json(arr, '[{"wa_id": "VARCHAR", "user_id": "VARCHAR",
                                    "parent_user_id": "VARCHAR"}]')) AS f
    FROM arrays
)
SELECT change_id, f.wa_id AS wa_id, f.user_id AS user_id, f.parent_user_id AS parent_user_id
FROM items;
