-- purpose: which good staged bodies are new to the raw store: the first occurrence of each
--          content hash not stored yet for the platform (nor dropped by `threadlift forget`:
--          erased_bodies), numbered in arrival order.
-- grain:   one row per new distinct body (temp table _keep: its k in _checked and its seq).
-- params:  $platform VARCHAR, $received_at TIMESTAMP (NULL: now).
-- needs:   temp table _checked (staging.sql, stage_json_lines.sql, check_staged.sql).
-- The content hash is the md5 of the body text as received: retries repeat it byte for byte.
-- Only the narrow (hash, k) pairs are grouped and sorted; the bodies stay in _checked and
-- are joined to these rows by k in the _bodies view (bodies.sql).
CREATE OR REPLACE TEMP TABLE _keep AS
WITH firsts AS (
    SELECT body_hash, min(k) AS k
    FROM _checked
    WHERE reason IS NULL
    GROUP BY body_hash
)
SELECT f.k,
       $platform AS platform,
       coalesce($received_at::TIMESTAMP, now()::TIMESTAMP) AS received_at,
       (SELECT coalesce(max(seq), 0) FROM raw_bodies) + row_number() OVER (ORDER BY f.k) AS seq
FROM firsts AS f
WHERE NOT EXISTS (
    SELECT 1 FROM raw_bodies AS r WHERE r.platform = $platform AND r.body_hash = f.body_hash
) AND NOT EXISTS (
    SELECT 1 FROM erased_bodies AS e WHERE e.platform = $platform AND e.body_hash = f.body_hash
);
