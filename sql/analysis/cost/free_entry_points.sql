-- purpose: the experiment's WhatsApp sends that fall inside a free-entry-point window, so
--          cost.sql prices them at zero when no status webhook said whether they were billed.
-- grain:   one row per message; creates temp table _free_entry(message_id).
-- params:  none.
-- needs:   temp table _sends from analysis/units/sends.sql; message_referrals (filled by WhatsApp
--          ingest from inbound messages that carry a `referral`; empty when data were loaded).
-- Rule (platforms.md §3, WhatsApp pricing): a contact who writes in through a
-- click-to-WhatsApp ad or a Facebook Page call-to-action opens an entry point; when the
-- business answers within 24 hours, every message in the 72 hours from that first answer is
-- free. It holds from conversation-based pricing (2022-02-01) on, through per-message
-- pricing, and stays free after the 2026-10-01 changes. The same rule as the
-- free_entry_point column of the message_facts view, computed here only for the contacts
-- the experiment sent to.
CREATE OR REPLACE TEMP TABLE _free_entry AS
WITH entry_points AS (
    SELECT r.contact_id, r.sender_id, min(a.sent_at) AS opened_at
    FROM message_referrals AS r
    JOIN messages AS a
      ON a.contact_id = r.contact_id AND a.channel = r.platform
     AND coalesce(a.sender_id, '') = coalesce(r.sender_id, '')
     AND a.sent_at >= r.ts AND a.sent_at < r.ts + INTERVAL 24 HOUR
    WHERE r.platform = 'whatsapp'
      AND r.contact_id IN (SELECT contact_id FROM _sends WHERE channel = 'whatsapp')
    GROUP BY r.message_id, r.contact_id, r.sender_id
),
free AS (
    SELECT DISTINCT s.message_id
    FROM _sends AS s
    JOIN entry_points AS e
      ON e.contact_id = s.contact_id AND coalesce(e.sender_id, '') = coalesce(s.sender_id, '')
     AND s.sent_at >= e.opened_at AND s.sent_at < e.opened_at + INTERVAL 72 HOUR
    WHERE s.channel = 'whatsapp' AND s.sent_at >= TIMESTAMP '2022-02-01'
)
SELECT message_id FROM free
