-- purpose: one send from the send candidates of one message id: values that differ between
--          candidates are resolved on the values themselves (the smallest; the category of
--          the earliest sent status), never on arrival order, so shuffled and duplicated
--          deliveries give the same send; the candidate it is quarantined with (source,
--          location, raw), if it must be, is the earliest one (DuckDB computes the three
--          identical min() once).
-- grain:   a fragment of a select list (no statement): the aggregates of one message id's
--          candidates, 12 columns; the including query groups by message_id
--          (write_shape.sql for every platform, wa_status_only.sql for status-only bodies).
-- reads:   the columns of _c_messages (candidates.sql) of the including query's FROM.
-- params:  none.
any_value(obs_id) AS obs_id,
any_value(channel) AS channel,
min(sender_id) AS sender_id,
min(experiment_id) AS experiment_id,
min(arm) AS arm,
min(campaign_id) AS campaign_id,
min(template) AS template,
arg_min(category, (coalesce(status, 'sent') <> 'sent', sent_at, category))
    FILTER (WHERE category IS NOT NULL) AS category,
coalesce(min(sent_at) FILTER (WHERE coalesce(status, 'sent') = 'sent'), min(sent_at))
    AS sent_at,
min({'sent_at': sent_at, 'source': source, 'location': location, 'raw': raw}).source
    AS source,
min({'sent_at': sent_at, 'source': source, 'location': location, 'raw': raw}).location
    AS location,
min({'sent_at': sent_at, 'source': source, 'location': location, 'raw': raw}).raw AS raw
