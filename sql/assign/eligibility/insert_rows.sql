-- purpose: (re)build eligibility_state rows from the canonical tables: every eligibility
--          event of a contact (sql/assign/_eligibility_events.sql: consent grants, the first
--          in columns and the others in a list, and revokes, 131050 failures on its
--          messages, block / report / opt_out times), and whether it is listed in contacts.
-- grain:   one row per distinct contact_id of contacts, consents, feedback and 131050
--          failures; all of them when $all, else those in _tl_state_dirty. Rows are
--          inserted plain first, eventful last, so each kind fills its own row groups
--          (sql/assign/eligibility/verdicts.sql scans them apart).
-- reads:   contacts, the event tables of sql/assign/_eligibility_events.sql, temp table
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
events AS (
    SELECT *
    FROM (
        -- include: assign/_eligibility_events
    ) AS e
    WHERE CAST($all AS BOOLEAN) OR contact_id IN (SELECT contact_id FROM dirty)
),
grouped AS (
    SELECT
        contact_id,
        list({'channel': channel, 'sender_id': sender_id, 'scope': scope, 'ts': ts})
            FILTER (WHERE kind = 'granted') AS grants,
        list({'channel': channel, 'sender_id': sender_id, 'scope': scope, 'ts': ts})
            FILTER (WHERE kind = 'revoked') AS revokes,
        list({'channel': channel, 'sender_id': sender_id, 'ts': ts})
            FILTER (WHERE kind = 'stop') AS stops,
        list(ts) FILTER (WHERE kind = 'feedback') AS feedback
    FROM events
    GROUP BY contact_id
),
ids AS (
    SELECT contact_id FROM listed
    UNION SELECT contact_id FROM grouped
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
        CASE WHEN len(k.stops) > 0 THEN k.stops END AS stops,
        CASE WHEN len(k.feedback) > 0 THEN k.feedback END AS feedback
    FROM ids
    LEFT JOIN listed AS l ON l.contact_id = ids.contact_id
    LEFT JOIN grouped AS k ON k.contact_id = ids.contact_id
    WHERE ids.contact_id IS NOT NULL
)
SELECT
    *,
    more_grants IS NOT NULL OR revokes IS NOT NULL OR stops IS NOT NULL
        OR feedback IS NOT NULL AS eventful
FROM state_rows
ORDER BY eventful
