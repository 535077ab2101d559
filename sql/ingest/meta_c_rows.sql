-- purpose: candidate rows from Messenger / Instagram events: echoes as sends (with a sent
--          event), inbound messages / postbacks / reactions / referrals, delivered and read
--          events per mid, watermarks, opt-in consents, quarantine of unusable events.
-- grain:   one row per candidate into the _c_* tables. Several statements.
-- params:  none. needs: _meta_items.
INSERT INTO _c_obs
SELECT DISTINCT platform || ':' || page_id || ':' || user_id, platform,
       CASE WHEN platform = 'instagram' THEN 'igsid' ELSE 'psid' END, user_id, page_id, ts
FROM _meta_items
WHERE reason IS NULL;

INSERT INTO _c_messages
SELECT mid, platform || ':' || page_id || ':' || user_id, platform, page_id,
       coalesce(_tracking_field(tracking, 'experiment_id'), _tracking_field(tracking, 'experiment')),
       _tracking_field(tracking, 'arm'),
       coalesce(_tracking_field(tracking, 'campaign_id'), _tracking_field(tracking, 'campaign')),
       _tracking_field(tracking, 'template'),
       _tracking_field(tracking, 'category'),
       ts, 'sent', source, location, raw
FROM _meta_items
WHERE reason IS NULL AND kind = 'echo';

INSERT INTO _c_events
SELECT mid, 'sent', ts, NULL, NULL, NULL FROM _meta_items WHERE reason IS NULL AND kind = 'echo'
UNION ALL
SELECT m.mid, 'delivered', i.ts, NULL, NULL, NULL
FROM _meta_items AS i, unnest(i.delivered_mids) AS m(mid)
WHERE i.reason IS NULL AND i.kind = 'delivery'
UNION ALL
SELECT mid, 'read', ts, NULL, NULL, NULL
FROM _meta_items WHERE reason IS NULL AND kind = 'read' AND mid IS NOT NULL;

INSERT INTO _c_watermarks
SELECT platform || ':' || page_id || ':' || user_id, platform, page_id,
       CASE WHEN kind = 'delivery' THEN 'delivered' ELSE 'read' END, watermark, ts,
       source, location, raw
FROM _meta_items
WHERE reason IS NULL AND kind IN ('delivery', 'read') AND watermark IS NOT NULL;

INSERT INTO _c_inbound
SELECT coalesce(mid, kind || ':' || page_id || ':' || user_id || ':' || epoch_ms(ts)),
       platform || ':' || page_id || ':' || user_id, platform, page_id, ts, type, reply_to,
       source, location, raw
FROM _meta_items
WHERE reason IS NULL AND kind IN ('message', 'postback', 'reaction', 'referral');

INSERT INTO _c_referrals
SELECT coalesce(mid, kind || ':' || page_id || ':' || user_id || ':' || epoch_ms(ts)),
       platform || ':' || page_id || ':' || user_id, platform, page_id, ts,
       referral_source, referral_ad_id, NULL
FROM _meta_items
WHERE reason IS NULL AND has_referral;

INSERT INTO _c_consents
SELECT platform || ':' || page_id || ':' || user_id, platform, page_id, 'marketing',
       CASE WHEN optin_status = 'STOP_NOTIFICATIONS' THEN 'revoked' ELSE 'granted' END, ts,
       'messaging_optins', source, location, raw
FROM _meta_items
WHERE reason IS NULL AND kind = 'optin'
  AND (optin_status IS NOT NULL OR optin_type = 'notification_messages' OR optin_token IS NOT NULL);

INSERT INTO _c_platform_events
SELECT platform, account_id, page_id, 'messaging', kind, ts, NULL, NULL, NULL, raw, body_hash
FROM _meta_items
WHERE reason IS NULL AND kind = 'other';

INSERT INTO _c_quarantine
SELECT source, location || ' ' || kind, reason, raw, 'message_events'
FROM _meta_items
WHERE reason IS NOT NULL;
