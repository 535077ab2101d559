-- purpose: a WhatsApp status as the send candidate it implies (a send is the earliest of its
--          statuses; WhatsApp has no send webhook): the tracking fields read from
--          biz_opaque_callback_data, the pricing category, the status time as sent_at.
-- grain:   a fragment of a select list (no statement): the 14 columns of _c_messages, in
--          order, for one status row; read by wa_c_rows.sql (_c_messages_all, the general
--          path) and wa_status_only.sql (the status-only path).
-- reads:   columns message_id, sender_id, callback, pricing_category, ts, status, source,
--          location, raw of a _wa_statuses row (wa_statuses.sql).
-- params:  none.
message_id,
'whatsapp:to:' || message_id AS obs_id,
'whatsapp' AS channel,
sender_id,
coalesce(_tracking_field(callback, 'experiment_id'), _tracking_field(callback, 'experiment'))
    AS experiment_id,
_tracking_field(callback, 'arm') AS arm,
coalesce(_tracking_field(callback, 'campaign_id'), _tracking_field(callback, 'campaign'))
    AS campaign_id,
_tracking_field(callback, 'template') AS template,
pricing_category AS category,
ts AS sent_at,
status,
source,
location,
raw
