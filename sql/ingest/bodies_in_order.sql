-- purpose: the new bodies of this ingest call when every good staged body is new and the
--          staging table holds them in arrival order (no duplicates, no bodies read in
--          Python or split out of an array line): _checked itself, without the join by k.
-- grain:   one row per new distinct body (temp view _bodies), seq its arrival order.
-- params:  none. needs: temp tables _checked and _all_new (all_new.sql), and the condition
--          above, which threadlift.ingest.raw.store_bodies checks.
-- _checked was appended to file by file in line order, so its rowids follow the arrival
-- order; seq counts from the row ids (a rejected line leaves a gap, which only orders).
CREATE OR REPLACE TEMP VIEW _bodies AS
SELECT (SELECT platform FROM _all_new) AS platform, c.body_hash,
       (SELECT received_at FROM _all_new) AS received_at, c.source, c.location, c.body,
       (SELECT first_seq FROM _all_new) + c.rowid - (SELECT min(rowid) FROM _checked) AS seq,
       c.wa
FROM _checked AS c
WHERE c.reason IS NULL;
