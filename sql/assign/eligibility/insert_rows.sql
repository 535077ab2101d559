-- purpose: (re)build eligibility_state rows from the canonical tables: every consent
--          grant (the first in columns, the others in a list) and revoke, 131050 failure
--          (on the contact's messages) and block / report / opt_out time of a contact, and
--          whether it is listed in contacts.
-- grain:   one row per distinct contact_id of contacts, consents, feedback and 131050
--          failures; all of them when $all, else those in _tl_state_dirty. Rows are
--          inserted plain first, eventful last, so each kind fills its own row groups
--          (sql/assign/eligibility/verdicts.sql scans them apart).
-- reads:   contacts, consents, feedback, messages, message_events, temp table
--          _tl_state_dirty(contact_id) (may be empty when $all).
-- params:  $all BOOLEAN.
INSERT INTO eligibility_state (
    contact_id, in_contacts, grant_channel, grant_scope, grant_sender_id, grant_ts,
    more_grants, revokes, stops, feedback, eventful
)
WITH
dirty AS (SELECT DISTINCT contact_id FROM _tl_state_dirty),
listed AS (
    SELECT DISTINCT contact_id FROM contacts
    WHERE CAST($all AS BOOLEAN) OR contact_id IN (SELECT contact_id FROM dirty)
),
consent_events AS (
    SELECT
        contact_id,
        list({'channel': channel, 'sender_id': sender_id, 'scope': scope, 'ts': ts})
            FILTER (WHERE status = 'granted') AS grants,
        list({'channel': channel, 'sender_id': sender_id, 'scope': scope, 'ts': ts})
            FILTER (WHERE status = 'revoked') AS revokes
    FROM consents
    WHERE CAST($all AS BOOLEAN) OR contact_id IN (SELECT contact_id FROM dirty)
    GROUP BY contact_id
),
stop_events AS (
    SELECT
        m.contact_id,
        list({'channel': m.channel, 'sender_id': m.sender_id, 'ts': e.ts}) AS stops
    FROM message_events AS e
    JOIN messages AS m ON m.message_id = e.message_id
    WHERE e.error_code = '131050'
      AND (CAST($all AS BOOLEAN) OR m.contact_id IN (SELECT contact_id FROM dirty))
    GROUP BY m.contact_id
),
feedback_events AS (
    SELECT contact_id, list(ts) AS feedback
    FROM feedback
    WHERE kind IN ('block', 'report', 'opt_out')
      AND (CAST($all AS BOOLEAN) OR contact_id IN (SELECT contact_id FROM dirty))
    GROUP BY contact_id
),
ids AS (
    SELECT contact_id FROM listed
    UNION SELECT contact_id FROM consent_events
    UNION SELECT contact_id FROM stop_events
    UNION SELECT contact_id FROM feedback_events
),
state_rows AS (
    SELECT
        ids.contact_id,
        l.contact_id IS NOT NULL AS in_contacts,
        k.grants[1].channel AS grant_channel,
        k.grants[1].scope AS grant_scope,
        k.grants[1].sender_id AS grant_sender_id,
        k.grants[1].ts AS grant_ts,
        CASE WHEN len(k.grants) > 1 THEN k.grants[2:] END AS more_grants,
        CASE WHEN len(k.revokes) > 0 THEN k.revokes END AS revokes,
        s.stops,
        f.feedback
    FROM ids
    LEFT JOIN listed AS l ON l.contact_id = ids.contact_id
    LEFT JOIN consent_events AS k ON k.contact_id = ids.contact_id
    LEFT JOIN stop_events AS s ON s.contact_id = ids.contact_id
    LEFT JOIN feedback_events AS f ON f.contact_id = ids.contact_id
    WHERE ids.contact_id IS NOT NULL
)
SELECT
    *,
    more_grants IS NOT NULL OR revokes IS NOT NULL OR stops IS NOT NULL
        OR feedback IS NOT NULL AS eventful
FROM state_rows
ORDER BY eventful
