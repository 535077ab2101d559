-- purpose: identity observations of WhatsApp items: each identifier an observation names
--          (phone, bsuid, parent_bsuid), with the earliest time it was seen there.
-- grain:   a fragment holding one SELECT (no statement of its own): one row per
--          (observation, identifier) in the columns of _c_obs (candidates.sql); the including
--          statement inserts it (wa_c_obs.sql, wa_status_only.sql).
-- reads:   linked(obs_id, ts, phone, bsuid, parent_bsuid), a CTE of the including query.
-- params:  none.
-- An empty identifier names no one (_wa_named, wa_macros.sql).
SELECT obs_id, 'whatsapp', kind, raw, NULL, min(ts)
FROM (
    SELECT obs_id, ts, 'phone' AS kind, phone AS raw FROM linked
    UNION ALL SELECT obs_id, ts, 'bsuid', bsuid FROM linked
    UNION ALL SELECT obs_id, ts, 'parent_bsuid', parent_bsuid FROM linked
)
WHERE _wa_named(raw)
GROUP BY obs_id, kind, raw
