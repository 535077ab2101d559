-- purpose: what each arm's experiment messages cost, by the category actually billed.
-- grain:   one row per (arm, category, currency); currency NULL when no rate applies.
-- params:  $experiment_id VARCHAR.
-- needs:   temp table _units from outcomes/units.sql.
-- A message is billed when its status webhook says billable = true; when no status
-- reported billable, a delivered (or read) message is billed. The category is the
-- webhook's pricing category when present, else the send's category. The price is the
-- rate card row for (channel, contact market, category) with the latest valid_from at or
-- before the send (ASOF join), so a mid-experiment price change applies from its date.
WITH sends AS (
    SELECT u.arm, m.message_id, m.channel, m.category, m.sent_at, c.market
    FROM _units AS u
    JOIN messages AS m ON m.contact_id = u.contact_id
    LEFT JOIN contacts AS c ON c.contact_id = u.contact_id
    WHERE m.experiment_id = $experiment_id
      AND m.sent_at >= u.assigned_at AND m.sent_at < u.window_end
),
billing AS (
    SELECT
        e.message_id,
        bool_or(e.billable) AS billable,
        bool_or(e.status IN ('delivered', 'read')) AS delivered,
        max(e.pricing_category) AS pricing_category
    FROM message_events AS e
    WHERE e.message_id IN (SELECT message_id FROM sends)
    GROUP BY e.message_id
),
priced AS (
    SELECT
        s.arm,
        s.channel,
        s.market,
        s.sent_at,
        coalesce(b.pricing_category, s.category) AS category,
        coalesce(b.billable, b.delivered, false) AS billed
    FROM sends AS s
    LEFT JOIN billing AS b ON b.message_id = s.message_id
)
SELECT
    p.arm,
    p.category,
    r.currency,
    count(*) FILTER (WHERE p.billed) AS messages_billed,
    coalesce(fsum(r.price) FILTER (WHERE p.billed), 0.0) AS cost,
    count(*) FILTER (WHERE p.billed AND r.price IS NULL) AS unpriced
FROM priced AS p
ASOF LEFT JOIN rate_card AS r
    ON r.channel = p.channel AND r.market = p.market AND r.category = p.category
    AND p.sent_at >= r.valid_from
GROUP BY p.arm, p.category, r.currency
ORDER BY p.arm, p.category, r.currency
