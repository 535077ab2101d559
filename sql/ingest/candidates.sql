-- purpose: the candidate tables every platform mapper fills and the writer turns into
--          canonical rows, plus the helper macros the mappers share.
-- grain:   _c_obs one row per (observation, identifier): identifiers seen together belong
--          to one person; the other _c_* tables one row per candidate canonical row.
--          _c_messages_all and _c_events_all are what the writer reads: views of _c_messages
--          and _c_events, which a mapper with many sends replaces by a view that also
--          reads its parsed items in place (wa_c_rows.sql), saving a copy of each.
-- params:  none. Several statements (DDL only), run once per ingest call.
CREATE OR REPLACE TEMP TABLE _c_obs (
    obs_id VARCHAR, channel VARCHAR, kind VARCHAR, raw VARCHAR, scope VARCHAR, ts TIMESTAMP);
CREATE OR REPLACE TEMP TABLE _c_messages (
    message_id VARCHAR, obs_id VARCHAR, channel VARCHAR, sender_id VARCHAR,
    experiment_id VARCHAR, arm VARCHAR, campaign_id VARCHAR, template VARCHAR,
    category VARCHAR, sent_at TIMESTAMP, status VARCHAR,
    source VARCHAR, location VARCHAR, raw VARCHAR);
CREATE OR REPLACE TEMP TABLE _c_events (
    message_id VARCHAR, status VARCHAR, ts TIMESTAMP, error_code VARCHAR,
    pricing_category VARCHAR, billable BOOLEAN);
CREATE OR REPLACE TEMP VIEW _c_messages_all AS SELECT * FROM _c_messages;
-- sends a mapper has already made one per message id (the columns of _send_aggregates.sql:
-- the WhatsApp status-only path, wa_status_only.sql); no other candidate names their ids.
CREATE OR REPLACE TEMP TABLE _c_sends (
    message_id VARCHAR, obs_id VARCHAR, channel VARCHAR, sender_id VARCHAR,
    experiment_id VARCHAR, arm VARCHAR, campaign_id VARCHAR, template VARCHAR,
    category VARCHAR, sent_at TIMESTAMP, source VARCHAR, location VARCHAR, raw VARCHAR);
CREATE OR REPLACE TEMP VIEW _c_events_all AS SELECT * FROM _c_events;
CREATE OR REPLACE TEMP TABLE _c_inbound (
    message_id VARCHAR, obs_id VARCHAR, channel VARCHAR, sender_id VARCHAR, ts TIMESTAMP,
    type VARCHAR, context_message_id VARCHAR, source VARCHAR, location VARCHAR, raw VARCHAR);
CREATE OR REPLACE TEMP TABLE _c_consents (
    obs_id VARCHAR, channel VARCHAR, sender_id VARCHAR, scope VARCHAR, status VARCHAR,
    ts TIMESTAMP, origin VARCHAR, source VARCHAR, location VARCHAR, raw VARCHAR);
CREATE OR REPLACE TEMP TABLE _c_sender_quality (
    sender_id VARCHAR, ts TIMESTAMP, quality_rating VARCHAR, messaging_limit_tier VARCHAR,
    event VARCHAR);
CREATE OR REPLACE TEMP TABLE _c_platform_events (
    platform VARCHAR, account_id VARCHAR, sender_id VARCHAR, field VARCHAR, event VARCHAR,
    ts TIMESTAMP, template_id VARCHAR, template_name VARCHAR, template_language VARCHAR,
    detail VARCHAR, body_hash UHUGEINT);
CREATE OR REPLACE TEMP TABLE _c_referrals (
    message_id VARCHAR, obs_id VARCHAR, platform VARCHAR, sender_id VARCHAR, ts TIMESTAMP,
    source_type VARCHAR, source_id VARCHAR, ctwa_clid VARCHAR);
CREATE OR REPLACE TEMP TABLE _c_watermarks (
    obs_id VARCHAR, platform VARCHAR, sender_id VARCHAR, status VARCHAR,
    watermark TIMESTAMP, ts TIMESTAMP, source VARCHAR, location VARCHAR, raw VARCHAR);
CREATE OR REPLACE TEMP TABLE _c_quarantine (
    source VARCHAR, location VARCHAR, reason VARCHAR, raw VARCHAR, target_table VARCHAR);
-- a field of the tracking data a sender stamps on a send (WhatsApp
-- biz_opaque_callback_data, Messenger metadata): a JSON object or key=value&key=value.
CREATE OR REPLACE TEMP MACRO _tracking_field(data, key) AS
    CASE WHEN data IS NULL THEN NULL
         WHEN starts_with(ltrim(data), '{') AND json_valid(data) THEN data ->> key
         ELSE nullif(regexp_extract(data, '(?:^|[&;])' || key || '=([^&;]*)', 1), '') END;
