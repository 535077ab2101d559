-- purpose: shape the candidate rows of one ingest call into canonical rows: one send per
--          message id, one inbound per message id, one event per natural key, the contact
--          of each row from identity resolution, and why a row has none.
-- grain:   _w_messages one row per message id; _w_inbound one per inbound id; _w_events
--          one per (message_id, status, ts, error_code); _w_consents one per consent key;
--          _w_referrals one per referral message; _w_watermarks one per watermark.
-- params:  none. Several statements. needs: the _c_* tables and views, _obs_contact,
--          _obs_unresolved.
-- Sends come from _c_messages_all, one per message id (_send_aggregates.sql), and from
-- _c_sends, already one per message id (the WhatsApp status-only path, wa_status_only.sql,
-- with the same aggregates; its message ids are in no other candidate).
-- Values that differ between items of one message are resolved on the values themselves
-- (the smallest), never on arrival order, so shuffled and duplicated deliveries give the
-- same rows.
CREATE OR REPLACE TEMP TABLE _w_messages AS
WITH agg AS (
    SELECT message_id,
           -- include: ingest/_send_aggregates
    FROM _c_messages_all
    GROUP BY message_id
    UNION ALL
    SELECT message_id, obs_id, channel, sender_id, experiment_id, arm, campaign_id, template,
           category, sent_at, source, location, raw
    FROM _c_sends
)
SELECT a.message_id, oc.contact_id, a.channel, a.sender_id, a.experiment_id, a.arm,
       a.campaign_id, a.template, a.category, a.sent_at, a.source, a.location, a.raw,
       CASE WHEN oc.contact_id IS NULL
            THEN coalesce(u.reason, 'no recipient identity on the message') END AS reason
FROM agg AS a
LEFT JOIN _obs_contact AS oc ON oc.obs_id = a.obs_id
LEFT JOIN _obs_unresolved AS u ON u.obs_id = a.obs_id;

CREATE OR REPLACE TEMP TABLE _w_inbound AS
WITH agg AS (
    SELECT message_id,
           arg_min(obs_id, (ts, obs_id)) AS obs_id,
           any_value(channel) AS channel,
           arg_min(sender_id, (ts, sender_id)) AS sender_id,
           min(ts) AS ts,
           arg_min(type, (ts, type)) AS type,
           arg_min(context_message_id, (ts, context_message_id)) AS context_message_id,
           any_value(source) AS source,
           any_value(location) AS location,
           any_value(raw) AS raw
    FROM _c_inbound
    GROUP BY message_id
)
SELECT a.message_id, oc.contact_id, a.channel, a.sender_id, a.ts, a.type,
       a.context_message_id, a.source, a.location, a.raw,
       CASE WHEN oc.contact_id IS NULL
            THEN coalesce(u.reason, 'no sender identity on the message') END AS reason
FROM agg AS a
LEFT JOIN _obs_contact AS oc ON oc.obs_id = a.obs_id
LEFT JOIN _obs_unresolved AS u ON u.obs_id = a.obs_id;

-- a view: the writer reads it once, to insert the new events
CREATE OR REPLACE TEMP VIEW _w_events AS
SELECT message_id, status, ts, error_code,
       max(pricing_category) AS pricing_category, bool_or(billable) AS billable
FROM _c_events_all
GROUP BY message_id, status, ts, error_code;

CREATE OR REPLACE TEMP TABLE _w_consents AS
SELECT DISTINCT oc.contact_id, c.channel, c.sender_id, c.scope, c.status, c.ts,
       c.origin AS source_tag, c.source, c.location, c.raw,
       CASE WHEN oc.contact_id IS NULL
            THEN coalesce(u.reason, 'no user identity on the consent event') END AS reason
FROM _c_consents AS c
LEFT JOIN _obs_contact AS oc ON oc.obs_id = c.obs_id
LEFT JOIN _obs_unresolved AS u ON u.obs_id = c.obs_id;

CREATE OR REPLACE TEMP TABLE _w_referrals AS
SELECT r.platform, r.message_id, any_value(oc.contact_id) AS contact_id,
       any_value(r.sender_id) AS sender_id, min(r.ts) AS ts,
       any_value(r.source_type) AS source_type, any_value(r.source_id) AS source_id,
       any_value(r.ctwa_clid) AS ctwa_clid
FROM _c_referrals AS r
LEFT JOIN _obs_contact AS oc ON oc.obs_id = r.obs_id
GROUP BY r.platform, r.message_id;

CREATE OR REPLACE TEMP TABLE _w_watermarks AS
SELECT DISTINCT w.platform, oc.contact_id, w.sender_id, w.status, w.watermark, w.ts,
       w.source, w.location, w.raw,
       CASE WHEN oc.contact_id IS NULL
            THEN coalesce(u.reason, 'no user identity on the watermark') END AS reason
FROM _c_watermarks AS w
LEFT JOIN _obs_contact AS oc ON oc.obs_id = w.obs_id
LEFT JOIN _obs_unresolved AS u ON u.obs_id = w.obs_id;
