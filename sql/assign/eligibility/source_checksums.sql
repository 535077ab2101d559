-- purpose: row count and checksum of each source of the eligibility state, to tell whether
--          eligibility_state still matches the canonical tables (any insert, delete or
--          update of an eligibility column changes a checksum, up to a 64-bit hash collision).
-- grain:   writes TEMP TABLE _tl_state_checksums(source, rows, checksum): one row per
--          source: contacts, consents, feedback, stops (131050 failures joined to their
--          messages).
-- params:  none.
CREATE OR REPLACE TEMP TABLE _tl_state_checksums AS
SELECT 'contacts' AS source, count(*) AS rows,
       coalesce(sum(hash(contact_id)), 0) AS checksum
FROM contacts
UNION ALL
SELECT 'consents', count(*),
       coalesce(sum(hash(contact_id, channel, sender_id, scope, status, ts)), 0)
FROM consents
UNION ALL
SELECT 'feedback', count(*), coalesce(sum(hash(contact_id, ts)), 0)
FROM feedback
WHERE kind IN ('block', 'report', 'opt_out')
UNION ALL
SELECT 'stops', count(*), coalesce(sum(hash(m.contact_id, m.channel, m.sender_id, e.ts)), 0)
FROM message_events AS e
JOIN messages AS m ON m.message_id = e.message_id
WHERE e.error_code = '131050'
