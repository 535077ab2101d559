-- purpose: every guardrail signal of every analysed unit inside its window, once per kind.
-- grain:   one row per (contact_id, kind); creates temp table _signals(contact_id, arm, kind).
-- params:  $channel VARCHAR (the experiment's channel).
-- needs:   temp table _units from analysis/units/units.sql.
-- kinds:   block / report / opt_out        from feedback on the experiment's channel
--                                          (Meta has no API for these: load exports from
--                                          WhatsApp Manager or the business's own systems);
--          marketing_stop                  consent revoked for marketing (incl. WhatsApp
--                                          user_preferences stop) or a 131050 failure;
--          spam_rate_limited (131048), marketing_cap (131049), undeliverable (131026)
--                                          from failed status events of messages to the unit.
CREATE OR REPLACE TEMP TABLE _signals AS
SELECT DISTINCT contact_id, arm, kind
FROM (
    SELECT u.contact_id, u.arm, f.kind
    FROM _units AS u
    JOIN feedback AS f ON f.contact_id = u.contact_id
    WHERE f.channel = $channel AND f.ts >= u.assigned_at AND f.ts < u.window_end
    UNION ALL
    SELECT u.contact_id, u.arm, 'marketing_stop' AS kind
    FROM _units AS u
    JOIN consents AS c ON c.contact_id = u.contact_id
    WHERE c.channel = $channel AND c.status = 'revoked' AND c.scope IN ('marketing', 'all')
      AND c.ts >= u.assigned_at AND c.ts < u.window_end
    UNION ALL
    SELECT
        u.contact_id,
        u.arm,
        CASE e.error_code
            WHEN '131050' THEN 'marketing_stop'
            WHEN '131048' THEN 'spam_rate_limited'
            WHEN '131049' THEN 'marketing_cap'
            WHEN '131026' THEN 'undeliverable'
        END AS kind
    FROM _units AS u
    JOIN messages AS m ON m.contact_id = u.contact_id
    JOIN message_events AS e ON e.message_id = m.message_id
    WHERE e.status = 'failed' AND e.error_code IN ('131050', '131048', '131049', '131026')
      AND e.ts >= u.assigned_at AND e.ts < u.window_end
      AND m.channel = $channel
) AS signals
WHERE kind IS NOT NULL
