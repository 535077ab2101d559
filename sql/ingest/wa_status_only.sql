-- purpose: the status-only path: the sends and identity observations of the statuses that
--          status-only WhatsApp bodies carry (_wa_statuses_status_only, wa_statuses.sql: most
--          traffic), mapped in one pass per message id instead of the general path's
--          observation per message. Status events, quarantine and the raw store are shared
--          with the general path; the rows written are the same (tests/ingest/
--          test_status_path_differential.py).
-- grain:   _wa_status_only_sends (temp view) one send candidate per status; _c_sends one
--          send per message id (the columns of _send_aggregates.sql, then the recipient's
--          identifiers, the observation obs_id names and when they were first named);
--          rows appended to _c_obs, one per (observation, identifier).
-- params:  none. Three statements. needs: _wa_statuses_status_only (wa_statuses.sql), _c_obs.
-- A send names its recipient through one observation. On the general path it is the
-- message's own ('whatsapp:to:' || message_id) and holds every identifier its statuses
-- name. When the statuses of a message name at most one value of each identifier kind
-- (nearly always: one phone, or a phone and its BSUIDs), the observation is instead the one
-- of that combination of values, shared by every message to it: identity resolution then
-- sees one observation per recipient rather than one per message. That gives the same
-- contacts, identities and unresolved reasons: an observation's identifiers are merged into
-- one component either way, a contact's created_at is the earliest time any of them was
-- named (the earliest of those of its messages), and the reason a send has no contact is
-- written from the identifiers of its observation, which are the same. Messages whose
-- statuses name several values of a kind keep their own observation, observed status by
-- status as on the general path.
CREATE OR REPLACE TEMP VIEW _wa_status_only_sends AS
SELECT
    -- include: ingest/_wa_status_send
    ,
    -- include: ingest/_wa_status_recipient
FROM _wa_statuses_status_only
WHERE _wa_to_person(recipient_type);

CREATE OR REPLACE TEMP TABLE _c_sends AS
WITH per_message AS (
    SELECT message_id,
           -- include: ingest/_send_aggregates
           ,
           min(phone) FILTER (WHERE _wa_named(phone)) AS phone_min,
           max(phone) FILTER (WHERE _wa_named(phone)) AS phone_max,
           min(bsuid) FILTER (WHERE _wa_named(bsuid)) AS bsuid_min,
           max(bsuid) FILTER (WHERE _wa_named(bsuid)) AS bsuid_max,
           min(parent_bsuid) FILTER (WHERE _wa_named(parent_bsuid)) AS parent_min,
           max(parent_bsuid) FILTER (WHERE _wa_named(parent_bsuid)) AS parent_max,
           min(sent_at) FILTER (WHERE _wa_named(phone) OR _wa_named(bsuid)
                                      OR _wa_named(parent_bsuid)) AS named_at
    FROM _wa_status_only_sends
    GROUP BY message_id
),
routed AS (
    SELECT *,
           named_at IS NOT NULL AND phone_min IS NOT DISTINCT FROM phone_max
               AND bsuid_min IS NOT DISTINCT FROM bsuid_max
               AND parent_min IS NOT DISTINCT FROM parent_max AS per_recipient
    FROM per_message
)
SELECT message_id,
       CASE WHEN per_recipient
            THEN 'whatsapp:recipient:' || concat_ws(chr(31), coalesce(phone_min, ''),
                                                    coalesce(bsuid_min, ''), coalesce(parent_min, ''))
            ELSE obs_id END AS obs_id,
       channel, sender_id, experiment_id, arm, campaign_id, template, category, sent_at,
       source, location, raw, per_recipient,
       phone_min AS phone, bsuid_min AS bsuid, parent_min AS parent_bsuid, named_at
FROM routed;

INSERT INTO _c_obs
WITH linked AS (
    SELECT obs_id, named_at AS ts, phone, bsuid, parent_bsuid
    FROM _c_sends
    WHERE per_recipient
    UNION ALL
    SELECT obs_id, sent_at, phone, bsuid, parent_bsuid
    FROM _wa_status_only_sends
    WHERE message_id IN (SELECT message_id FROM _c_sends WHERE NOT per_recipient)
)
-- include: ingest/_wa_observations
