-- purpose: the canonical tables as they stood before the experiment's assigned_at, for a
--          segment query: threadlift.analysis.segments replaces each canonical table the
--          query reads by the statement of the same name (as a subquery under the table's
--          name or alias), so a segment is never defined by what happened after
--          assignment. identities has no time and is read as it is; contacts keeps the
--          contacts created before assigned_at (or without a creation time).
-- grain:   one statement per canonical table with a time column: the table's own rows.
-- params:  $assigned_at TIMESTAMP (the experiment's; rows at or after it are left out).

-- statement: contacts
SELECT * FROM contacts WHERE created_at IS NULL OR created_at < $assigned_at

-- statement: consents
SELECT * FROM consents WHERE ts < $assigned_at

-- statement: messages
SELECT * FROM messages WHERE sent_at < $assigned_at

-- statement: message_events
SELECT * FROM message_events WHERE ts < $assigned_at

-- statement: inbound
SELECT * FROM inbound WHERE ts < $assigned_at

-- statement: actions
SELECT * FROM actions WHERE ts < $assigned_at

-- statement: feedback
SELECT * FROM feedback WHERE ts < $assigned_at

-- statement: sender_quality
SELECT * FROM sender_quality WHERE ts < $assigned_at

-- statement: rate_card
SELECT * FROM rate_card WHERE valid_from < $assigned_at

-- statement: assignments
SELECT * FROM assignments WHERE assigned_at < $assigned_at

-- statement: exposures
SELECT * FROM exposures WHERE ts < $assigned_at

-- statement: quarantine
SELECT * FROM quarantine WHERE ingested_at < $assigned_at
