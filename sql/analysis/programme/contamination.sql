-- purpose: contamination of the programme's holdout: messages of the programme's category
--          (or of no recorded category) sent to a held-out contact at or after the
--          programme's start and before $as_of. Counted per source (webhook: a row that
--          `threadlift ingest` derived from a platform webhook, per ingest_provenance; loaded:
--          a row of a loaded send log) and per sender (the experiment or campaign that sent
--          it, or untagged). Contact ids are never returned (counts only).
-- grain:   named statements, each with its grain below.
-- params:  $as_of TIMESTAMP, $category VARCHAR.
-- needs:   temp table _programme_holdout_units (analysis/programme/holdout_units.sql).

-- statement: by_source
-- grain:   one row per (source, sent_by, tag): contacts, messages, first and last sent_at.
WITH contaminating AS (
    SELECT m.*
    FROM messages AS m
    JOIN _programme_holdout_units AS u
      ON u.contact_id = m.contact_id AND u.arm = 'global_holdout'
    WHERE m.sent_at >= u.assigned_at
      AND m.sent_at < CAST($as_of AS TIMESTAMP)
      AND (m.category IS NULL OR m.category = CAST($category AS VARCHAR))
)
SELECT
    -- The provenance key of a messages row: md5_number of its natural key (message_id),
    -- as threadlift.ingest.writer.key_expression writes it for one key column.
    CASE
        WHEN md5_number(concat_ws(chr(31), coalesce(CAST(c.message_id AS VARCHAR), chr(0))))
             IN (SELECT row_key FROM ingest_provenance WHERE table_name = 'messages')
        THEN 'webhook'
        ELSE 'loaded'
    END AS source,
    CASE
        WHEN c.experiment_id IS NOT NULL THEN 'experiment'
        WHEN c.campaign_id IS NOT NULL THEN 'campaign'
        ELSE 'untagged'
    END AS sent_by,
    coalesce(c.experiment_id, c.campaign_id) AS tag,
    count(DISTINCT c.contact_id) AS contacts,
    count(*) AS messages,
    min(c.sent_at) AS first_sent_at,
    max(c.sent_at) AS last_sent_at
FROM contaminating AS c
GROUP BY ALL
ORDER BY contacts DESC, source, sent_by, tag;

-- statement: total
-- grain:   one row: held-out units, and the distinct held-out contacts with any such message.
SELECT
    (SELECT count(*) FROM _programme_holdout_units WHERE arm = 'global_holdout') AS held_out,
    count(DISTINCT m.contact_id) AS contaminated
FROM messages AS m
JOIN _programme_holdout_units AS u
  ON u.contact_id = m.contact_id AND u.arm = 'global_holdout'
WHERE m.sent_at >= u.assigned_at
  AND m.sent_at < CAST($as_of AS TIMESTAMP)
  AND (m.category IS NULL OR m.category = CAST($category AS VARCHAR));
