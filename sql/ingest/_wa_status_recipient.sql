-- purpose: the identifiers a WhatsApp status names for its recipient: the phone
--          (recipient_id, a wa_id), the business-scoped user id and its parent (BSUIDs).
-- grain:   a fragment of a select list (no statement): 3 columns for one status row; read
--          by wa_c_obs.sql (the general path) and wa_status_only.sql (the status-only path).
-- reads:   columns recipient_id, recipient_user_id, recipient_parent_user_id of a
--          _wa_statuses row (wa_statuses.sql).
-- params:  none.
recipient_id AS phone,
recipient_user_id AS bsuid,
recipient_parent_user_id AS parent_bsuid
