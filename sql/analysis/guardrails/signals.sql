-- purpose: every guardrail signal of every analysed unit inside its window, once per kind,
--          on the channel its arm is compared on.
-- grain:   one row per (contact_id, channel, kind); creates temp table
--          _signals(contact_id, arm, channel, kind).
-- params:  $read_arms VARCHAR[] and $read_channels VARCHAR[] (parallel lists: the channels
--          each arm's signals are read on). A treatment arm is read on its own channel;
--          the holdout on every channel a treatment arm sends on, so each cell is compared
--          with the holdout's signals on the same channel.
-- needs:   temp table _units from analysis/units/units.sql.
-- kinds:   block / report / opt_out        from feedback on the channel (Meta has no API for
--                                          WhatsApp blocks and reports: load exports from
--                                          WhatsApp Manager; an SMS STOP or an e-mail
--                                          unsubscribe is an opt_out, an e-mail complaint a
--                                          report, loaded with `threadlift load feedback`);
--          marketing_stop                  consent revoked for marketing (incl. WhatsApp
--                                          user_preferences stop) or a 131050 failure;
--          spam_rate_limited (131048), marketing_cap (131049), undeliverable (131026)
--                                          from failed status events of messages to the unit;
--                                          on SMS and e-mail every failure (a bounce) is
--                                          undeliverable.
CREATE OR REPLACE TEMP TABLE _signals AS
WITH read_on AS (
    SELECT unnest($read_arms) AS arm, unnest($read_channels) AS channel
),
units AS (
    SELECT u.contact_id, u.arm, r.channel, u.assigned_at, u.window_end
    FROM _units AS u
    JOIN read_on AS r ON r.arm = u.arm
),
-- Failed status events are few (a tenth of the log): their messages are found first, so
-- the units are joined to those rather than to every message sent.
failures AS MATERIALIZED (
    SELECT m.contact_id, m.channel, e.error_code, e.ts
    FROM message_events AS e
    JOIN messages AS m ON m.message_id = e.message_id
    WHERE e.status = 'failed' AND m.channel IN (SELECT channel FROM read_on)
      AND (e.error_code IN ('131050', '131048', '131049', '131026') OR m.channel IN ('sms', 'email'))
)
SELECT DISTINCT contact_id, arm, channel, kind
FROM (
    SELECT u.contact_id, u.arm, u.channel, f.kind
    FROM units AS u
    JOIN feedback AS f ON f.contact_id = u.contact_id AND f.channel = u.channel
    WHERE f.ts >= u.assigned_at AND f.ts < u.window_end
    UNION ALL
    SELECT u.contact_id, u.arm, u.channel, 'marketing_stop' AS kind
    FROM units AS u
    JOIN consents AS c ON c.contact_id = u.contact_id AND c.channel = u.channel
    WHERE c.status = 'revoked' AND c.scope IN ('marketing', 'all')
      AND c.ts >= u.assigned_at AND c.ts < u.window_end
    UNION ALL
    SELECT
        u.contact_id,
        u.arm,
        u.channel,
        CASE
            WHEN u.channel IN ('sms', 'email') THEN 'undeliverable'
            WHEN f.error_code = '131050' THEN 'marketing_stop'
            WHEN f.error_code = '131048' THEN 'spam_rate_limited'
            WHEN f.error_code = '131049' THEN 'marketing_cap'
            WHEN f.error_code = '131026' THEN 'undeliverable'
        END AS kind
    FROM units AS u
    JOIN failures AS f ON f.contact_id = u.contact_id AND f.channel = u.channel
    WHERE f.ts >= u.assigned_at AND f.ts < u.window_end
) AS signals
WHERE kind IS NOT NULL
