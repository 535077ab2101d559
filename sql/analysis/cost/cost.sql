-- purpose: what each arm's experiment messages cost, by the category actually billed.
-- grain:   one row per (arm, channel, category, currency); currency NULL when no rate applies.
-- params:  $calling_codes VARCHAR[] and $calling_regions VARCHAR[]
--          (parallel lists: E.164 country calling code -> market, from phonenumbers).
-- needs:   temp table _sends from analysis/units/sends.sql (its last_inbound_at gives the window;
--          its billable, pricing_category and delivered_at summarise the status webhooks)
--          and temp table _free_entry (analysis/cost/free_entry_points.sql: the sends inside a
--          free-entry-point window).
--
-- Market: the country of the contact's E.164 address on the message's channel (calling
-- codes are prefix-free, so exactly one of the 1-, 2- or 3-digit prefixes matches); the
-- contact's `market` when it has no E.164 address on that channel.
-- Whether a message is billed: only a delivered message (a `delivered` or `read` status;
-- read implies delivered) is ever charged, so a failure is never billed, whatever its
-- `sent` status said (131049, 130472, 131026 … arrive after a `sent` with
-- `billable: true`). A failure after a delivery does not undo the charge: WhatsApp charges
-- on delivery. Other channels (sms, email): a message is charged unless it failed without
-- being delivered. A delivered WhatsApp message is charged unless, first rule that applies:
--   1. the platform's word: a status webhook with `billable` (WhatsApp pricing object;
--      ingest derives it from pricing.type when `billable` itself is absent) says false;
--   2. a status webhook's pricing category is `referral_conversion` (a free-entry-point
--      conversation under conversation-based pricing);
--   3. WhatsApp rules by date, when no webhook said:
--      a. free entry point (the sends in _free_entry; see analysis/cost/free_entry_points.sql);
--      b. non-template `service` messages are free from 2024-11-01 until 2026-10-01;
--      c. utility templates inside an open 24-hour customer-service window (an inbound
--         from the contact to the sender in the 24 hours before the send) are free from
--         2025-07-01 until 2026-10-01.
-- messages_free_entry_point counts the messages rule 3a made free.
-- The category is the webhook's pricing category when present, else the send's category.
-- The price is the rate card row for (channel, market, category) with the latest
-- valid_from at or before the send: a mid-experiment price change applies from its date.
-- Each rate row is valid until the next one of its key (a range join against the few
-- rate rows: much faster than an ASOF join, which sorts every send); of rows sharing a
-- key and valid_from, the highest price is used.
WITH codes AS (
    SELECT unnest($calling_codes) AS code, unnest($calling_regions) AS region
),
sends AS (
    SELECT message_id, arm, contact_id, channel, sender_id, category, sent_at, last_inbound_at,
           billable, delivered_at IS NOT NULL AS delivered,
           failed_at IS NOT NULL AND delivered_at IS NULL AS failed, pricing_category
    FROM _sends
),
addresses AS (
    SELECT contact_id, channel, min(regexp_replace(address, '[^0-9]', '', 'g')) AS digits
    FROM identities
    WHERE channel IN ('whatsapp', 'sms') AND starts_with(address, '+')
      AND contact_id IN (SELECT contact_id FROM sends)
    GROUP BY contact_id, channel
),
markets AS (
    SELECT
        s.message_id,
        coalesce(c3.region, c2.region, c1.region, ct.market) AS market
    FROM sends AS s
    LEFT JOIN addresses AS a ON a.contact_id = s.contact_id AND a.channel = s.channel
    LEFT JOIN codes AS c1 ON c1.code = substr(a.digits, 1, 1)
    LEFT JOIN codes AS c2 ON c2.code = substr(a.digits, 1, 2)
    LEFT JOIN codes AS c3 ON c3.code = substr(a.digits, 1, 3)
    LEFT JOIN contacts AS ct ON ct.contact_id = s.contact_id
),
rates AS (
    SELECT
        channel, market, category, price, currency, valid_from,
        lead(valid_from) OVER (
            PARTITION BY channel, market, category ORDER BY valid_from
        ) AS valid_to
    FROM (
        SELECT *, row_number() OVER (
            PARTITION BY channel, market, category, valid_from ORDER BY price DESC, currency
        ) AS duplicate
        FROM rate_card
    ) AS deduplicated
    WHERE duplicate = 1
),
priced AS (
    SELECT
        s.arm,
        s.channel,
        mk.market,
        s.sent_at,
        coalesce(s.pricing_category, s.category) AS category,
        s.billable IS NULL AND coalesce(s.pricing_category, '') <> 'referral_conversion'
            AND s.channel = 'whatsapp' AND s.delivered AND fe.message_id IS NOT NULL
            AS free_entry_point,
        CASE
            WHEN s.channel <> 'whatsapp' THEN NOT s.failed
            WHEN NOT s.delivered THEN false
            WHEN s.billable IS NOT NULL THEN s.billable
            WHEN s.pricing_category = 'referral_conversion' THEN false
            WHEN fe.message_id IS NOT NULL THEN false
            WHEN coalesce(s.pricing_category, s.category) = 'service'
                 AND s.sent_at >= TIMESTAMP '2024-11-01' AND s.sent_at < TIMESTAMP '2026-10-01'
                THEN false
            WHEN coalesce(s.pricing_category, s.category) = 'utility'
                 AND s.last_inbound_at > s.sent_at - INTERVAL 24 HOUR
                 AND s.sent_at >= TIMESTAMP '2025-07-01' AND s.sent_at < TIMESTAMP '2026-10-01'
                THEN false
            ELSE true
        END AS billed
    FROM sends AS s
    LEFT JOIN markets AS mk ON mk.message_id = s.message_id
    LEFT JOIN _free_entry AS fe ON fe.message_id = s.message_id
)
SELECT
    p.arm,
    p.channel,
    p.category,
    r.currency,
    count(*) AS messages,
    count(*) FILTER (WHERE p.billed) AS messages_billed,
    count(*) FILTER (WHERE p.free_entry_point) AS messages_free_entry_point,
    coalesce(fsum(r.price) FILTER (WHERE p.billed), 0.0) AS cost,
    count(*) FILTER (WHERE p.billed AND r.price IS NULL) AS unpriced
FROM priced AS p
LEFT JOIN rates AS r
    ON r.channel = p.channel AND r.market = p.market AND r.category = p.category
    AND p.sent_at >= r.valid_from AND (r.valid_to IS NULL OR p.sent_at < r.valid_to)
GROUP BY p.arm, p.channel, p.category, r.currency
ORDER BY p.arm, p.channel, p.category, r.currency
