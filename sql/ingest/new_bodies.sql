-- purpose: the good staged bodies not yet in the raw store, first occurrence only.
-- grain:   one row per new distinct body (temp table _bodies), in arrival order (seq).
-- params:  $platform VARCHAR, $received_at TIMESTAMP (NULL: now).
-- needs:   temp table _checked from check_staged.sql.
-- The content hash is the md5 of the body text as received: retries repeat it byte for byte.
CREATE OR REPLACE TEMP TABLE _bodies AS
WITH firsts AS (
    SELECT body_hash, min(k) AS k
    FROM _checked
    WHERE reason IS NULL
    GROUP BY body_hash
),
fresh AS (
    SELECT f.*
    FROM firsts AS f
    WHERE NOT EXISTS (
        SELECT 1 FROM raw_bodies AS r WHERE r.platform = $platform AND r.body_hash = f.body_hash
    )
)
SELECT $platform AS platform, c.body_hash,
       coalesce($received_at::TIMESTAMP, now()::TIMESTAMP) AS received_at,
       c.source, c.location, c.body,
       (SELECT coalesce(max(seq), 0) FROM raw_bodies) + row_number() OVER (ORDER BY c.k) AS seq
FROM fresh AS f
JOIN _checked AS c ON c.k = f.k;
