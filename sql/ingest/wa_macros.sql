-- purpose: the one typed parse of a WhatsApp webhook body, shared by the staging pass
--          (stage_json_lines.sql) and the mapper (wa_heads.sql, wa_statuses.sql).
-- grain:   macros only: _wa_json(body) → the parsed body (NULL when the text is not JSON;
--          a value of another JSON type becomes NULL, as with json_extract_string);
--          _wa_sender(display) → the business number as digits; _wa_status_fields → one
--          status element as a flat struct.
-- params:  none. Several statements (DDL only), run by threadlift.ingest.raw.create_staging
--          at the start of every ingest and rebuild (before staging and the mapper).
-- Fields are read from the parsed struct one nesting level at a time (entry, change, value,
-- status), each level a column of its own CTE: every extraction of a list element copies
-- the nested value below it, so repeating j.entry[1].changes[1]... per field costs more
-- than the parse.
CREATE OR REPLACE TEMP MACRO _wa_json(body) AS
    try(from_json(body, '{"object": "VARCHAR", "entry": [{"id": "VARCHAR", "time": "VARCHAR",
        "changes": [{"field": "VARCHAR",
                     "value": {"metadata": {"display_phone_number": "VARCHAR"},
                               "messages": "JSON", "contacts": "JSON", "errors": "JSON",
                               "statuses": [{"id": "VARCHAR", "status": "VARCHAR",
                                             "timestamp": "VARCHAR", "recipient_id": "VARCHAR",
                                             "recipient_user_id": "VARCHAR",
                                             "recipient_parent_user_id": "VARCHAR",
                                             "recipient_type": "VARCHAR",
                                             "biz_opaque_callback_data": "VARCHAR",
                                             "errors": [{"code": "VARCHAR"}],
                                             "pricing": {"billable": "VARCHAR",
                                                         "type": "VARCHAR",
                                                         "category": "VARCHAR"}}]}}]}]}'));
-- sender_id is the business phone number as digits (metadata.display_phone_number).
CREATE OR REPLACE TEMP MACRO _wa_sender(display) AS
    nullif(regexp_replace(coalesce(display, ''), '[^0-9]', '', 'g'), '');
-- the fields of one status element as plain values (a flat struct is cheaper to store than
-- the nested one): s is a value of statuses[] as _wa_json types it.
CREATE OR REPLACE TEMP MACRO _wa_status_fields(status_only, sender_id, s) AS
    {'status_only': status_only, 'sender_id': sender_id,
     'id': s.id, 'status': s.status, 'timestamp': s.timestamp,
     'recipient_id': s.recipient_id, 'recipient_user_id': s.recipient_user_id,
     'recipient_parent_user_id': s.recipient_parent_user_id,
     'recipient_type': s.recipient_type, 'callback': s.biz_opaque_callback_data,
     'error_code': s.errors[1].code, 'billable': s.pricing.billable,
     'pricing_type': s.pricing.type, 'category': s.pricing.category};
