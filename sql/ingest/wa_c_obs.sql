-- purpose: identity observations of WhatsApp items: the recipient of a status, the sender
--          of an inbound message, the user of a preference change, with the contacts[]
--          profile of the same change (phone wa_id, BSUID user_id, parent BSUID).
-- grain:   one row per (observation, identifier) into _c_obs.
-- params:  none. needs: _wa_statuses, _wa_inbound, _wa_preferences, _wa_contacts.
-- The statuses the status-only path maps are observed there (wa_status_only.sql).
INSERT INTO _c_obs
WITH ids AS (
    SELECT 'whatsapp:to:' || message_id AS obs_id, ts, change_id,
           -- include: ingest/_wa_status_recipient
    FROM _wa_statuses_general
    WHERE reason IS NULL AND _wa_to_person(recipient_type)
    UNION ALL
    SELECT 'whatsapp:from:' || message_id, ts, change_id, from_phone, from_user_id,
           from_parent_user_id
    FROM _wa_inbound
    WHERE reason IS NULL AND kind = 'inbound'
    UNION ALL
    SELECT 'whatsapp:pref:' || item_id, ts, change_id, wa_id, user_id, parent_user_id
    FROM _wa_preferences
    WHERE reason IS NULL
),
linked AS (
    SELECT obs_id, ts, phone, bsuid, parent_bsuid FROM ids
    UNION ALL
    SELECT i.obs_id, i.ts, c.wa_id, c.user_id, c.parent_user_id
    FROM ids AS i
    JOIN _wa_contacts AS c
      ON c.change_id = i.change_id AND (c.wa_id = i.phone OR c.user_id = i.bsuid)
)
-- include: ingest/_wa_observations

