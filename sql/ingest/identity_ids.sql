-- purpose: the normalised identifiers of every observation: E.164 phones, lower-case
--          e-mail addresses, opaque ids as given; page-scoped kinds keep their page. In a
--          pseudonymised workspace an e-mail arrives as its token tl~~<hmac>
--          (threadlift.privacy.pseudonyms), already normalised; phones are in _phone_norm.
-- grain:   one row per (observation, identifier) (temp table _ids); ident NULL when the
--          identifier is unusable (a phone number that is not possible).
-- params:  none. needs: _c_obs, _phone_norm.
CREATE OR REPLACE TEMP TABLE _ids AS
WITH normalised AS (
    SELECT o.obs_id, o.channel, o.kind, o.raw, o.ts,
           CASE WHEN o.kind = 'phone' THEN p.e164
                WHEN o.kind = 'email'
                THEN CASE WHEN o.raw LIKE '%_@_%' OR regexp_full_match(o.raw, 'tl~~[0-9a-f]{64}')
                          THEN lower(trim(o.raw)) END
                ELSE trim(o.raw) END AS address,
           CASE WHEN o.kind IN ('psid', 'igsid', 'apple') THEN o.scope END AS scope,
           CASE WHEN o.kind = 'phone' THEN p.region
                WHEN o.kind IN ('bsuid', 'parent_bsuid')
                     AND regexp_full_match(split_part(o.raw, '.', 1), '[A-Z]{2}')
                THEN split_part(o.raw, '.', 1) END AS market,
           CASE o.kind WHEN 'phone' THEN 0 WHEN 'email' THEN 0 WHEN 'parent_bsuid' THEN 2 ELSE 1 END
               AS kind_rank
    FROM _c_obs AS o
    LEFT JOIN _phone_norm AS p ON o.kind = 'phone' AND p.raw = o.raw
)
SELECT *,
       CASE WHEN address IS NOT NULL
            THEN channel || chr(31) || coalesce(scope, '') || chr(31) || address END AS ident
FROM normalised;
