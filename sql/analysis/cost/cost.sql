-- purpose: what each arm's experiment messages cost, by the category actually billed.
-- grain:   one row per (arm, channel, category, currency); currency NULL when no rate applies.
-- params:  $calling_codes VARCHAR[] and $calling_regions VARCHAR[]
--          (parallel lists: E.164 country calling code -> market, from phonenumbers);
--          the pricing rules, as parallel lists (threadlift.analysis.cost.pricing_rules: the
--          shipped sql/analysis/cost/pricing_rules.csv, overridden by the workspace's
--          pricing_rules table): $rule_channels, $rule_categories, $rule_markets (NULL:
--          every market), $rule_applies ('always' | 'in_service_window'), $rule_effects
--          ('free' | 'blocked'), $rule_valid_from, $rule_valid_to (NULL: open) TIMESTAMP[].
-- needs:   temp table _sends from analysis/units/sends.sql (its last_inbound_at gives the window;
--          its billable, pricing_category, delivered_at and failed_at summarise the status
--          webhooks) and temp table _free_entry (analysis/cost/free_entry_points.sql: the
--          sends inside a free-entry-point window).
--
-- Market: the country of the contact's E.164 address on the message's channel (calling
-- codes are prefix-free, so exactly one of the 1-, 2- or 3-digit prefixes matches); the
-- contact's `market` when it has no E.164 address on that channel.
-- Whether a message is billed: only a delivered message (a `delivered` or `read` status;
-- read implies delivered) is ever charged, so a failure is never billed, whatever its
-- `sent` status said (131049, 130472, 131026 … arrive after a `sent` with
-- `billable: true`). A failure after a delivery does not undo the charge: WhatsApp charges
-- on delivery. Other channels (sms, email): a message is charged unless it failed without
-- being delivered (or a pricing rule of its channel makes it free, 3b). A delivered
-- WhatsApp message is charged unless, first rule that applies:
--   1. the platform's word: a status webhook with `billable` (WhatsApp pricing object;
--      ingest derives it from pricing.type when `billable` itself is absent) says false;
--   2. a status webhook's pricing category is `referral_conversion` (a free-entry-point
--      conversation under conversation-based pricing);
--   3. when no webhook said:
--      a. free entry point (the sends in _free_entry; see analysis/cost/free_entry_points.sql);
--      b. a pricing rule with effect 'free' covers it: its channel, billed category and
--         market (or every market), sent in [valid_from, valid_to), and, for
--         'in_service_window', an inbound from the contact to the sender in the 24 hours
--         before the send (the shipped rules: service messages free from 2024-11-01 and
--         utility templates inside the window from 2025-07-01, both until 2026-10-01).
-- A rule with effect 'blocked' (marketing templates to US numbers since 2025-04-01) bills
-- nothing itself: such messages are not delivered; blocked_delivered counts those a
-- status nevertheless said were delivered (a market or status to check).
-- messages_free_entry_point counts the messages rule 3a made free.
-- The category is the webhook's pricing category when present, else the send's category.
-- The price is the rate card row for (channel, market, category) with the latest
-- valid_from at or before the send: a mid-experiment price change applies from its date
-- (rows of a key are valid until the key's next valid_from; of rows sharing a key,
-- valid_from and tier, the highest price is used). A rate row with tier bounds applies
-- to the messages whose rank among the sender's billed messages of the channel, market
-- and category in the calendar month (UTC), by send time, is within
-- [tier_lower, tier_upper]. That volume counts all the sender's messages of the month in
-- `messages`, not only the experiment's, billed by the same rules (without the
-- free-entry-point rule, which is computed for the experiment's messages only); it is
-- computed only for the keys the rate card tiers.
WITH codes AS (
    SELECT unnest($calling_codes) AS code, unnest($calling_regions) AS region
),
rule_lists AS (
    SELECT
        unnest($rule_channels) AS channel,
        unnest($rule_categories) AS category,
        unnest($rule_markets) AS market,
        unnest($rule_applies) AS applies,
        unnest($rule_effects) AS effect,
        unnest($rule_valid_from) AS valid_from,
        unnest($rule_valid_to) AS valid_to
),
rules AS (
    -- typed here: a list of NULLs (no rule names a market, none ends) has no type of its own
    SELECT channel, category, CAST(market AS VARCHAR) AS market, applies, effect,
           CAST(valid_from AS TIMESTAMP) AS valid_from, CAST(valid_to AS TIMESTAMP) AS valid_to
    FROM rule_lists
),
tiered AS (
    SELECT DISTINCT channel, market, category
    FROM rate_card
    WHERE tier_lower IS NOT NULL OR tier_upper IS NOT NULL
),
experiment_sends AS (
    SELECT
        s.message_id, s.arm, s.contact_id, s.channel, s.sender_id, s.category, s.sent_at,
        s.last_inbound_at, s.billable, s.pricing_category,
        s.delivered_at IS NOT NULL AS delivered,
        s.failed_at IS NOT NULL AND s.delivered_at IS NULL AS failed,
        fe.message_id IS NOT NULL AS in_free_entry,
        true AS in_experiment
    FROM _sends AS s
    LEFT JOIN _free_entry AS fe ON fe.message_id = s.message_id
),
-- the sender's other messages of a tiered channel in the months the experiment sent in:
-- they count toward its monthly volume
volume_messages AS (
    SELECT m.message_id, m.contact_id, m.channel, m.sender_id, m.category, m.sent_at
    FROM messages AS m
    WHERE m.channel IN (SELECT channel FROM tiered)
      AND m.sender_id IN (SELECT sender_id FROM _sends)
      AND date_trunc('month', m.sent_at) IN (
          SELECT date_trunc('month', sent_at) FROM _sends
      )
      AND m.message_id NOT IN (SELECT message_id FROM _sends)
),
volume_status AS (
    SELECT
        e.message_id,
        min(e.ts) FILTER (WHERE e.status IN ('delivered', 'read')) AS delivered_at,
        min(e.ts) FILTER (WHERE e.status = 'failed') AS failed_at,
        bool_or(e.billable) AS billable,
        max(e.pricing_category) AS pricing_category
    FROM message_events AS e
    WHERE e.message_id IN (SELECT message_id FROM volume_messages)
    GROUP BY e.message_id
),
volume_sends AS (
    SELECT
        v.message_id, CAST(NULL AS VARCHAR) AS arm, v.contact_id, v.channel, v.sender_id,
        v.category, v.sent_at, i.ts AS last_inbound_at, st.billable, st.pricing_category,
        st.delivered_at IS NOT NULL AS delivered,
        st.failed_at IS NOT NULL AND st.delivered_at IS NULL AS failed,
        false AS in_free_entry,
        false AS in_experiment
    FROM volume_messages AS v
    ASOF LEFT JOIN inbound AS i
        ON i.contact_id = v.contact_id AND i.channel = v.channel
        AND coalesce(i.sender_id, '') = coalesce(v.sender_id, '')
        AND v.sent_at >= i.ts
    LEFT JOIN volume_status AS st ON st.message_id = v.message_id
),
sends AS (
    SELECT * FROM experiment_sends
    UNION ALL
    SELECT * FROM volume_sends
),
addresses AS (
    SELECT contact_id, channel, min(regexp_replace(address, '[^0-9]', '', 'g')) AS digits
    FROM identities
    WHERE channel IN ('whatsapp', 'sms') AND starts_with(address, '+')
      AND contact_id IN (SELECT contact_id FROM sends)
    GROUP BY contact_id, channel
),
facts AS (
    SELECT
        s.*,
        coalesce(s.pricing_category, s.category) AS billed_category,
        coalesce(c3.region, c2.region, c1.region, ct.market) AS market
    FROM sends AS s
    LEFT JOIN addresses AS a ON a.contact_id = s.contact_id AND a.channel = s.channel
    LEFT JOIN codes AS c1 ON c1.code = substr(a.digits, 1, 1)
    LEFT JOIN codes AS c2 ON c2.code = substr(a.digits, 1, 2)
    LEFT JOIN codes AS c3 ON c3.code = substr(a.digits, 1, 3)
    LEFT JOIN contacts AS ct ON ct.contact_id = s.contact_id
),
rule_hits AS (
    SELECT
        f.message_id,
        bool_or(r.effect = 'free') AS free_by_rule,
        bool_or(r.effect = 'blocked') AS blocked
    FROM facts AS f
    JOIN rules AS r
      ON r.channel = f.channel AND r.category = f.billed_category
     AND (r.market IS NULL OR r.market = f.market)
     AND f.sent_at >= r.valid_from AND (r.valid_to IS NULL OR f.sent_at < r.valid_to)
     AND (r.applies = 'always'
          OR (r.applies = 'in_service_window'
              AND f.last_inbound_at > f.sent_at - INTERVAL 24 HOUR))
    GROUP BY f.message_id
),
billing AS (
    SELECT
        f.*,
        f.billable IS NULL AND coalesce(f.pricing_category, '') <> 'referral_conversion'
            AND f.channel = 'whatsapp' AND f.delivered AND f.in_free_entry
            AS free_entry_point,
        coalesce(h.blocked, false) AND f.delivered AS blocked_delivered,
        CASE
            WHEN f.channel = 'whatsapp' AND NOT f.delivered THEN false
            WHEN f.failed THEN false
            WHEN f.billable IS NOT NULL THEN f.billable
            WHEN f.pricing_category = 'referral_conversion' THEN false
            WHEN f.in_free_entry THEN false
            WHEN coalesce(h.free_by_rule, false) THEN false
            ELSE true
        END AS billed
    FROM facts AS f
    LEFT JOIN rule_hits AS h ON h.message_id = f.message_id
),
volume_ranks AS (
    SELECT
        b.message_id,
        row_number() OVER (
            PARTITION BY b.sender_id, b.channel, b.market, b.billed_category,
                         date_trunc('month', b.sent_at)
            ORDER BY b.sent_at, b.message_id
        ) AS volume_rank
    FROM billing AS b
    JOIN tiered AS t
      ON t.channel = b.channel AND t.market = b.market AND t.category = b.billed_category
    WHERE b.billed
),
priced AS (
    SELECT b.*, vr.volume_rank
    FROM billing AS b
    LEFT JOIN volume_ranks AS vr ON vr.message_id = b.message_id
    WHERE b.in_experiment
),
rate_rows AS (
    SELECT *
    FROM (
        SELECT *, row_number() OVER (
            PARTITION BY channel, market, category, valid_from, tier_lower
            ORDER BY price DESC, currency
        ) AS duplicate
        FROM rate_card
    ) AS deduplicated
    WHERE duplicate = 1
),
rate_versions AS (
    SELECT
        channel, market, category, valid_from,
        lead(valid_from) OVER (
            PARTITION BY channel, market, category ORDER BY valid_from
        ) AS valid_to
    FROM (SELECT DISTINCT channel, market, category, valid_from FROM rate_card) AS starts
),
rates AS (
    SELECT r.channel, r.market, r.category, r.price, r.currency, r.valid_from, v.valid_to,
           r.tier_lower, r.tier_upper
    FROM rate_rows AS r
    JOIN rate_versions AS v
      ON v.channel = r.channel AND v.market = r.market AND v.category = r.category
     AND v.valid_from = r.valid_from
)
SELECT
    p.arm,
    p.channel,
    p.billed_category AS category,
    r.currency,
    count(*) AS messages,
    count(*) FILTER (WHERE p.billed) AS messages_billed,
    count(*) FILTER (WHERE p.free_entry_point) AS messages_free_entry_point,
    coalesce(fsum(r.price) FILTER (WHERE p.billed), 0.0) AS cost,
    count(*) FILTER (WHERE p.billed AND r.price IS NULL) AS unpriced,
    count(*) FILTER (WHERE p.blocked_delivered) AS blocked_delivered
FROM priced AS p
LEFT JOIN rates AS r
    ON r.channel = p.channel AND r.market = p.market AND r.category = p.billed_category
    AND p.sent_at >= r.valid_from AND (r.valid_to IS NULL OR p.sent_at < r.valid_to)
    -- a message not billed has no rank; it takes the first tier's row (for its currency)
    AND (r.tier_lower IS NULL OR coalesce(p.volume_rank, 1) >= r.tier_lower)
    AND (r.tier_upper IS NULL OR coalesce(p.volume_rank, 1) <= r.tier_upper)
GROUP BY p.arm, p.channel, p.billed_category, r.currency
ORDER BY p.arm, p.channel, p.billed_category, r.currency
