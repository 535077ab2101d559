-- purpose: the platform-ingest layer: the append-only raw store of webhook bodies, the
--          tables ingest derives beside the canonical ones, and the per-message facts view.
-- grain:   raw_bodies one row per distinct body (platform, body_hash); platform_events one
--          row per account-level webhook change; message_referrals one row per ad / link
--          entry point; read_watermarks one row per Messenger delivery/read watermark;
--          ingest_provenance one row per canonical row ingest added; message_facts one row
--          per outbound message.
-- params:  none. Applied once by threadlift.workspace when schema_version < 3.
-- All times are UTC TIMESTAMP; identifiers VARCHAR.

CREATE TABLE IF NOT EXISTS raw_bodies (
    platform VARCHAR NOT NULL,
    body_hash VARCHAR NOT NULL,       -- md5 of the body text as received (or of the CSV row);
                                      -- md5_number (UHUGEINT) since 008_body_hash_numbers.sql
    received_at TIMESTAMP NOT NULL,   -- when the endpoint received it (default: ingest time)
    source VARCHAR NOT NULL,          -- the file it was read from
    location VARCHAR NOT NULL,        -- where in that file: "line 12", "line 3 [0]", "#failed"
    -- the body as received (a document split out of a multi-line file is re-serialised
    -- compactly); zstd: retried and similar bodies compress well and it writes fastest
    body VARCHAR USING COMPRESSION zstd NOT NULL,
    ingested_at TIMESTAMP NOT NULL,
    seq BIGINT NOT NULL               -- arrival order, for stable rebuilds
);

CREATE TABLE IF NOT EXISTS platform_events (
    platform VARCHAR NOT NULL,
    account_id VARCHAR,               -- WABA / page / Instagram account id (entry.id)
    sender_id VARCHAR,                -- business phone number when the event names one
    field VARCHAR NOT NULL,           -- webhook field: message_template_status_update, account_update…
    event VARCHAR,                    -- APPROVED / PAUSED / YELLOW / MARKETING / ACCOUNT_RESTRICTION…
    ts TIMESTAMP,
    template_id VARCHAR,
    template_name VARCHAR,
    template_language VARCHAR,
    detail VARCHAR,                   -- the change's value as JSON
    body_hash VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS message_referrals (
    platform VARCHAR NOT NULL,
    message_id VARCHAR NOT NULL,      -- the inbound message that carried the referral
    contact_id VARCHAR,
    sender_id VARCHAR,
    ts TIMESTAMP NOT NULL,
    source_type VARCHAR,              -- ad / post / ADS / SHORTLINK…
    source_id VARCHAR,                -- ad id
    ctwa_clid VARCHAR
);

CREATE TABLE IF NOT EXISTS read_watermarks (
    platform VARCHAR NOT NULL,
    contact_id VARCHAR NOT NULL,
    sender_id VARCHAR NOT NULL,       -- the page
    status VARCHAR NOT NULL,          -- delivered / read
    watermark TIMESTAMP NOT NULL,     -- every message sent at or before it has this status
    ts TIMESTAMP NOT NULL             -- when the platform reported it
);

CREATE TABLE IF NOT EXISTS ingest_provenance (
    table_name VARCHAR NOT NULL,
    row_key VARCHAR NOT NULL          -- md5 of the row's natural key (workspace.NATURAL_KEYS)
);

CREATE OR REPLACE VIEW message_facts AS
WITH ev AS (
    SELECT
        message_id,
        min(ts) FILTER (WHERE status = 'sent') AS first_sent_at,
        min(ts) FILTER (WHERE status = 'delivered') AS first_delivered_at,
        min(ts) FILTER (WHERE status = 'read') AS first_read_at,
        min(ts) FILTER (WHERE status = 'played') AS first_played_at,
        min(ts) FILTER (WHERE status = 'failed') AS first_failed_at,
        min(ts) FILTER (WHERE status = 'submitted') AS first_submitted_at,
        arg_min(error_code, ts) FILTER (WHERE status = 'failed') AS error_code,
        arg_min(pricing_category, ts) FILTER (WHERE pricing_category IS NOT NULL)
            AS pricing_category,
        bool_or(billable) AS billable
    FROM message_events
    GROUP BY message_id
),
windows AS (
    SELECT
        m.message_id,
        max(i.ts) AS last_inbound_before_send
    FROM messages AS m
    JOIN inbound AS i
      ON i.contact_id = m.contact_id AND i.channel = m.channel
     AND i.sender_id IS NOT DISTINCT FROM m.sender_id
     AND i.ts <= m.sent_at
    GROUP BY m.message_id
),
entry_points AS (
    -- a free entry point: the user came from an ad / page button, the business answered
    -- within 24 hours, and 72 hours of free messages start at that first answer.
    SELECT
        m.message_id,
        bool_or(m.sent_at >= fa.first_answer_at
                AND m.sent_at < fa.first_answer_at + INTERVAL 72 HOUR) AS fep_window
    FROM messages AS m
    JOIN (
        SELECT r.message_id AS referral_id, r.contact_id, r.sender_id, r.platform,
               min(a.sent_at) AS first_answer_at
        FROM message_referrals AS r
        JOIN messages AS a
          ON a.contact_id = r.contact_id AND a.channel = r.platform
         AND a.sender_id IS NOT DISTINCT FROM r.sender_id
         AND a.sent_at >= r.ts AND a.sent_at < r.ts + INTERVAL 24 HOUR
        GROUP BY ALL
    ) AS fa
      ON fa.contact_id = m.contact_id AND fa.platform = m.channel
     AND fa.sender_id IS NOT DISTINCT FROM m.sender_id
    GROUP BY m.message_id
)
SELECT
    m.message_id,
    m.contact_id,
    m.channel,
    m.sender_id,
    m.experiment_id,
    m.arm,
    m.campaign_id,
    m.template,
    m.category,
    m.sent_at,
    coalesce(ev.first_sent_at, ev.first_submitted_at) AS first_sent_at,
    least(ev.first_delivered_at, ev.first_read_at, ev.first_played_at) AS first_delivered_at,
    least(ev.first_read_at, ev.first_played_at) AS first_read_at,
    ev.first_failed_at,
    CASE
        WHEN ev.first_read_at IS NOT NULL OR ev.first_played_at IS NOT NULL THEN 'read'
        WHEN ev.first_delivered_at IS NOT NULL THEN 'delivered'
        WHEN ev.first_failed_at IS NOT NULL THEN 'failed'
        WHEN ev.first_sent_at IS NOT NULL THEN 'sent'
        WHEN ev.first_submitted_at IS NOT NULL THEN 'submitted'
        ELSE 'unknown'
    END AS final_state,
    ev.error_code,
    coalesce(w.last_inbound_before_send >= m.sent_at - INTERVAL 24 HOUR, false)
        AS service_window_open,
    w.last_inbound_before_send,
    coalesce(ep.fep_window, false) OR coalesce(ev.pricing_category = 'referral_conversion', false)
        AS free_entry_point,
    CASE WHEN ev.billable THEN ev.pricing_category END AS billed_category,
    ev.pricing_category,
    coalesce(ev.billable, false) AS billable
FROM messages AS m
LEFT JOIN ev ON ev.message_id = m.message_id
LEFT JOIN windows AS w ON w.message_id = m.message_id
LEFT JOIN entry_points AS ep ON ep.message_id = m.message_id;
