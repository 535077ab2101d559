-- purpose: the canonical tables as they stood before the experiment's assigned_at, for a
--          segment query (threadlift.analysis.segments rewrites each canonical table it
--          reads to the view of the same name with the _as_of_ prefix), so a segment is
--          never defined by what happened after assignment. identities has no time and is
--          read as it is; contacts keeps the contacts created before assigned_at (or
--          without a creation time).
-- grain:   one temp view per canonical table with a time column, the table's own rows.
-- params:  $assigned_at TIMESTAMP (the experiment's; rows at or after it are left out).

-- statement: contacts
CREATE OR REPLACE TEMP VIEW _as_of_contacts AS
SELECT * FROM contacts WHERE created_at IS NULL OR created_at < $assigned_at

-- statement: consents
CREATE OR REPLACE TEMP VIEW _as_of_consents AS
SELECT * FROM consents WHERE ts < $assigned_at

-- statement: messages
CREATE OR REPLACE TEMP VIEW _as_of_messages AS
SELECT * FROM messages WHERE sent_at < $assigned_at

-- statement: message_events
CREATE OR REPLACE TEMP VIEW _as_of_message_events AS
SELECT * FROM message_events WHERE ts < $assigned_at

-- statement: inbound
CREATE OR REPLACE TEMP VIEW _as_of_inbound AS
SELECT * FROM inbound WHERE ts < $assigned_at

-- statement: actions
CREATE OR REPLACE TEMP VIEW _as_of_actions AS
SELECT * FROM actions WHERE ts < $assigned_at

-- statement: feedback
CREATE OR REPLACE TEMP VIEW _as_of_feedback AS
SELECT * FROM feedback WHERE ts < $assigned_at

-- statement: sender_quality
CREATE OR REPLACE TEMP VIEW _as_of_sender_quality AS
SELECT * FROM sender_quality WHERE ts < $assigned_at

-- statement: rate_card
CREATE OR REPLACE TEMP VIEW _as_of_rate_card AS
SELECT * FROM rate_card WHERE valid_from < $assigned_at

-- statement: assignments
CREATE OR REPLACE TEMP VIEW _as_of_assignments AS
SELECT * FROM assignments WHERE assigned_at < $assigned_at

-- statement: exposures
CREATE OR REPLACE TEMP VIEW _as_of_exposures AS
SELECT * FROM exposures WHERE ts < $assigned_at

-- statement: quarantine
CREATE OR REPLACE TEMP VIEW _as_of_quarantine AS
SELECT * FROM quarantine WHERE ingested_at < $assigned_at
