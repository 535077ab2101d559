-- purpose: who an erasure request is about: the contacts that own the address asked for
--          (or the contact asked for), every address those contacts have, and the ids of
--          the messages sent to them (whose events go with them).
-- grain:   one row: contact_ids, addresses, message_ids (lists, possibly empty).
-- params:  $addresses VARCHAR[] (the address asked for, in its stored forms; empty for
--          --contact), $contact_ids VARCHAR[] (the contact asked for; empty for --address).
WITH ids AS (
    SELECT contact_id FROM identities WHERE list_contains($addresses, lower(address))
    UNION
    SELECT unnest($contact_ids::VARCHAR[])
)
SELECT
    (SELECT coalesce(list(DISTINCT contact_id ORDER BY contact_id), []) FROM ids) AS contact_ids,
    (SELECT coalesce(list(DISTINCT address ORDER BY address), []) FROM identities
     WHERE contact_id IN (SELECT contact_id FROM ids)) AS addresses,
    (SELECT coalesce(list(DISTINCT message_id ORDER BY message_id), []) FROM messages
     WHERE contact_id IN (SELECT contact_id FROM ids)) AS message_ids
