-- purpose: whether every good staged body is new to the raw store and to this call (no
--          hash repeated, none stored yet for the platform nor erased: erased_bodies), and where its seq numbers
--          start: when they are, the bodies need no first-occurrence table (new_bodies.sql).
-- grain:   one row (temp table _all_new): platform, received_at, first_seq, good (bodies
--          without a reason), all_new.
-- params:  $platform VARCHAR, $received_at TIMESTAMP (NULL: now).
-- needs:   temp table _checked (staging.sql, stage_json_lines.sql, check_staged.sql).
CREATE OR REPLACE TEMP TABLE _all_new AS
SELECT $platform AS platform,
       coalesce($received_at::TIMESTAMP, now()::TIMESTAMP) AS received_at,
       (SELECT coalesce(max(seq), 0) FROM raw_bodies) + 1 AS first_seq,
       count(*) AS good,
       count(*) = count(DISTINCT body_hash)
           AND NOT EXISTS (
               SELECT 1
               FROM _checked AS c
               SEMI JOIN raw_bodies AS r ON r.platform = $platform AND r.body_hash = c.body_hash
               WHERE c.reason IS NULL
           )
           AND NOT EXISTS (
               SELECT 1
               FROM _checked AS c
               SEMI JOIN erased_bodies AS e ON e.platform = $platform AND e.body_hash = c.body_hash
               WHERE c.reason IS NULL
           ) AS all_new
FROM _checked
WHERE reason IS NULL;
