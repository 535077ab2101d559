-- purpose: the one typed parse of a WhatsApp webhook body, shared by the staging pass
--          (stage_json_lines.sql) and the mapper (wa_heads.sql, wa_statuses.sql).
-- grain:   macros only: _wa_json(body) → the parsed body (NULL when the text is not JSON;
--          a value of another JSON type becomes NULL, as with json_extract_string);
--          _wa_sender(display) → the business number as digits; _wa_status_row → one
--          status element as the typed, checked row of _wa_statuses (wa_statuses.sql);
--          _wa_status_schema() → the from_json structure of one status element, written
--          once for the body parse and for statuses split out of other bodies;
--          _wa_to_person(recipient_type) → whether a status is about a person (not a group);
--          _wa_named(raw) → whether an identifier value names anyone.
-- params:  none. Several statements (DDL only), run by threadlift.ingest.raw.create_staging
--          at the start of every ingest and rebuild (before staging and the mapper).
-- Fields are read from the parsed struct one nesting level at a time (entry, change, value,
-- status), each level a column of its own CTE: every extraction of a list element copies
-- the nested value below it, so repeating j.entry[1].changes[1]... per field costs more
-- than the parse.
-- (a constant: DuckDB folds the concatenations below before from_json binds its structure)
CREATE OR REPLACE TEMP MACRO _wa_status_schema() AS
    '{"id": "VARCHAR", "status": "VARCHAR", "timestamp": "VARCHAR", "recipient_id": "VARCHAR",
      "recipient_user_id": "VARCHAR", "recipient_parent_user_id": "VARCHAR",
      "recipient_type": "VARCHAR", "biz_opaque_callback_data": "VARCHAR",
      "errors": [{"code": "VARCHAR"}],
      "pricing": {"billable": "VARCHAR", "type": "VARCHAR", "category": "VARCHAR"}}';
CREATE OR REPLACE TEMP MACRO _wa_json(body) AS
    try(from_json(body, '{"object": "VARCHAR", "entry": [{"id": "VARCHAR", "time": "VARCHAR",
        "changes": [{"field": "VARCHAR",
                     "value": {"metadata": {"display_phone_number": "VARCHAR"},
                               "messages": "JSON", "contacts": "JSON", "errors": "JSON",
                               "message_echoes": "JSON",
                               "statuses": [' || _wa_status_schema() || ']}}]}]}'));
-- whether a status names the person it went to: a status to a group (recipient_type
-- "group") names the group, so it gives neither an identity observation nor a send row
-- (its status event is kept).
CREATE OR REPLACE TEMP MACRO _wa_to_person(recipient_type) AS
    coalesce(recipient_type, '') <> 'group';
-- whether an identifier value names anyone (an empty one does not).
CREATE OR REPLACE TEMP MACRO _wa_named(raw) AS coalesce(raw, '') <> '';
-- sender_id is the business phone number as digits (metadata.display_phone_number).
CREATE OR REPLACE TEMP MACRO _wa_sender(display) AS
    nullif(regexp_replace(coalesce(display, ''), '[^0-9]', '', 'g'), '');
-- one status element as the row _wa_statuses keeps (a flat struct: cheaper to store than the
-- nested one): s is a value of statuses[] as _wa_json types it. Unix-second strings become
-- UTC timestamps; pricing.category is normalised (lower case, authentication-international
-- in either spelling counts as authentication); billable falls back to pricing.type when
-- absent; reason says why the status cannot be used (NULL when it can).
CREATE OR REPLACE TEMP MACRO _wa_status_row(sender_id, s) AS
    {'sender_id': sender_id, 'message_id': s.id, 'status': s.status,
     'ts': make_timestamp(TRY_CAST(s.timestamp AS BIGINT) * 1000000),
     'recipient_id': s.recipient_id, 'recipient_user_id': s.recipient_user_id,
     'recipient_parent_user_id': s.recipient_parent_user_id,
     'recipient_type': s.recipient_type, 'callback': s.biz_opaque_callback_data,
     'error_code': s.errors[1].code,
     'pricing_category':
         CASE WHEN replace(lower(s.pricing.category), '-', '_') = 'authentication_international'
              THEN 'authentication' ELSE lower(s.pricing.category) END,
     'billable': CASE WHEN s.pricing.billable IN ('true', 'false') THEN s.pricing.billable::BOOLEAN
                      WHEN s.pricing.type = 'regular' THEN true
                      WHEN s.pricing.type LIKE 'free%' THEN false END,
     'reason': CASE
         WHEN coalesce(s.id, '') = '' THEN 'status without an id'
         WHEN s.status IS NULL THEN 'status without a "status" value'
         WHEN s.status NOT IN ('sent', 'delivered', 'read', 'failed', 'played')
             THEN 'unknown status "' || s.status
                  || '"; expected sent, delivered, read, failed or played'
         WHEN TRY_CAST(s.timestamp AS BIGINT) IS NULL
             THEN 'timestamp ' || coalesce('"' || s.timestamp || '"', 'missing')
                  || ' is not Unix seconds'
     END};
